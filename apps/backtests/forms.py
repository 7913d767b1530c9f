"""The "Backtest" form of a strategy's page. It parses and reports; apps.backtests.services
checks again (the API takes the same path) and stores the run."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django import forms

from apps.backtests.engine import BacktestParams
from apps.market.models import Market
from apps.market.timeframes import TIMEFRAME_MS

PARAM_FIELDS = ("cash", "fee_bps", "slippage_bps", "size_pct", "sl_pct", "tp_pct")
DEFAULTS = BacktestParams()


def day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


class BacktestForm(forms.Form):
    market = forms.TypedChoiceField(coerce=int, empty_value=None)
    timeframe = forms.ChoiceField(choices=[(timeframe, timeframe) for timeframe in TIMEFRAME_MS])
    start = forms.DateField(required=False, label="From (UTC)", help_text="First day; empty: the first stored bar.")
    end = forms.DateField(required=False, label="To (UTC)", help_text="Last day, included; empty: the last stored bar.")
    cash = forms.FloatField(initial=f"{DEFAULTS.cash:g}", label="Initial cash")
    fee_bps = forms.FloatField(initial=f"{DEFAULTS.fee_bps:g}", label="Fee (bps per side)")
    slippage_bps = forms.FloatField(initial=f"{DEFAULTS.slippage_bps:g}", label="Slippage (bps per fill)")
    size_pct = forms.FloatField(initial=f"{DEFAULTS.size_pct:g}", label="Size (% of equity)")
    sl_pct = forms.FloatField(required=False, label="Stop-loss (%)", help_text="Empty: no stop-loss.")
    tp_pct = forms.FloatField(required=False, label="Take-profit (%)", help_text="Empty: no take-profit.")

    def __init__(self, *args: Any, markets: list[Market], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.markets = {market.pk: market for market in markets}
        self.fields["market"].choices = [
            (market.pk, f"{market.symbol} ({market.get_exchange_display()})") for market in markets
        ]
        for name in ("start", "end"):
            self.fields[name].widget.input_type = "date"

    def clean_market(self) -> Market:
        return self.markets[self.cleaned_data["market"]]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start and end and end < start:
            self.add_error("end", "The last day is before the first day.")
        if all(name in data for name in PARAM_FIELDS):
            for name, message in self.params().field_problems().items():
                self.add_error(name, message[0].upper() + message[1:] + ".")
        return data

    def params(self) -> BacktestParams:
        return BacktestParams(**{name: self.cleaned_data[name] for name in PARAM_FIELDS})

    def period(self) -> tuple[datetime | None, datetime | None]:
        """[start, end) for the service: the days as typed, the last one included whole."""
        start, end = self.cleaned_data["start"], self.cleaned_data["end"]
        return (
            day_start(start) if start else None,
            day_start(end) + timedelta(days=1) if end else None,
        )
