"""Build the adapter for an ExchangeAccount. The one place outside apps.secrets that reveals exchange keys.

paper   -> PaperAdapter (no keys, nothing leaves TradeOps)
testnet -> CcxtAdapter in ccxt sandbox mode (the exchange's testnet endpoints)
live    -> CcxtAdapter on the real endpoints

Keys are revealed here, once, at construction, and handed straight to the ccxt client. The markets are not
loaded per adapter: ccxt adapters share the process's market_cache.markets (public data, no keys).

Tests point ccxt at the local emulator with :func:`override_client` (a context manager setting a module-level
hook that receives the ccxt client after construction); production code never sets it. A person does the same
for testnet accounts only with the EXCHANGE_EMULATOR_URL setting (a loopback URL, refused at startup
otherwise and together with LIVE_TRADING_ENABLED): live accounts and the public clients never go there.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from django.conf import settings

from apps.exchanges.adapters import market_cache
from apps.exchanges.adapters.base import ExchangeAdapter
from apps.exchanges.adapters.retry import RetryPolicy
from apps.exchanges.models import ExchangeAccount
from apps.secrets.models import Secret
from apps.secrets.services import secret_reveal

if TYPE_CHECKING:
    import ccxt

ClientHook = Callable[["ccxt.Exchange"], Any]

# Tests only: called with each new ccxt client (after sandbox mode), e.g. to aim it at the emulator.
_client_hook: ClientHook | None = None
# Tests only: extra CcxtAdapter keyword arguments (no rate limiter, short timeouts, fast retries).
_adapter_options: dict[str, Any] = {}
# Moves on every override, so clients pooled per process (adapters.pool) never outlive their override.
_generation = 0


@contextmanager
def override_client(hook: ClientHook, **adapter_options: Any) -> Iterator[None]:
    """For tests: every adapter built inside the block gets `hook(client)` and `adapter_options`.

    The shared markets are forgotten on the way in and out: markets loaded from one emulator (or the real
    exchange) must not answer for another."""
    global _client_hook, _adapter_options, _generation
    previous = _client_hook, _adapter_options
    _client_hook, _adapter_options = hook, adapter_options
    _generation += 1
    market_cache.markets.clear()
    try:
        yield
    finally:
        _client_hook, _adapter_options = previous
        _generation += 1
        market_cache.markets.clear()


def client_hook() -> ClientHook | None:
    return _client_hook


def adapter_options() -> dict[str, Any]:
    return dict(_adapter_options)


def override_generation() -> int:
    return _generation


def _reveal(secret: Secret | None, *, account: ExchangeAccount, field: str) -> str | None:
    if secret is None:
        return None
    return secret_reveal(secret=secret, purpose=f"exchange account {account.name!r} ({account.pk}) {field}")


def _emulator_hook(account: ExchangeAccount) -> ClientHook | None:
    """With EXCHANGE_EMULATOR_URL set, a testnet account's client is aimed at the emulator there (the same
    configuration tests use); any other mode never is."""
    if account.mode != ExchangeAccount.Mode.TESTNET or not settings.EXCHANGE_EMULATOR_URL:
        return None
    from apps.exchanges.emulator.emulator import EmulatorAddress  # lazy: only for local demos
    from apps.exchanges.emulator.testing import configure_ccxt_client

    address = EmulatorAddress(account.exchange, settings.EXCHANGE_EMULATOR_URL)
    return lambda client: configure_ccxt_client(client, address)


def adapter_for_account(account: ExchangeAccount) -> ExchangeAdapter:
    if account.mode == ExchangeAccount.Mode.PAPER:
        from apps.exchanges.adapters.paper import PaperAdapter  # lazy: its models load only when needed

        return PaperAdapter(account)
    if account.mode not in (ExchangeAccount.Mode.TESTNET, ExchangeAccount.Mode.LIVE):
        raise ValueError(f"unknown account mode {account.mode!r}")
    # Imported here: ccxt costs ~45 MB and 0.3 s, which processes that never reach an exchange
    # (and paper accounts) should not pay for.
    from apps.exchanges.adapters.ccxt_adapter import CcxtAdapter

    options: dict[str, Any] = {"enable_rate_limit": True, "retry": RetryPolicy()}
    options.update(_adapter_options)
    return CcxtAdapter(
        account.exchange,
        api_key=_reveal(account.api_key, account=account, field="api_key"),
        secret=_reveal(account.api_secret, account=account, field="api_secret"),
        passphrase=_reveal(account.passphrase, account=account, field="passphrase"),
        sandbox=account.mode == ExchangeAccount.Mode.TESTNET,
        configure=_client_hook or _emulator_hook(account),
        market_cache=market_cache.markets,
        **options,
    )
