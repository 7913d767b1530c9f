"""Writes to prompt templates: every placeholder must be one the context builder fills
(apps.traders.prompting), and a change to the system or user part bumps the version, so a
decision's recorded version names the exact text it was sent (the history keeps every one)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.db.models import Q

from apps.core.deletion import delete_unless_used
from apps.core.errors import ServiceValidationError
from apps.core.pending import pending_set
from apps.traders.models import DEFAULT_TEMPLATE_NAME, ChangeRequest, PromptTemplate, Trader
from apps.traders.prompting import TemplateInvalid, template_check
from apps.traders.services import four_eyes

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


def _live_users(template: PromptTemplate) -> bool:
    """Whether a live AI trader sends this template (by name, or as the default when it names none)."""
    uses = Q(prompt_template=template)
    if template.name == DEFAULT_TEMPLATE_NAME:
        uses |= Q(prompt_template__isnull=True)
    return Trader.objects.filter(uses, live=True, decision_mode=Trader.DecisionMode.AI).exists()


@transaction.atomic
def prompt_template_update(
    *,
    template: PromptTemplate,
    changes: Mapping[str, Any],
    user: Any = None,
    approval: ChangeRequest | None = None,
) -> PromptTemplate:
    """Apply `changes`; a different system or user text is a new version. A new text for a template a live
    AI trader sends waits for a second admin (four-eyes): the other fields apply at once and the returned
    template lists the request (apps.core.pending.pending_of). `approval`: the approved request applied."""
    template = PromptTemplate.objects.select_for_update().get(pk=template.pk)
    before = {field: getattr(template, field) for field in TEXT_FIELDS}
    for field, value in changes.items():
        if field not in PROMPT_TEMPLATE_FIELDS:
            raise ServiceValidationError(field, "is not an editable field")
        setattr(template, field, value)
    prompt_template_validate(template)
    changed = [field for field in TEXT_FIELDS if getattr(template, field) != before[field]]
    kind, target = ChangeRequest.Kind.TRADER_AI, ChangeRequest.Target.PROMPT_TEMPLATE
    held = (
        changed
        if changed
        and not four_eyes.approving(approval, kind=kind, target_type=target, target_id=template.pk)
        and _live_users(template)
        else []
    )
    after = {field: getattr(template, field) for field in held}
    for field in held:
        setattr(template, field, before[field])
    changed = [field for field in changed if field not in held]
    if changed:
        template.version += 1
        template._change_reason = f"{' and '.join(changed)} changed: v{template.version}"  # type: ignore[attr-defined]
    if approval is not None:
        four_eyes.approval_record(template, approval)
    template.save()
    if not held:
        return template
    request = four_eyes.change_request_create(
        kind=kind,
        target=template,
        target_type=target,
        changes=four_eyes.diff({field: before[field] for field in held}, after),
        user=user,
    )
    return pending_set(template, [request])


@transaction.atomic
def prompt_template_delete(*, template: PromptTemplate) -> None:
    delete_unless_used(template, template.delete, advice="its traders use it; give them another template first")
