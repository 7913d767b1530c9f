from __future__ import annotations

from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from apps.market.models import MAX_LEVERAGE, SPOT_EXCHANGES, ExchangeId, MarketFeed
from apps.secrets.models import Secret


class ExchangeAccount(models.Model):
    class Mode(models.TextChoices):
        PAPER = "paper", "Paper (simulated, no orders leave TradeOps)"
        TESTNET = "testnet", "Testnet (exchange sandbox)"
        LIVE = "live", "Live (real money)"

    class PriceSource(models.TextChoices):
        REPLAY = "replay", "Replay of stored candles (simulated clock, offline)"
        LIVE = "live", "Live exchange prices (public market data, no keys)"

    class MarginMode(models.TextChoices):
        ISOLATED = "isolated", "Isolated"
        CROSS = "cross", "Cross"

    SECRET_FIELDS = ("api_key", "api_secret", "passphrase")

    name = models.CharField(max_length=100, unique=True)
    exchange = models.CharField(max_length=20, choices=ExchangeId.choices)
    mode = models.CharField(max_length=8, choices=Mode.choices, default=Mode.PAPER)
    api_key = models.OneToOneField(
        Secret, verbose_name="API key", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    api_secret = models.OneToOneField(
        Secret, verbose_name="API secret", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    passphrase = models.OneToOneField(Secret, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    paper_starting_balance = models.DecimalField(
        max_digits=20, decimal_places=8, default=10_000, help_text="Quote currency (USDT) for paper accounts."
    )
    price_source = models.CharField(
        max_length=8,
        choices=PriceSource.choices,
        default=PriceSource.REPLAY,
        help_text="Paper accounts only: where prices come from. Testnet and live accounts always trade on the "
        "exchange's prices (stored as live whatever is chosen). Refused while a paper account has open "
        "positions or orders.",
    )
    default_leverage = models.PositiveSmallIntegerField(default=1)
    margin_mode = models.CharField(max_length=8, choices=MarginMode.choices, default=MarginMode.ISOLATED)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(default_leverage__gte=1) & Q(default_leverage__lte=MAX_LEVERAGE),
                name="exchange_account_leverage_range",
            ),
            models.CheckConstraint(
                condition=~Q(exchange__in=SPOT_EXCHANGES) | Q(default_leverage=1),
                name="exchange_account_spot_has_no_leverage",
            ),
            models.CheckConstraint(
                condition=Q(paper_starting_balance__gt=0), name="exchange_account_paper_balance_positive"
            ),
            # Only a paper account can trade on replayed prices: the others trade on the exchange's own.
            models.CheckConstraint(
                condition=Q(mode="paper") | Q(price_source="live"), name="exchange_account_replay_is_paper_only"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_exchange_display()}, {self.mode})"

    def clean(self) -> None:
        """A testnet or live account always trades on the exchange's prices: its price source is stored as
        `live` whatever was chosen (the admin form and the API offer `replay`, the paper default)."""
        if self.mode != self.Mode.PAPER:
            self.price_source = self.PriceSource.LIVE

    @property
    def feed_source(self) -> str:
        """The MarketFeed source this account's prices, fills and trader cycles follow: the replay for a
        paper account on replayed prices, the exchange's own candles for every other account."""
        if self.mode == self.Mode.PAPER and self.price_source == self.PriceSource.REPLAY:
            return MarketFeed.Source.REPLAY
        return MarketFeed.Source.EXCHANGE
