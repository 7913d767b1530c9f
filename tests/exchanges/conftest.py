from __future__ import annotations

import pytest

from apps.exchanges import hooks

REFUSAL = "order rest belongs to trade plan 7: cancel or close the plan instead"


@pytest.fixture
def cancel_refused(monkeypatch) -> str:
    """The order cancel guards reduced to one that owns the order with client id "rest", as the traders
    app owns its open plans' orders. Returns the guard's refusal."""

    def refuse_order_rest(account, order) -> None:
        if order.client_order_id == "rest":
            raise hooks.OrderCancelRefused(REFUSAL)

    guards: hooks.Hook[hooks.OrderCancelGuard] = hooks.Hook()
    guards.register(refuse_order_rest)
    monkeypatch.setattr(hooks, "order_cancel_guards", guards)
    return REFUSAL
