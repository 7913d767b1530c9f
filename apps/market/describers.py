"""Creating a market from its exchange's own description, for commands of apps.market.

apps.market sits below apps.exchanges (README "Architecture / import order") and may not import it, yet
`import_candles --create-market` needs what only an exchange can tell: tick, step, minimums, leverage.
apps.exchanges registers the describer in its AppConfig.ready() (it reads the exchange through its public
client); a process without that app has none, and asking then is a clear refusal.
"""

from __future__ import annotations

from collections.abc import Callable

from apps.market.models import Market

# (exchange, symbol) -> the Market created (or updated) from the exchange's rules. Raises MarketUndescribed.
MarketDescriber = Callable[[str, str], Market]

_describer: MarketDescriber | None = None


class MarketUndescribed(Exception):
    """The exchange could not describe the market (unreachable, or it does not list the symbol); no market
    was written. The message says why."""


def market_describer_register(describer: MarketDescriber) -> None:
    """Called once at start-up by the app that reaches the exchanges; a second call replaces the first."""
    global _describer
    _describer = describer


def market_describe(*, exchange: str, symbol: str) -> Market:
    """Create (or update) the market from the exchange's description; raises MarketUndescribed."""
    if _describer is None:
        raise MarketUndescribed("no installed app can reach the exchanges to describe markets")
    return _describer(exchange, symbol)
