from __future__ import annotations

from typing import Any

from django import forms

from apps.core.api_keys import EXPIRY_DAYS, scopes_for
from apps.core.models import ApiKey

DEFAULT_EXPIRY_DAYS = 90


class ApiKeyForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="What the key is for, e.g. the script that will use it.")
    scope = forms.ChoiceField(help_text="A key can do no more than your role allows.")
    expires_in_days = forms.TypedChoiceField(
        label="Expires in",
        coerce=int,
        choices=[(days, f"{days} days") for days in EXPIRY_DAYS],
        initial=DEFAULT_EXPIRY_DAYS,
    )

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        allowed = scopes_for(user)
        self.fields["scope"].choices = [(value, label) for value, label in ApiKey.Scope.choices if value in allowed]
