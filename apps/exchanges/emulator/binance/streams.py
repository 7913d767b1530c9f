"""Binance USDⓈ-M websocket market streams: ``<symbol>@kline_<interval>``, ``<symbol>@ticker`` and
``<symbol>@miniTicker`` (what ccxt.pro's watch_ticker subscribes to) events."""

from __future__ import annotations

from typing import Any

from apps.exchanges.emulator.binance.market_data import MarketData
from apps.exchanges.emulator.candles import interval_ms

# The 24hr ticker event's one-letter keys for the REST ticker's fields (the same values).
TICKER_KEYS = {
    "symbol": "s",
    "priceChange": "p",
    "priceChangePercent": "P",
    "weightedAvgPrice": "w",
    "lastPrice": "c",
    "lastQty": "Q",
    "openPrice": "o",
    "highPrice": "h",
    "lowPrice": "l",
    "volume": "v",
    "quoteVolume": "q",
    "openTime": "O",
    "closeTime": "C",
    "firstId": "F",
    "lastId": "L",
    "count": "n",
}
MINI_TICKER_KEYS = ("s", "c", "o", "h", "l", "v", "q")


class Streams(MarketData):
    def stream_events(self, stream: str, *, advanced: bool) -> list[dict[str, Any]]:
        """The events a subscriber of `stream` receives now: on subscribing (`advanced` false) the current state,
        after the clock moved also the final update (``"x": true``) of a kline that just closed."""
        market_id, _, channel = stream.partition("@")
        symbol = self.resolve_symbol(market_id.upper())
        if symbol not in self.emu.markets:
            return []
        if channel in ("ticker", "miniTicker"):
            return [self._ticker_event(symbol, mini=channel == "miniTicker")]
        if channel.startswith("kline_"):
            return self._kline_events(symbol, channel.removeprefix("kline_"), advanced=advanced)
        return []

    def _ticker_event(self, symbol: str, *, mini: bool) -> dict[str, Any]:
        fields = {TICKER_KEYS[k]: v for k, v in self._ticker(symbol).items()}
        if mini:
            return {"e": "24hrMiniTicker", "E": self.engine.now_ms(), **{k: fields[k] for k in MINI_TICKER_KEYS}}
        return {"e": "24hrTicker", "E": self.engine.now_ms(), **fields}

    def _kline_events(self, symbol: str, interval: str, *, advanced: bool) -> list[dict[str, Any]]:
        period = interval_ms(interval)
        history = self.engine.feed.history(symbol, period)
        just_opened = history[-1].open_time == self.engine.feed.clock
        candles = history[-2:] if advanced and just_opened else history[-1:]
        return [
            self._kline_event(symbol, candle, interval, period, closed=candle is not history[-1]) for candle in candles
        ]

    def _kline_event(self, symbol: str, candle: Any, interval: str, period: int, *, closed: bool) -> dict[str, Any]:
        t, o, h, low, c, v, close_time, q, n, taker_v, taker_q, _ = self._kline(symbol, candle, period)
        market_id = self._id(symbol)
        kline = {"t": t, "T": close_time, "s": market_id, "i": interval, "f": 1, "L": n, "o": o, "c": c, "h": h}
        kline |= {"l": low, "v": v, "n": n, "x": closed, "q": q, "V": taker_v, "Q": taker_q, "B": "0"}
        return {"e": "kline", "E": self.engine.now_ms(), "s": market_id, "k": kline}
