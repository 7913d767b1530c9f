"""Forms for the strategy pages and the admin. They parse and report; saving goes through
apps.strategies.services, which validates the spec again and applies the version rules."""

from __future__ import annotations

import json
from typing import Any

from django import forms

from apps.strategies.models import Strategy
from apps.strategies.selectors import spec_validate
from apps.strategies.spec import SpecError

SPEC_ROWS = 24


def spec_text(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False)


def spec_check(text: str) -> tuple[Any, list[SpecError]]:
    """Parse the editor's text and validate it: (the parsed JSON, every problem with its path)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        return None, [SpecError("", f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})")]
    _spec, errors = spec_validate(data=data)
    return data, errors


class StrategyForm(forms.Form):
    """The page editor. The spec is plain text so that invalid input goes back to the user as typed."""

    name = forms.CharField(max_length=Strategy._meta.get_field("name").max_length)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    spec = forms.CharField(
        strip=False,
        widget=forms.Textarea(attrs={"rows": SPEC_ROWS, "spellcheck": "false", "class": "spec-editor"}),
        help_text="JSON: indicators, entry and exit rules, timeframe, markets, cooldown_bars.",
    )
    enabled = forms.BooleanField(required=False)
    expected_version = forms.IntegerField(required=False, widget=forms.HiddenInput, min_value=1)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.spec_errors: list[SpecError] = []

    def clean_spec(self) -> Any:
        data, errors = spec_check(self.cleaned_data["spec"])
        if errors:
            # Listed next to the editor, each with its path; the field error only says where to look.
            self.spec_errors = errors
            raise forms.ValidationError(
                "The spec has %(count)d problem(s); see the list below the editor.", params={"count": len(errors)}
            )
        return data

    def set_spec_errors(self, errors: list[SpecError]) -> None:
        """Errors found by the service on save (the same rules, checked again inside the transaction)."""
        self.spec_errors = errors
        self.add_error("spec", f"The spec has {len(errors)} problem(s); see the list below the editor.")


class IndentedJSONField(forms.JSONField):
    """A JSON box that shows the spec indented, one rule per line, instead of one long line."""

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, forms.fields.InvalidJSONInput):
            return value
        return json.dumps(value, indent=2, ensure_ascii=False, cls=self.encoder)


class StrategyAdminForm(forms.ModelForm):
    """Admin form: the spec edited as JSON and checked with spec_validate, every problem shown on the form."""

    class Meta:
        model = Strategy
        fields = ("name", "description", "spec", "enabled")
        field_classes = {"spec": IndentedJSONField}
        widgets = {"spec": forms.Textarea(attrs={"rows": SPEC_ROWS, "cols": 100, "spellcheck": "false"})}

    def clean_spec(self) -> Any:
        data = self.cleaned_data["spec"]
        _spec, errors = spec_validate(data=data)
        if errors:
            raise forms.ValidationError([str(error) for error in errors])
        return data
