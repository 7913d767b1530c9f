"""Where the apps above exchanges plug in. DESIGN.md: a lower app never imports a higher one; where it
must ask or tell one something, it calls hooks that app registered in its AppConfig.ready().

- `order_cancel_guards`: asked before an order is cancelled from the account page or the orders API.
  A guard refuses by raising OrderCancelRefused (the page and the API answer 409 with its message);
  the traders app refuses the orders of an open trade plan, whose stop must not vanish behind its back.
- `paper_orders_processed`: told, with the paper accounts, after the worker checked resting paper
  orders against newly released candles. Each listener returns a one-line summary for the task's
  result; the traders app moves on the paper plans whose orders may have filled.
- `change_requesters`: asked to file a change that must wait for a second admin (an account going
  live) instead of applying it. The requester gets the account (saved without the change), the kind,
  the fields' values before and after, and the user, and returns the request it filed (the traders
  app's ChangeRequest, four-eyes approval). With none registered, going live is refused.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any, Generic, TypeVar

from apps.exchanges.adapters.base import Order
from apps.exchanges.models import ExchangeAccount

Callback = TypeVar("Callback", bound=Callable[..., object])


class OrderCancelRefused(Exception):
    """The app that owns the order refuses to have it cancelled here; the message says what to do instead."""


class Hook(Generic[Callback]):
    """The callbacks registered for one hook, called in registration order."""

    def __init__(self) -> None:
        self._callbacks: list[Callback] = []

    def register(self, callback: Callback) -> None:
        """Idempotent, so that a second ready() (some test runners call it again) adds nothing."""
        if callback not in self._callbacks:
            self._callbacks.append(callback)

    def __iter__(self) -> Iterator[Callback]:
        return iter(tuple(self._callbacks))


OrderCancelGuard = Callable[[ExchangeAccount, Order], None]
PaperOrdersListener = Callable[[Sequence[ExchangeAccount]], str]
ChangeRequester = Callable[..., Any]

order_cancel_guards: Hook[OrderCancelGuard] = Hook()
paper_orders_processed: Hook[PaperOrdersListener] = Hook()
change_requesters: Hook[ChangeRequester] = Hook()
