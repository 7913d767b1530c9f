"""ai_decide: ask a model for a trade plan and accept only a valid one (DESIGN.md safety invariant 5).

The answer must be exactly one JSON object that `TradePlanOutput` accepts and `plan_check` finds
nothing wrong with. An invalid answer gets one repair request quoting the validation error; a second
invalid answer, a timeout, a failing provider or an exhausted budget is "no trade" with its reason.
Nothing here raises for the model's or the network's failures, and nothing guesses an order.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from apps.ai import selectors, services
from apps.ai.contract import SCHEMA_VERSION, PlanBounds, TradePlanOutput, plan_check, trade_plan_json_schema
from apps.ai.models import ModelConfig
from apps.ai.providers import Messages
from apps.ai.router import ModelRouter, RouterAnswer, default_router

logger = logging.getLogger(__name__)

MAX_INVALID_RAW_BYTES = 2048
MAX_ERROR_LENGTH = 400
MAX_ERRORS_QUOTED = 6
REPAIR_REQUEST = (
    "Your answer was rejected: {error}\n"
    "Answer again with only one JSON object that follows the schema, with no text before or after it."
)


@dataclass(frozen=True)
class Prompt:
    system: str
    user: str

    def hash(self) -> str:
        """sha256 over the system and user parts and the contract's schema version (replay and cache key)."""
        text = "\x00".join((SCHEMA_VERSION, self.system, self.user))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class AIDecision:
    plan: TradePlanOutput | None  # None: no trade
    no_trade_reason: str  # "" when plan is set
    budget_exhausted: bool  # the caller raises the alert
    model_config_id: int | None  # the config that answered (after a fallback, the fallback's)
    model: str
    prompt_hash: str
    tokens_in: int
    tokens_out: int
    cost: Decimal
    latency_ms: int
    attempts: int
    invalid_raw: str  # the last invalid raw answer truncated to 2 KB, "" if none
    cached: bool  # answered from the response cache


def truncate_raw(raw: str) -> str:
    return raw.encode("utf-8")[:MAX_INVALID_RAW_BYTES].decode("utf-8", errors="ignore")


def _validation_summary(exc: ValidationError) -> str:
    errors = exc.errors(include_input=False, include_url=False)
    parts = [f"{'.'.join(str(part) for part in error['loc']) or 'answer'}: {error['msg']}" for error in errors]
    more = f" (and {len(parts) - MAX_ERRORS_QUOTED} more)" if len(parts) > MAX_ERRORS_QUOTED else ""
    return "; ".join(parts[:MAX_ERRORS_QUOTED])[:MAX_ERROR_LENGTH] + more


def parse_plan(raw: str, bounds: PlanBounds) -> tuple[TradePlanOutput | None, str]:
    """The plan in `raw` (exactly one JSON object, nothing around it), or None and what is wrong with it."""
    try:
        plan = TradePlanOutput.model_validate_json(raw)
    except ValidationError as exc:
        return None, _validation_summary(exc)
    problems = plan_check(plan, bounds)
    if problems:
        return None, "; ".join(problems)[:MAX_ERROR_LENGTH]
    return plan, ""


def response_cache_key(config: ModelConfig, prompt_hash: str, schema: dict[str, Any]) -> str:
    identity = [
        config.provider,
        config.base_url,
        config.model,
        str(config.temperature),
        config.max_tokens,
        prompt_hash,
        json.dumps(schema, sort_keys=True),
    ]
    return hashlib.sha256(json.dumps(identity).encode("utf-8")).hexdigest()


class _Tally:
    """Adds up the requests of one decision (the first and the repair)."""

    def __init__(self, config: ModelConfig, prompt_hash: str) -> None:
        self.config = config
        self.prompt_hash = prompt_hash
        self.tokens_in = self.tokens_out = self.latency_ms = self.attempts = 0
        self.cost = Decimal("0")

    def add(self, answer: RouterAnswer) -> None:
        self.config = answer.config or self.config
        self.tokens_in += answer.tokens_in
        self.tokens_out += answer.tokens_out
        self.cost += answer.cost
        self.latency_ms += answer.latency_ms
        self.attempts += answer.attempts

    def decision(
        self,
        plan: TradePlanOutput | None,
        reason: str = "",
        *,
        budget_exhausted: bool = False,
        invalid_raw: str = "",
    ) -> AIDecision:
        if plan is None:
            logger.info("no trade from model config %s: %s", self.config.pk, reason)
        return AIDecision(
            plan=plan,
            no_trade_reason=reason,
            budget_exhausted=budget_exhausted,
            model_config_id=self.config.pk,
            model=self.config.model,
            prompt_hash=self.prompt_hash,
            tokens_in=self.tokens_in,
            tokens_out=self.tokens_out,
            cost=self.cost,
            latency_ms=self.latency_ms,
            attempts=self.attempts,
            invalid_raw=truncate_raw(invalid_raw),
            cached=False,
        )


def _from_cache(hit: Any, *, config: ModelConfig, prompt_hash: str, bounds: PlanBounds) -> AIDecision:
    plan, reason = None, hit.no_trade_reason
    if hit.plan is not None:
        plan, error = parse_plan(json.dumps(hit.plan), bounds)
        reason = "" if plan else f"cached answer rejected: {error}"
    return AIDecision(
        plan=plan,
        no_trade_reason=reason,
        budget_exhausted=False,
        model_config_id=config.pk,
        model=hit.model,
        prompt_hash=prompt_hash,
        tokens_in=0,
        tokens_out=0,
        cost=Decimal("0"),
        latency_ms=0,
        attempts=0,
        invalid_raw=hit.invalid_raw,
        cached=True,
    )


def ai_decide(
    *,
    config: ModelConfig,
    prompt: Prompt,
    bounds: PlanBounds,
    caller: str = "",
    use_cache: bool = False,
    router: ModelRouter | None = None,
) -> AIDecision:
    """A validated plan, or no trade with its reason. `caller` labels the usage rows ("trader:12")."""
    router = router or default_router
    schema = trade_plan_json_schema(bounds.symbols)
    prompt_hash = prompt.hash()
    cache_key = response_cache_key(config, prompt_hash, schema) if use_cache else ""
    if cache_key and (hit := selectors.cached_answer_get(key=cache_key)):
        return _from_cache(hit, config=config, prompt_hash=prompt_hash, bounds=bounds)

    tally = _Tally(config, prompt_hash)
    messages: Messages = [{"role": "system", "content": prompt.system}, {"role": "user", "content": prompt.user}]
    first = router.ask(config=config, messages=messages, schema=schema, caller=caller)
    tally.add(first)
    if first.completion is None:
        return tally.decision(None, first.failure, budget_exhausted=first.budget_exhausted)
    plan, error = _checked(first, bounds)
    if plan is None:
        raw = first.completion.content
        repair = [
            *messages,
            {"role": "assistant", "content": truncate_raw(raw)},
            {"role": "user", "content": REPAIR_REQUEST.format(error=error)},
        ]
        second = router.ask(config=tally.config, messages=repair, schema=schema, caller=caller)
        tally.add(second)
        if second.completion is None:
            reason = f"invalid answer ({error}), then the repair request failed: {second.failure}"
            return tally.decision(None, reason, budget_exhausted=second.budget_exhausted, invalid_raw=raw)
        plan, error = _checked(second, bounds)
        if plan is None:
            decision = tally.decision(None, f"invalid answer twice: {error}", invalid_raw=second.completion.content)
            _cache(cache_key, decision)
            return decision
    decision = tally.decision(plan)
    _cache(cache_key, decision)
    return decision


def _checked(answer: RouterAnswer, bounds: PlanBounds) -> tuple[TradePlanOutput | None, str]:
    if answer.completion is None:
        return None, answer.failure
    plan, error = parse_plan(answer.completion.content, bounds)
    if plan is None and answer.call is not None:
        services.model_call_mark_invalid(call=answer.call, error=error)
    return plan, error


def _cache(key: str, decision: AIDecision) -> None:
    if not key:
        return
    services.cached_answer_store(
        key=key,
        model=decision.model,
        plan=decision.plan.model_dump(mode="json") if decision.plan else None,
        no_trade_reason=decision.no_trade_reason,
        invalid_raw=decision.invalid_raw,
        tokens_in=decision.tokens_in,
        tokens_out=decision.tokens_out,
    )
