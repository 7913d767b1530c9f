from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from apps.secrets.models import Secret

MAX_TOKENS_LIMIT = 200_000
MAX_TIMEOUT_SECONDS = 600


class ModelConfig(models.Model):
    class Provider(models.TextChoices):
        OPENAI = "openai", "OpenAI"
        ANTHROPIC = "anthropic", "Anthropic"
        GOOGLE = "google", "Google"
        OPENAI_COMPATIBLE = "openai_compatible", "OpenAI-compatible endpoint"
        LLAMA_CPP = "llama_cpp", "Local llama.cpp model"

    SECRET_FIELDS = ("api_key",)

    name = models.CharField(max_length=100, unique=True)
    provider = models.CharField(max_length=20, choices=Provider.choices)
    model = models.CharField(max_length=300, help_text="Model name, or the GGUF file path for llama.cpp.")
    base_url = models.URLField(blank=True, help_text="Required for OpenAI-compatible endpoints.")
    api_key = models.OneToOneField(
        Secret, verbose_name="API key", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    temperature = models.DecimalField(max_digits=3, decimal_places=2, default=Decimal("0.20"))
    max_tokens = models.PositiveIntegerField(default=1024)
    timeout_seconds = models.PositiveIntegerField(default=60)
    daily_token_budget = models.PositiveBigIntegerField(default=200_000)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(temperature__gte=0) & Q(temperature__lte=2), name="model_config_temperature_range"
            ),
            models.CheckConstraint(
                condition=Q(max_tokens__gte=1) & Q(max_tokens__lte=MAX_TOKENS_LIMIT),
                name="model_config_max_tokens_range",
            ),
            models.CheckConstraint(
                condition=Q(timeout_seconds__gte=1) & Q(timeout_seconds__lte=MAX_TIMEOUT_SECONDS),
                name="model_config_timeout_range",
            ),
            models.CheckConstraint(
                condition=~Q(provider="openai_compatible") | ~Q(base_url=""),
                name="model_config_compatible_needs_base_url",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_provider_display()}: {self.model})"
