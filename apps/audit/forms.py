"""The filter form of /logs/. It parses the query string and names what it cannot read."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django import forms

from apps.audit.models import DecisionLog
from apps.audit.selectors import DecisionFilters
from apps.core.times import as_utc
from apps.market.models import Market

# Read through the foreign key: apps.audit sits below apps.traders and imports nothing from it.
Trader = DecisionLog._meta.get_field("trader").related_model


class DateTimeLocal(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self) -> None:
        super().__init__(format="%Y-%m-%dT%H:%M")


class DecisionFilterForm(forms.Form):
    trader = forms.ModelChoiceField(queryset=Trader.objects.order_by("name"), required=False, empty_label="any")
    market = forms.ModelChoiceField(
        queryset=Market.objects.order_by("symbol", "exchange"), required=False, empty_label="any"
    )
    outcome = forms.ChoiceField(choices=[("", "any"), *DecisionLog.Outcome.choices], required=False)
    since = forms.DateTimeField(required=False, label="Candle from (UTC)", widget=DateTimeLocal())
    until = forms.DateTimeField(required=False, label="to (UTC)", widget=DateTimeLocal())

    def clean_since(self) -> datetime | None:
        return self._utc("since")

    def clean_until(self) -> datetime | None:
        return self._utc("until")

    def _utc(self, name: str) -> datetime | None:
        moment = self.cleaned_data[name]
        if moment is None:
            return None
        try:
            return as_utc(moment)
        except ValueError as exc:
            raise forms.ValidationError(f"This time {exc}.") from None

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        since, until = data.get("since"), data.get("until")
        if since and until and until <= since:
            self.add_error("until", "The end of the range must be after its start.")
        return data

    def filters(self) -> DecisionFilters:
        """The selector's filters; call after is_valid()."""
        data = self.cleaned_data
        return DecisionFilters(
            trader=data["trader"].pk if data["trader"] else None,
            market=data["market"].pk if data["market"] else None,
            outcome=data["outcome"] or None,
            since=data["since"],
            until=data["until"],
        )
