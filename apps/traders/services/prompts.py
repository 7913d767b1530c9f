"""Writes to prompt templates: every placeholder must be one the context builder fills
(apps.traders.prompting), and a change to the system or user part bumps the version, so a
decision's recorded version names the exact text it was sent (the history keeps every one)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import transaction

from apps.core.deletion import delete_unless_used
from apps.core.errors import ServiceValidationError
from apps.traders.models import PromptTemplate
from apps.traders.prompting import TemplateInvalid, template_check

PROMPT_TEMPLATE_FIELDS = ("name", "description", "system", "user", "max_prompt_tokens")
MIN_PROMPT_TOKENS = 100
MAX_PROMPT_TOKENS = 200_000
TEXT_FIELDS = ("system", "user")


def prompt_template_validate(template: PromptTemplate) -> None:
    name = template.name.strip() if isinstance(template.name, str) else ""
    if not name:
        raise ServiceValidationError("name", "may not be blank")
    template.name = name
    for field in TEXT_FIELDS:
        text = getattr(template, field)
        if not isinstance(text, str) or not text.strip():
            raise ServiceValidationError(field, "may not be blank")
        try:
            template_check(text)
        except TemplateInvalid as exc:
            raise ServiceValidationError(field, str(exc)) from None
    budget = template.max_prompt_tokens
    if isinstance(budget, bool) or not isinstance(budget, int) or not MIN_PROMPT_TOKENS <= budget <= MAX_PROMPT_TOKENS:
        raise ServiceValidationError(
            "max_prompt_tokens", f"must be a whole number from {MIN_PROMPT_TOKENS} to {MAX_PROMPT_TOKENS}"
        )
    if PromptTemplate.objects.filter(name=template.name).exclude(pk=template.pk).exists():
        raise ServiceValidationError("name", f"a prompt template named {template.name!r} already exists")


@transaction.atomic
def prompt_template_create(
    *, name: str, system: str, user: str, description: str = "", max_prompt_tokens: int = 1500
) -> PromptTemplate:
    template = PromptTemplate(
        name=name, description=description, system=system, user=user, max_prompt_tokens=max_prompt_tokens, version=1
    )
    prompt_template_validate(template)
    template._change_reason = "created"  # type: ignore[attr-defined]
    template.save()
    return template


@transaction.atomic
def prompt_template_update(*, template: PromptTemplate, changes: Mapping[str, Any]) -> PromptTemplate:
    """Apply `changes`; a different system or user text is a new version."""
    template = PromptTemplate.objects.select_for_update().get(pk=template.pk)
    before = {field: getattr(template, field) for field in TEXT_FIELDS}
    for field, value in changes.items():
        if field not in PROMPT_TEMPLATE_FIELDS:
            raise ServiceValidationError(field, "is not an editable field")
        setattr(template, field, value)
    prompt_template_validate(template)
    changed = [field for field in TEXT_FIELDS if getattr(template, field) != before[field]]
    if changed:
        template.version += 1
        template._change_reason = f"{' and '.join(changed)} changed: v{template.version}"  # type: ignore[attr-defined]
    template.save()
    return template


@transaction.atomic
def prompt_template_delete(*, template: PromptTemplate) -> None:
    delete_unless_used(template, template.delete, advice="its traders use it; give them another template first")
