"""Equity snapshots: the desk's PnL over time, per trader and per exchange account.

A snapshot with a trader is that trader's book on its account (its own plans only); one without
is the whole account (every trader's plans). Both carry the account, so the account's rows are
found with `trader IS NULL`. Taken on every fill and by the worker's schedule
(apps.traders.services.pnl); read by apps.traders.pnl_selectors.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from apps.exchanges.models.accounts import ExchangeAccount

# Money to 8 decimals: a fee on a small trade (0.00412 USDT) must add up exactly.
SNAPSHOT_MONEY = {"max_digits": 28, "decimal_places": 8}


class EquitySnapshot(models.Model):
    class Source(models.TextChoices):
        FILL = "fill", "A fill"
        SCHEDULE = "schedule", "The schedule"

    trader = models.ForeignKey(
        "traders.Trader",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="equity_snapshots",
        help_text="Empty: the whole account.",
    )
    account = models.ForeignKey(ExchangeAccount, on_delete=models.CASCADE, related_name="equity_snapshots")
    time = models.DateTimeField(db_index=False)
    source = models.CharField(max_length=8, choices=Source.choices)
    equity = models.DecimalField(help_text="Balance plus unrealised PnL.", **SNAPSHOT_MONEY)
    balance = models.DecimalField(help_text="Starting balance plus realised PnL less fees.", **SNAPSHOT_MONEY)
    realised = models.DecimalField(help_text="Gross PnL of the closed quantities, before fees.", **SNAPSHOT_MONEY)
    unrealised = models.DecimalField(help_text="Open positions at the mark price.", **SNAPSHOT_MONEY)
    fees = models.DecimalField(help_text="Every fee paid, in the quote currency.", **SNAPSHOT_MONEY)

    class Meta:
        ordering = ["time", "id"]
        indexes = [
            models.Index(fields=["trader", "time"], name="equity_snapshot_trader_time"),
            models.Index(
                fields=["account", "time"], condition=Q(trader__isnull=True), name="equity_snapshot_account_time"
            ),
            models.Index(fields=["time"], name="equity_snapshot_time"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(fees__gte=0), name="equity_snapshot_fees_non_negative"),
        ]

    def __str__(self) -> str:
        whose = f"trader {self.trader_id}" if self.trader_id else f"account {self.account_id}"
        return f"{whose} at {self.time:%Y-%m-%d %H:%M}: {self.equity}"
