"""The forms of the chain pages: the index's time range, and the what-if's choices."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django import forms

from apps.ai.models import ModelConfig
from apps.audit.forms import DateTimeLocal
from apps.core.times import as_utc_within
from apps.traders.models import RiskProfile


class ChainRangeForm(forms.Form):
    start = forms.DateTimeField(required=False, label="Begun from (UTC)", widget=DateTimeLocal())
    end = forms.DateTimeField(required=False, label="to (UTC)", widget=DateTimeLocal())

    def clean_start(self) -> datetime | None:
        return self._utc("start")

    def clean_end(self) -> datetime | None:
        return self._utc("end")

    def _utc(self, name: str) -> datetime | None:
        moment = self.cleaned_data[name]
        if moment is None:
            return None
        if (utc := as_utc_within(moment)) is None:
            raise forms.ValidationError("This time is outside the years a chain can have.")
        return utc

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start and end and end <= start:
            self.add_error("end", "The end of the range must be after its start.")
        return data


class WhatIfForm(forms.Form):
    risk_profile = forms.ModelChoiceField(
        queryset=RiskProfile.objects.order_by("name"),
        help_text="Its limits as they are today.",
    )
    model_config = forms.ModelChoiceField(
        queryset=ModelConfig.objects.order_by("name"),
        required=False,
        empty_label="the recorded answer (no model asked)",
        help_text="AI decisions only: ask this model now, with the recorded inputs.",
    )
