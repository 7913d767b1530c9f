"""Prompt templates of AI traders: the system and user parts a trader's context is rendered into
(apps.traders.prompting). Every edit that changes a part bumps `version`, and every change is a
history record (who, when, before, after), so a decision's prompt version names the exact text."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

DEFAULT_TEMPLATE_NAME = "Default trade plan"
DEFAULT_MAX_PROMPT_TOKENS = 1500


class PromptTemplate(models.Model):
    name = models.CharField(max_length=100, unique=True)
    description = models.CharField(max_length=500, blank=True)
    system = models.TextField(help_text="The system part: the model's role and rules.")
    user = models.TextField(help_text="The user part, with $placeholders for the trader's context.")
    max_prompt_tokens = models.PositiveIntegerField(
        default=DEFAULT_MAX_PROMPT_TOKENS,
        help_text="Token budget of the rendered prompt (estimated): the oldest candles, then headlines, are cut.",
    )
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=Q(version__gte=1), name="prompt_template_version_positive"),
            models.CheckConstraint(condition=Q(max_prompt_tokens__gte=100), name="prompt_template_token_budget"),
        ]

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"
