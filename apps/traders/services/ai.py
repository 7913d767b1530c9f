"""An AI trader's question to its model: the prompt built from the trader's context
(apps.traders.prompting), the plan's bounds, the trader's own daily budget, and the call through
apps.ai.decide.ai_decide (which validates, repairs once, accounts the usage and applies the model
config's budget). The answer becomes a cycle.ModelAnswer; apps.traders.cycle.AIDecision turns it
into the cycle's decision, which then takes the path every plan takes.

The worker's cycle asks with use_cache=False (a live decision is always fresh); `backtest --trader`
replays a stored decision whose prompt hash matches, else asks with use_cache=True, so a second run
is identical and makes no call.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone

from apps.ai.contract import PlanBounds, trade_plan_json_schema
from apps.ai.decide import AIDecision, Prompt, ai_decide
from apps.ai.selectors import ai_usage_today
from apps.audit.models import DecisionLog
from apps.core.errors import ServiceValidationError
from apps.market.arrays import CandleArrays
from apps.market.candles_io import ms_to_datetime
from apps.market.models import MAX_LEVERAGE, Market
from apps.market.timeframes import timeframe_ms
from apps.news.selectors import NewsFilters, news_item_list
from apps.traders import cycle, prompting
from apps.traders.models import DEFAULT_TEMPLATE_NAME, Alert, PromptTemplate, Trader
from apps.traders.selectors import AI_CALLER_PREFIX, market_terms
from apps.traders.services.alerts import alert_raise

CONTEXT_CANDLES = 48  # before the token budget trims them
CONTEXT_HEADLINES = 8
Asker = Callable[[cycle.CycleInputs], cycle.ModelAnswer]


def trader_caller(trader: Trader) -> str:
    return f"{AI_CALLER_PREFIX}{trader.pk}"


def prompt_template_get(*, trader: Trader) -> PromptTemplate:
    """The trader's template, else the default one (created by the traders app's migrations)."""
    if trader.prompt_template_id is not None:
        return trader.prompt_template  # type: ignore[return-value]
    template = PromptTemplate.objects.filter(name=DEFAULT_TEMPLATE_NAME).first()
    if template is None:
        raise ServiceValidationError(
            "prompt_template",
            f"trader {trader.name} has no prompt template and the default {DEFAULT_TEMPLATE_NAME!r} is missing: "
            "pick a template on the trader's form, or create one with that name",
        )
    return template


def max_leverage(*, trader: Trader, market: Market) -> int:
    """The highest leverage a plan may ask: the lower of the market's and the risk profile's."""
    return min(market.max_leverage or MAX_LEVERAGE, trader.risk_profile.max_leverage)


def plan_bounds(*, trader: Trader, market: Market, price: Decimal) -> PlanBounds:
    """The model answers for the market being decided on: the cycle decides one market per candle,
    so a plan naming another of the trader's markets is refused, not acted on elsewhere."""
    return PlanBounds(
        symbols=(market.symbol,), prices={market.symbol: price}, max_leverage=max_leverage(trader=trader, market=market)
    )


# --- the context ---------------------------------------------------------------------------------


def _candle_rows(candles: CandleArrays) -> tuple[prompting.CandleRow, ...]:
    def number(column: Any, index: int) -> Decimal:
        return Decimal(repr(float(column[index])))

    return tuple(
        prompting.CandleRow(
            open_ms=int(candles.open_time[i]),
            open=number(candles.open, i),
            high=number(candles.high, i),
            low=number(candles.low, i),
            close=number(candles.close, i),
            volume=number(candles.volume, i),
        )
        for i in range(len(candles))
    )


def headlines_before(*, market: Market, until: datetime, limit: int = CONTEXT_HEADLINES) -> list[prompting.Headline]:
    """The newest headlines mentioning the market's base asset published before `until`, oldest first."""
    items = list(news_item_list(filters=NewsFilters(asset=market.base, until=until))[:limit])
    return [
        prompting.Headline(
            published=item.published_at,
            title=item.title,
            source=item.source.name,
            sentiment=item.sentiment.score if item.sentiment is not None else None,
        )
        for item in reversed(items)
    ]


def prompt_context(
    *, trader: Trader, market: Market, timeframe: str, inputs: cycle.CycleInputs, candles: CandleArrays
) -> prompting.PromptContext:
    """The context of a decision on `inputs`; `candles` end with the candle decided on."""
    closes_at = ms_to_datetime(inputs.candle_open_ms + timeframe_ms(timeframe))
    terms = market_terms(market=market)
    recent = candles.slice(max(len(candles) - CONTEXT_CANDLES, 0), len(candles))
    return prompting.PromptContext(
        symbol=market.symbol,
        exchange=market.exchange,
        quote=market.quote,
        timeframe=timeframe,
        time=closes_at,
        price=inputs.price,
        tick=terms.tick,
        step=terms.step,
        candles=_candle_rows(recent),
        indicators=inputs.indicators,
        signal=inputs.signal,
        sentiment=inputs.sentiment,
        headlines=tuple(headlines_before(market=market, until=closes_at)),
        position=inputs.position,
        equity=inputs.equity,
        limits=trader.risk_profile.limits(),
        max_leverage=max_leverage(trader=trader, market=market),
        can_short=inputs.can_short,
    )


@dataclass(frozen=True)
class BuiltPrompt:
    prompt: Prompt
    rendered: prompting.RenderedPrompt
    template: PromptTemplate
    bounds: PlanBounds

    @property
    def schema(self) -> dict[str, Any]:
        return trade_plan_json_schema(self.bounds.symbols)


def prompt_build(
    *, trader: Trader, market: Market, timeframe: str, inputs: cycle.CycleInputs, candles: CandleArrays
) -> BuiltPrompt:
    template = prompt_template_get(trader=trader)
    context = prompt_context(trader=trader, market=market, timeframe=timeframe, inputs=inputs, candles=candles)
    text = prompting.TemplateText(system=template.system, user=template.user, max_tokens=template.max_prompt_tokens)
    rendered = prompting.render_prompt(text, context)
    return BuiltPrompt(
        prompt=Prompt(system=rendered.system, user=rendered.user),
        rendered=rendered,
        template=template,
        bounds=plan_bounds(trader=trader, market=market, price=inputs.price),
    )


# --- asking ----------------------------------------------------------------------------------------


def trader_budget_exhausted(*, trader: Trader) -> str:
    """Why the trader's own daily budget stops it asking today, or "" while it may ask."""
    tokens, cost = trader.ai_daily_token_budget, trader.ai_daily_cost_budget
    if tokens is None and cost is None:
        return ""
    usage = ai_usage_today(caller=trader_caller(trader))
    if tokens is not None and usage.tokens >= tokens:
        return f"budget exhausted: trader {trader.name} used {usage.tokens} of its {tokens} tokens today"
    if cost is not None and usage.cost >= cost:
        return f"budget exhausted: trader {trader.name} spent {usage.cost} of its {cost} today"
    return ""


def model_answer(decision: AIDecision, built: BuiltPrompt) -> cycle.ModelAnswer:
    """The router's decision as the cycle reads a model's answer."""
    plan = decision.plan.model_dump(mode="json") if decision.plan is not None else None
    return cycle.ModelAnswer(
        plan=plan,
        no_trade_reason=decision.no_trade_reason,
        model=decision.model,
        prompt_hash=decision.prompt_hash or built.prompt.hash(),
        prompt_version=built.template.version,
        tokens_in=decision.tokens_in,
        tokens_out=decision.tokens_out,
        cost=decision.cost,
        latency_ms=decision.latency_ms,
        budget_exhausted=decision.budget_exhausted,
        source="cache" if decision.cached else "model",
        evidence=tuple(plan["evidence"]) if plan else (),
    )


def budget_alert_raise(*, trader: Trader, reason: str, now: datetime | None = None) -> Alert | None:
    """One warning per trader and UTC day that its model budget stops it: it holds until tomorrow."""
    now = now or timezone.now()
    day_start = datetime.combine(now.astimezone(UTC).date(), datetime.min.time(), tzinfo=UTC)
    label = f"AI trader {trader.name} (id {trader.pk}) "
    if Alert.objects.filter(
        kind=Alert.Kind.AI_BUDGET,
        message__startswith=label,
        created_at__gte=day_start,
        created_at__lt=day_start + timedelta(days=1),
    ).exists():
        return None
    return alert_raise(
        kind=Alert.Kind.AI_BUDGET,
        subject=f"trader:{trader.pk}",
        account=trader.account,
        message=f"{label}holds until the next UTC day: {reason}"[:1000],
    )


def trader_ai_ask(*, trader: Trader, built: BuiltPrompt) -> cycle.ModelAnswer:
    """Ask the trader's model, fresh (or not, over the trader's budget). Never raises for the model's
    problems: ai_decide answers them as no trade. An exhausted budget raises the day's alert."""
    assert trader.ai_model_config is not None, "the trader_ai_needs_model constraint guarantees a model"
    over = trader_budget_exhausted(trader=trader)
    if over:
        answer = cycle.ModelAnswer(
            plan=None,
            no_trade_reason=over,
            model=trader.ai_model_config.model,
            prompt_hash=built.prompt.hash(),
            prompt_version=built.template.version,
            budget_exhausted=True,
            source="none",
        )
    else:
        decision = ai_decide(
            config=trader.ai_model_config,
            prompt=built.prompt,
            bounds=built.bounds,
            caller=trader_caller(trader),
        )
        answer = model_answer(decision, built)
    if answer.budget_exhausted:
        budget_alert_raise(trader=trader, reason=answer.no_trade_reason)
    return answer


def stored_answer(*, trader: Trader, market: Market, candle_open_ms: int, prompt_hash: str) -> cycle.ModelAnswer | None:
    """A recorded decision on this candle asked with exactly this prompt: its answer, replayed."""
    row = (
        DecisionLog.objects.filter(
            trader=trader,
            market=market,
            candle_open_time=ms_to_datetime(candle_open_ms),
            prompt_hash=prompt_hash,
        )
        .exclude(ai_model="")
        .first()
    )
    if row is None:
        return None
    return cycle.ModelAnswer(
        plan=row.ai_plan,
        no_trade_reason="" if row.ai_plan else row.reason.removeprefix("no trade: "),
        model=row.ai_model,
        prompt_hash=prompt_hash,
        prompt_version=row.prompt_version,
        source="replay",
        evidence=tuple(row.evidence_items()),
    )


def backtest_ai_ask(*, trader: Trader, market: Market, built: BuiltPrompt, candle_open_ms: int) -> cycle.ModelAnswer:
    """A backtest's answer: the stored decision of this candle when its prompt hash matches, else the
    model through the response cache (so a second run is identical and free). Backtest calls carry
    their own usage label: they do not spend the live trader's budget, and raise no alert."""
    stored = stored_answer(trader=trader, market=market, candle_open_ms=candle_open_ms, prompt_hash=built.prompt.hash())
    if stored is not None:
        return stored
    assert trader.ai_model_config is not None
    decision = ai_decide(
        config=trader.ai_model_config,
        prompt=built.prompt,
        bounds=built.bounds,
        caller=f"backtest:{trader_caller(trader)}",
        use_cache=True,
    )
    return model_answer(decision, built)


def ai_decision_maker(*, trader: Trader, ask: Asker) -> cycle.AIDecision:
    return cycle.AIDecision(ask, ask_on=trader.ai_ask)


def decision_ai_fields(answer: cycle.ModelAnswer | None) -> dict[str, Any]:
    """The decision log's AI columns for a decision (empty for a rules decision or an unasked model)."""
    if answer is None:
        return {}
    return {
        "prompt_version": answer.prompt_version,
        "prompt_hash": answer.prompt_hash,
        "ai_model": answer.model[:300],
        "tokens_in": answer.tokens_in,
        "tokens_out": answer.tokens_out,
        "cost": answer.cost,
        "ai_latency_ms": answer.latency_ms,
        "ai_plan": dict(answer.plan) if answer.plan is not None else None,
        "evidence": [dict(item) for item in answer.evidence],
    }
