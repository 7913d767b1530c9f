"""Forms of the risk profiles and traders, in the admin and on the /traders/ pages. They run the
services' validation (errors on the form, naming the field); saving goes through the services."""

from __future__ import annotations

import copy
from typing import Any

from django import forms

from apps.core.errors import ServiceValidationError
from apps.market.models import Market
from apps.traders import services
from apps.traders.models import PromptTemplate, RiskProfile, Trader
from apps.traders.selectors import trade_markets
from apps.traders.services.prompts import PROMPT_TEMPLATE_FIELDS, prompt_template_validate


class _ServiceValidatedForm(forms.ModelForm):
    """Runs `validate` (a service rule set) on a copy of the instance with the form's values."""

    validate: Any = None
    editable_fields: tuple[str, ...] = ()

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if self.errors:
            return cleaned
        candidate = copy.copy(self.instance)
        many_to_many = {field.name for field in self.instance._meta.many_to_many}
        for field in self.editable_fields:
            if field in cleaned and field not in many_to_many:
                setattr(candidate, field, cleaned[field])
        try:
            type(self).validate(candidate)
        except ServiceValidationError as exc:
            self.add_error(exc.field if exc.field in self.fields else None, exc.message)
        return cleaned


class RiskProfileAdminForm(_ServiceValidatedForm):
    validate = staticmethod(services.risk_profile_validate)
    editable_fields = services.RISK_PROFILE_FIELDS

    class Meta:
        model = RiskProfile
        fields = services.RISK_PROFILE_FIELDS


class PromptTemplateAdminForm(_ServiceValidatedForm):
    validate = staticmethod(prompt_template_validate)
    editable_fields = PROMPT_TEMPLATE_FIELDS

    class Meta:
        model = PromptTemplate
        fields = PROMPT_TEMPLATE_FIELDS


# The trading rules have model defaults: left empty on the form, a trader gets them, as through the service.
DEFAULTED_TRADER_FIELDS = tuple(
    field for field in services.TRADER_FIELDS if Trader._meta.get_field(field).has_default() and field != "live"
)


class TraderAdminForm(_ServiceValidatedForm):
    validate = staticmethod(services.trader_validate)
    editable_fields = services.TRADER_FIELDS

    class Meta:
        model = Trader
        fields = services.TRADER_FIELDS
        labels = {
            "strategy_version": "Pinned strategy version",
            "sizing_pct": "Sizing %",
            "stop_loss": "Stop-loss",
            "stop_loss_value": "Stop-loss value",
            "take_profit": "Take-profit",
            "take_profit_value": "Take-profit value",
            "atr_period": "ATR period",
            "ai_model_config": "Model config",
            "ai_daily_token_budget": "AI daily token budget",
            "ai_daily_cost_budget": "AI daily cost budget",
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in DEFAULTED_TRADER_FIELDS:
            self.fields[field].required = False

    def clean(self) -> dict[str, Any]:
        for field in DEFAULTED_TRADER_FIELDS:
            if self.cleaned_data.get(field) in (None, "") and field not in self.errors:
                self.cleaned_data[field] = Trader._meta.get_field(field).get_default()
        cleaned = super().clean()
        account = cleaned.get("account")
        if not self.errors and account is not None:
            try:
                services.trader_markets_validate(Trader(account=account), list(cleaned.get("markets") or []))
            except ServiceValidationError as exc:
                self.add_error("markets", exc.message)
        return cleaned


class TraderForm(TraderAdminForm):
    """The /traders/ create and edit form: markets offered only from the chosen account's exchange,
    active ones (the service refuses others too), as checkboxes."""

    class Meta(TraderAdminForm.Meta):
        widgets = {"markets": forms.CheckboxSelectMultiple}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        account = self.chosen_account()
        self.fields["markets"].queryset = trade_markets(account=account) if account else Market.objects.none()

    def chosen_account(self) -> Any:
        """The account the form is about: as posted, else as first shown, else the trader's."""
        accounts = self.fields["account"].queryset
        wanted = self.data.get("account") if self.is_bound else self.initial.get("account")
        if wanted and str(wanted).isdigit():
            return accounts.filter(pk=int(wanted)).first()
        return self.instance.account if self.instance.account_id else None


def listed_markets(values: dict[str, Any]) -> dict[str, Any]:
    """The form gives the markets as a queryset; the services take a list."""
    if "markets" in values:
        return {**values, "markets": list(values["markets"])}
    return values
