from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from simple_history.models import HistoricalRecords

from apps.market.timeframes import TIMEFRAME_MS

PRICE_DIGITS = {"max_digits": 30, "decimal_places": 12}
MAX_LEVERAGE = 125  # the highest any supported exchange offers
REASON_MAX_LENGTH = 300


class ExchangeId(models.TextChoices):
    BINANCEUSDM = "binanceusdm", "Binance USDT-M perpetuals"
    GATE = "gate", "Gate USDT perpetuals"
    BINANCE = "binance", "Binance spot"


SPOT_EXCHANGES = (ExchangeId.BINANCE,)


Timeframe = models.TextChoices("Timeframe", [(tf, tf) for tf in TIMEFRAME_MS])


class Market(models.Model):
    class Type(models.TextChoices):
        SPOT = "spot", "Spot"
        SWAP = "swap", "Perpetual swap"

    exchange = models.CharField(max_length=20, choices=ExchangeId.choices)
    symbol = models.CharField(max_length=64, help_text="Unified ccxt symbol, e.g. BTC/USDT:USDT or BTC/USDT.")
    base = models.CharField(max_length=20)
    quote = models.CharField(max_length=20)
    type = models.CharField(max_length=8, choices=Type.choices)
    price_precision = models.DecimalField(help_text="Tick size.", **PRICE_DIGITS)
    amount_precision = models.DecimalField(help_text="Amount step size.", **PRICE_DIGITS)
    min_amount = models.DecimalField(default=0, **PRICE_DIGITS)
    min_notional = models.DecimalField(default=0, **PRICE_DIGITS)
    max_leverage = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="The exchange's maximum leverage; empty when unknown (spot: 1)."
    )
    active = models.BooleanField(default=True)
    notes = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["exchange", "symbol"]
        constraints = [
            models.UniqueConstraint(fields=["exchange", "symbol"], name="market_unique_exchange_symbol"),
            models.CheckConstraint(
                condition=Q(price_precision__gt=0) & Q(amount_precision__gt=0),
                name="market_precision_positive",
            ),
            models.CheckConstraint(
                condition=Q(min_amount__gte=0) & Q(min_notional__gte=0), name="market_minimums_non_negative"
            ),
            models.CheckConstraint(
                condition=Q(max_leverage__isnull=True) | Q(max_leverage__gte=1), name="market_max_leverage_positive"
            ),
            models.CheckConstraint(
                condition=(Q(exchange__in=SPOT_EXCHANGES) & Q(type="spot"))
                | (~Q(exchange__in=SPOT_EXCHANGES) & Q(type="swap")),
                name="market_type_matches_exchange",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.symbol} on {self.get_exchange_display()}"


class Candle(models.Model):
    # No index of its own: the unique (market, timeframe, open_time) index serves market
    # lookups, and one index fewer to maintain makes bulk imports markedly faster.
    market = models.ForeignKey(Market, on_delete=models.CASCADE, related_name="candles", db_index=False)
    timeframe = models.CharField(max_length=4, choices=Timeframe.choices)
    open_time = models.DateTimeField(help_text="UTC open time of the bar.")
    open = models.DecimalField(**PRICE_DIGITS)
    high = models.DecimalField(**PRICE_DIGITS)
    low = models.DecimalField(**PRICE_DIGITS)
    close = models.DecimalField(**PRICE_DIGITS)
    volume = models.DecimalField(max_digits=38, decimal_places=12)

    class Meta:
        ordering = ["market", "timeframe", "open_time"]
        constraints = [
            # Also the index for range reads: (market, timeframe, open_time BETWEEN ...).
            models.UniqueConstraint(fields=["market", "timeframe", "open_time"], name="candle_unique_bar"),
            models.CheckConstraint(
                condition=Q(low__lte=F("high")) & Q(low__gt=0) & Q(volume__gte=0), name="candle_ohlcv_consistent"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.market.symbol} {self.timeframe} {self.open_time:%Y-%m-%d %H:%M}"


class CandleImport(models.Model):
    """Where a market's candles came from: one row per import, fetch or demo load."""

    market = models.ForeignKey(Market, on_delete=models.CASCADE, related_name="imports")
    timeframe = models.CharField(max_length=4, choices=Timeframe.choices)
    source = models.CharField(max_length=500)
    format = models.CharField(max_length=32)
    rows = models.PositiveIntegerField()
    first_open_time = models.DateTimeField()
    last_open_time = models.DateTimeField()
    gap_count = models.PositiveIntegerField()
    synthetic = models.BooleanField(default=False, help_text="Seeded synthetic series, not market data.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.market.symbol} {self.timeframe} from {self.source}"


class CandleSeriesStats(models.Model):
    """Coverage of one market and timeframe, kept current by the services that write candles,
    so pages read one row instead of scanning every candle."""

    market = models.ForeignKey(Market, on_delete=models.CASCADE, related_name="series_stats")
    timeframe = models.CharField(max_length=4, choices=Timeframe.choices)
    first_open_time = models.DateTimeField()
    last_open_time = models.DateTimeField()
    bars = models.PositiveIntegerField()
    gaps = models.PositiveIntegerField(help_text="Holes between consecutive bars.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["market", "timeframe"]
        constraints = [models.UniqueConstraint(fields=["market", "timeframe"], name="candle_series_stats_unique")]

    def __str__(self) -> str:
        return f"{self.market.symbol} {self.timeframe}: {self.bars} bars, {self.gaps} gaps"


class MarketFeed(models.Model):
    """The live edge of one market and timeframe on one source: the newest closed candle live use may see.

    Candles up to `horizon` are "the past" for live use; later stored candles are not there yet.
    The replay source (apps.market.replay) moves the horizon through stored history on a simulated
    clock; the exchange source (apps.exchanges.collect) appends the exchange's closed candles and
    moves it to the newest one. A market can have both: each consumer reads the feed of its own
    source (a paper account on replay prices reads the replay, testnet and live accounts and paper
    accounts on live prices read the exchange feed), so one account's prices never depend on which
    other accounts exist. The backtester ignores feeds.
    """

    class Source(models.TextChoices):
        REPLAY = "replay", "Replay of stored candles"
        EXCHANGE = "exchange", "Exchange (ccxt)"

    class State(models.TextChoices):
        RUNNING = "running", "running"
        PAUSED = "paused", "paused"
        STOPPED = "stopped", "stopped"

    market = models.ForeignKey(Market, on_delete=models.CASCADE, related_name="feeds")
    timeframe = models.CharField(max_length=4, choices=Timeframe.choices)
    source = models.CharField(max_length=8, choices=Source.choices)
    horizon = models.DateTimeField(null=True, blank=True, help_text="Open time of the newest released candle (UTC).")
    state = models.CharField(max_length=8, choices=State.choices, default=State.RUNNING)
    state_reason = models.CharField(
        max_length=REASON_MAX_LENGTH, blank=True, help_text="Why the feed is paused or stopped, in plain words."
    )
    state_since = models.DateTimeField(
        default=timezone.now, help_text="When the feed entered its current state and reason (wall clock, UTC)."
    )
    operator_follow = models.BooleanField(
        default=False,
        help_text="Collected because an operator follows it (manage.py follow_market), whatever strategies and "
        "traders use. Exchange feeds only.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["market", "timeframe"]
        constraints = [
            models.UniqueConstraint(fields=["market", "timeframe", "source"], name="market_feed_unique_source")
        ]

    def __str__(self) -> str:
        return f"{self.market.symbol} {self.timeframe} ({self.source})"

    @property
    def status_line(self) -> str:
        """The feed's state in plain words, e.g. "BTC/USDT:USDT 1m replay stopped at 2023-05-01 00:00: no
        more stored candles". The time is the newest released candle's (market time, UTC)."""
        return f"{self.market.symbol} {self.timeframe} {self.state_text}"

    @property
    def state_text(self) -> str:
        """`status_line` without the market and timeframe, for a table that has columns for them."""
        kind = "replay" if self.source == self.Source.REPLAY else "feed"
        if self.state == self.State.RUNNING:
            where = f", live up to {self.horizon:%Y-%m-%d %H:%M}" if self.horizon else ", nothing released yet"
        else:
            where = f" at {self.horizon:%Y-%m-%d %H:%M}" if self.horizon else ""
        reason = f": {self.state_reason}" if self.state_reason else ""
        return f"{kind} {self.state}{where}{reason}"
