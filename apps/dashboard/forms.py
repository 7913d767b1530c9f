"""The forms of the alert channel and rule pages. They only parse; the services validate and save."""

from __future__ import annotations

from django import forms

from apps.traders.models import THRESHOLD_MEANING, Alert, AlertChannel, AlertRule


class AlertChannelForm(forms.Form):
    name = forms.CharField(max_length=100)
    url = forms.CharField(
        label="Notification URL",
        max_length=4096,
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="An apprise URL: slack://…, discord://…, tgram://…, mailto://…, json://host/path. "
        "Stored encrypted; it is never shown again.",
    )
    enabled = forms.BooleanField(required=False, initial=True)
    min_level = forms.ChoiceField(label="Lowest level sent", choices=Alert.Level.choices, initial=Alert.Level.WARNING)
    kinds = forms.MultipleChoiceField(
        label="Kinds sent",
        choices=Alert.Kind.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked sends every kind.",
    )

    def __init__(self, *args: object, channel: AlertChannel | None = None, **kwargs: object) -> None:
        if channel is not None:
            kwargs.setdefault(
                "initial",
                {
                    "name": channel.name,
                    "enabled": channel.enabled,
                    "min_level": channel.min_level,
                    "kinds": channel.kinds,
                },
            )
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["url"].required = channel is None
        if channel is not None and channel.url is not None:
            self.fields["url"].help_text = f"Set (fingerprint {channel.url.fingerprint}). Leave blank to keep it."


class AlertRuleForm(forms.Form):
    enabled = forms.BooleanField(required=False)
    level = forms.ChoiceField(choices=Alert.Level.choices)
    cooldown_minutes = forms.IntegerField(min_value=0)
    threshold = forms.DecimalField(required=False, max_digits=10, decimal_places=2)

    def __init__(self, data: object = None, *, kind: str, initial: dict[str, object] | None = None) -> None:
        # One form per table row: ids unique per kind, and the inputs tied to the row's <form> element.
        super().__init__(data, auto_id=f"id_{kind}_%s", initial=initial)  # type: ignore[arg-type]
        for field in self.fields.values():
            field.widget.attrs["form"] = f"rule-form-{kind}"
        self.fields["threshold"].help_text = THRESHOLD_MEANING.get(kind, "")

    @classmethod
    def for_rule(cls, rule: AlertRule) -> AlertRuleForm:
        initial = {field: getattr(rule, field) for field in ("enabled", "level", "cooldown_minutes", "threshold")}
        return cls(kind=rule.kind, initial=initial)
