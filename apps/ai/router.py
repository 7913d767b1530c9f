"""ModelRouter: one client per model config, retries with backoff, the fallback model, budgets, usage rows.

The API key is decrypted only here, when a config's client is built, and handed straight to the SDK.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from apps.ai import selectors, services
from apps.ai.models import ModelCall, ModelConfig
from apps.ai.providers import ChatClient, Completion, LocalClient, Messages, ProviderError, RemoteClient
from apps.core.prometheus import ERRORS, LLM_COST, LLM_TOKENS
from apps.secrets.redaction import redact_text
from apps.secrets.services import secret_reveal

logger = logging.getLogger(__name__)

Outcome = ModelCall.Outcome
# Tests only (override_remote_base_url): every remote client is aimed here instead of its provider.
_remote_base_url_override: str | None = None
BUDGET = "budget"
MAX_CHAIN = 5  # configs tried for one request: the first and its fallbacks


@dataclass(frozen=True)
class RetryPolicy:
    base_delay: float = 0.5  # seconds before the first repeat; doubles after each failure
    max_delay: float = 8.0
    max_retry_after: float = 30.0  # a provider's Retry-After is honoured up to this

    def delay(self, retry: int, retry_after: float | None) -> float:
        if retry_after is not None and retry_after >= 0:
            return min(retry_after, self.max_retry_after)
        return min(self.base_delay * 2**retry, self.max_delay)


@dataclass
class RouterAnswer:
    """What a request through the chain gave: a completion (from `config`), or why there is none."""

    completion: Completion | None = None
    config: ModelConfig | None = None
    call: ModelCall | None = None  # the usage row of the answering call, marked invalid by the caller if it is
    failure: str = ""
    failure_kind: str = ""  # the last failure's ModelCall.Outcome, or "budget"
    budget_exhausted: bool = False
    attempts: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    cost: Decimal = Decimal("0")
    latency_ms: int = 0
    failures: list[str] = field(default_factory=list)


def budget_problem(config: ModelConfig) -> str:
    """Why `config` may not be asked today (its daily token or cost budget is used up), or ""."""
    usage = selectors.ai_usage_today(model_config_id=config.pk)
    if config.daily_token_budget and usage.tokens >= config.daily_token_budget:
        return f"budget exhausted: {config.name} used {usage.tokens} of {config.daily_token_budget} tokens today (UTC)"
    if config.daily_cost_budget and usage.cost >= config.daily_cost_budget:
        return f"budget exhausted: {config.name} spent {usage.cost} of {config.daily_cost_budget} today (UTC)"
    return ""


def call_cost(config: ModelConfig, *, tokens_in: int, tokens_out: int) -> Decimal:
    million = Decimal(1_000_000)
    cost = tokens_in * config.input_price_per_million / million + tokens_out * config.output_price_per_million / million
    return cost.quantize(Decimal("0.000001"))


def _client_key(config: ModelConfig) -> tuple[Any, ...]:
    key = config.api_key
    return (
        config.pk,
        config.provider,
        config.model,
        config.base_url,
        config.output_mode,
        key.pk if key else None,
        key and key.updated_at,
    )


class ModelRouter:
    def __init__(
        self,
        *,
        policy: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.policy = policy or RetryPolicy()
        self._sleep = sleep
        self._clock = clock
        self._clients: dict[tuple[Any, ...], ChatClient] = {}
        self._lock = threading.Lock()

    def forget_clients(self) -> None:
        with self._lock:
            self._clients.clear()

    def client(self, config: ModelConfig) -> ChatClient:
        """The config's client, built once (and again after its model, URL or key changed)."""
        key = _client_key(config)
        with self._lock:
            if key not in self._clients:
                self._clients = {k: c for k, c in self._clients.items() if k[0] != config.pk}
                self._clients[key] = self._build(config)
            return self._clients[key]

    @staticmethod
    def _build(config: ModelConfig) -> ChatClient:
        if config.provider == ModelConfig.Provider.LLAMA_CPP:
            return LocalClient(model=config.model)
        api_key = None
        if config.api_key is not None:
            api_key = secret_reveal(secret=config.api_key, purpose=f"model config {config.name!r} ({config.pk})")
        return RemoteClient(
            provider=config.provider,
            model=config.model,
            base_url=_remote_base_url_override or config.base_url,
            api_key=api_key,
            output_mode=config.output_mode,
        )

    def ask(
        self,
        *,
        config: ModelConfig,
        messages: Messages,
        schema: dict[str, Any],
        caller: str = "",
        max_tokens: int | None = None,
        use_fallback: bool = True,
        check_budget: bool = True,
        retries: int | None = None,
    ) -> RouterAnswer:
        """Ask `config`, then its fallbacks (each at most once) until one answers. Never raises for the model's
        or the network's failures: they are in the answer's `failure`."""
        answer = RouterAnswer()
        seen: set[int] = set()
        current: ModelConfig | None = config
        over_budget = 0
        while current is not None and current.pk not in seen and len(seen) < MAX_CHAIN:
            seen.add(current.pk)
            answer.config = current
            problem = budget_problem(current) if check_budget else ""
            if problem:
                over_budget += 1
                answer.failures.append(problem)
                answer.failure_kind = BUDGET
            elif self._ask_one(current, answer, messages, schema, caller, max_tokens, retries):
                return answer
            current = current.fallback if use_fallback else None
        answer.budget_exhausted = over_budget == len(seen)
        answer.failure = "; then ".join(answer.failures)
        return answer

    def _ask_one(
        self,
        config: ModelConfig,
        answer: RouterAnswer,
        messages: Messages,
        schema: dict[str, Any],
        caller: str,
        max_tokens: int | None,
        retries: int | None,
    ) -> bool:
        started = self._clock()
        attempts = 0
        error: ProviderError
        completion: Completion | None = None
        allowed = config.max_retries if retries is None else retries
        while True:
            attempts += 1
            try:
                completion = self.client(config).complete(
                    messages=messages,
                    schema=schema,
                    max_tokens=max_tokens or config.max_tokens,
                    temperature=float(config.temperature),
                    timeout=float(config.timeout_seconds),
                )
                break
            except ProviderError as exc:
                error = exc
            except Exception as exc:  # an SDK or llama.cpp surprise must not crash a trading cycle
                logger.exception("model config %s: unexpected failure", config.pk)
                error = ProviderError(Outcome.ERROR, f"unexpected {type(exc).__name__}: {redact_text(str(exc))[:200]}")
            if not error.retryable or attempts > allowed:
                break
            self._sleep(self.policy.delay(attempts - 1, error.retry_after))
        latency_ms = int((self._clock() - started) * 1000)
        answer.attempts += attempts
        answer.latency_ms += latency_ms
        if completion is None:
            message = f"{config.name}: {error.message}" + (f" (after {attempts} attempts)" if attempts > 1 else "")
            answer.failures.append(message)
            answer.failure_kind = error.kind
            ERRORS.labels(source="llm").inc()
            services.model_call_record(
                config=config,
                caller=caller,
                outcome=error.kind,
                error=error.message,
                latency_ms=latency_ms,
                attempts=attempts,
            )
            return False
        cost = call_cost(config, tokens_in=completion.tokens_in, tokens_out=completion.tokens_out)
        answer.completion = completion
        answer.tokens_in += completion.tokens_in
        answer.tokens_out += completion.tokens_out
        answer.cost += cost
        LLM_TOKENS.labels(model=config.name, direction="input").inc(completion.tokens_in)
        LLM_TOKENS.labels(model=config.name, direction="output").inc(completion.tokens_out)
        LLM_COST.labels(model=config.name).inc(float(cost))
        answer.call = services.model_call_record(
            config=config,
            caller=caller,
            outcome=Outcome.OK,
            tokens_in=completion.tokens_in,
            tokens_out=completion.tokens_out,
            cost=cost,
            latency_ms=latency_ms,
            attempts=attempts,
        )
        return True


default_router = ModelRouter()


@contextmanager
def override_remote_base_url(base_url: str) -> Iterator[None]:
    """For tests (the API fuzzer): remote clients built inside the block talk to `base_url`, never a provider."""
    global _remote_base_url_override
    previous, _remote_base_url_override = _remote_base_url_override, base_url
    default_router.forget_clients()
    try:
        yield
    finally:
        _remote_base_url_override = previous
        default_router.forget_clients()
