"""The risk gate every order passes (pure; no Django, no other app but the number formats of core).

`RiskManager.evaluate` turns a trade plan into a `RiskReport`: approved, scaled down or
rejected, with one `RuleCheck` per rule, always all of them and always in `RULES` order, so an
operator reading a decision log sees every limit next to the number it was compared with.
`equity_update` keeps a trader's daily-loss and drawdown halts; `halt_reset` is the operator's
way out. Live trading and backtests call the same code, which is what keeps them in agreement.

Conventions: money and quantities are Decimal; exposure is absolute notional in the quote
currency and never nets (a short does not offset a long: both can lose at once); scaling only
ever lowers a quantity; quantities are rounded DOWN to the market's step, so rounding can never
push an order over a cap.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from decimal import ROUND_DOWN, ROUND_UP, Decimal, localcontext
from enum import StrEnum
from functools import partial
from typing import Any

from apps.core.numbers import at_increment, money, plain_number

QUOTE = "USDT"
NOT_EVALUATED = "not evaluated: no quantity"

RULES: tuple[str, ...] = (
    "kill_switch",
    "stop_loss_required",
    "stop_loss_side",
    "leverage",
    "risk_per_trade",
    "max_order_notional",
    "max_symbol_notional",
    "max_asset_notional",
    "max_total_notional",
    "max_open_positions",
    "symbol_cooldown",
    "free_margin",
    "min_order_notional",
    "market_minimums",
)


class Verdict(StrEnum):
    PASS = "pass"
    SCALED = "scaled"
    FAIL = "fail"


class Decision(StrEnum):
    APPROVED = "approved"
    SCALED_DOWN = "scaled_down"
    REJECTED = "rejected"


class HaltKind(StrEnum):
    DAILY_LOSS = "daily_loss"
    DRAWDOWN = "drawdown"
    OPERATOR = "operator"
    GLOBAL = "global"


@dataclass(frozen=True)
class RiskLimits:
    max_leverage: int
    max_order_notional: Decimal
    max_total_notional: Decimal
    max_open_positions: int
    symbol_cooldown_seconds: int
    risk_per_trade: Decimal
    min_order_notional: Decimal
    max_symbol_notional: Decimal | None
    max_asset_notional: Decimal | None
    require_stop_loss: bool
    daily_loss_limit: Decimal
    max_drawdown: Decimal
    reset_daily_halt_next_day: bool

    def __post_init__(self) -> None:
        # A nonsensical profile must fail loudly here rather than silently approve (a negative cap
        # is never reached) or halt forever (a zero loss limit is always reached).
        if self.max_leverage < 1:
            raise ValueError(f"max_leverage must be at least 1, got {self.max_leverage}")
        if self.max_open_positions < 0 or self.symbol_cooldown_seconds < 0:
            raise ValueError("max_open_positions and symbol_cooldown_seconds must not be negative")
        money = {
            "max_order_notional": self.max_order_notional,
            "max_total_notional": self.max_total_notional,
            "min_order_notional": self.min_order_notional,
            "max_symbol_notional": self.max_symbol_notional,
            "max_asset_notional": self.max_asset_notional,
        }
        for name, amount in money.items():
            if amount is not None and not (_is_decimal(amount) and amount >= 0):
                raise ValueError(f"{name} must be a non-negative Decimal, got {amount!r}")
        fractions = {
            "risk_per_trade": self.risk_per_trade,
            "daily_loss_limit": self.daily_loss_limit,
            "max_drawdown": self.max_drawdown,
        }
        for name, fraction in fractions.items():
            if not (_is_decimal(fraction) and 0 < fraction <= 1):
                raise ValueError(f"{name} must be a Decimal fraction in (0, 1], got {fraction!r}")


@dataclass(frozen=True)
class OpenPosition:
    symbol: str
    base: str
    notional: Decimal  # absolute, quote currency


@dataclass(frozen=True)
class AccountSnapshot:
    equity: Decimal
    free_margin: Decimal
    positions: tuple[OpenPosition, ...]
    last_entry_ms: Mapping[str, int]  # symbol -> epoch ms of this trader's latest entry there
    now_ms: int


@dataclass(frozen=True)
class MarketLimits:
    symbol: str
    base: str
    step: Decimal
    min_amount: Decimal
    min_notional: Decimal
    max_leverage: int | None
    is_spot: bool
    tick: Decimal | None = None  # for showing prices only; None shows them at full precision


@dataclass(frozen=True)
class PlanRequest:
    symbol: str
    side: str  # "buy" (long) or "sell" (short)
    entry_price: Decimal  # limit price, or the reference (last) price for a market order
    stop_loss: Decimal | None
    take_profit: Decimal | None
    leverage: int
    quantity: Decimal | None  # None: size by risk_per_trade to the stop distance
    live: bool
    fee_rate: Decimal = Decimal("0.0005")  # taker fee rate, for the margin + fee check


@dataclass(frozen=True)
class RuleCheck:
    rule: str
    value: str
    limit: str
    verdict: Verdict
    message: str


@dataclass(frozen=True)
class RiskReport:
    decision: Decision
    quantity: Decimal  # approved quantity after scaling and rounding; Decimal(0) when rejected
    requested_quantity: Decimal | None
    checks: tuple[RuleCheck, ...]

    def as_dict(self) -> dict[str, Any]:
        # str() keeps a Decimal's exponent, so from_dict gives back an identical value.
        return {
            "decision": self.decision.value,
            "quantity": str(self.quantity),
            "requested_quantity": None if self.requested_quantity is None else str(self.requested_quantity),
            "checks": [
                {
                    "rule": check.rule,
                    "value": check.value,
                    "limit": check.limit,
                    "verdict": check.verdict.value,
                    "message": check.message,
                }
                for check in self.checks
            ],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RiskReport:
        requested = data["requested_quantity"]
        return cls(
            decision=Decision(data["decision"]),
            quantity=Decimal(data["quantity"]),
            requested_quantity=None if requested is None else Decimal(requested),
            checks=tuple(
                RuleCheck(
                    rule=check["rule"],
                    value=check["value"],
                    limit=check["limit"],
                    verdict=Verdict(check["verdict"]),
                    message=check["message"],
                )
                for check in data["checks"]
            ),
        )

    @property
    def approved(self) -> bool:
        return self.decision != Decision.REJECTED

    def failures(self) -> tuple[RuleCheck, ...]:
        return tuple(check for check in self.checks if check.verdict == Verdict.FAIL)


# --- number helpers -------------------------------------------------------------------------


def _is_decimal(amount: object) -> bool:
    # A float slipping in would make every later comparison inexact, so only Decimal counts.
    return isinstance(amount, Decimal) and amount.is_finite()


def _is_positive(amount: Decimal | None) -> bool:
    return amount is not None and _is_decimal(amount) and amount > 0


def _fmt(amount: Decimal) -> str:
    """A quantity (already at the market's step): '0.1', '50000', never '5E+4'."""
    return plain_number(amount) if amount.is_finite() else str(amount)


def _money(amount: Decimal) -> str:
    """Money as the report shows it: '5,000.00 USDT'."""
    return f"{money(amount) if amount.is_finite() else amount} {QUOTE}"


def _price(price: Decimal, tick: Decimal | None) -> str:
    """A price at the market's tick: '20995.8', not '20995.8312'."""
    return at_increment(price, tick) if price.is_finite() else str(price)


def _cents_up(amount: Decimal) -> Decimal:
    # Displayed requirements round up, so the report never shows less than what is needed.
    return amount.quantize(Decimal("0.01"), rounding=ROUND_UP)


def _pct(fraction: Decimal) -> str:
    return f"{_fmt(fraction * 100)}%"


def _div_down(numerator: Decimal, denominator: Decimal) -> Decimal:
    # Truncating the quotient (instead of the context's half-even rounding of the 28th digit)
    # guarantees that quantity * price never lands a hair above the cap it was derived from.
    with localcontext() as context:
        context.rounding = ROUND_DOWN
        return numerator / denominator


def _round_down(quantity: Decimal, step: Decimal) -> Decimal:
    # An unusable step leaves the quantity as is; market_minimums rejects the order for it.
    if not _is_positive(step):
        return quantity
    # quantize(1) turns 1E+2 into 100, so the result carries the step's exponent: "0.100", not "0.10".
    return _div_down(quantity, step).to_integral_value(rounding=ROUND_DOWN).quantize(Decimal(1)) * step


# --- the rules ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Context:
    plan: PlanRequest
    account: AccountSnapshot
    market: MarketLimits
    limits: RiskLimits
    halt: HaltKind | None


# A gate looks at the plan and the account only; a sizing rule also gets the quantity the
# previous rules left and returns the one the next rules use (None: none could be determined).
_Step = tuple[RuleCheck, Decimal | None]
_Gate = Callable[[_Context], RuleCheck]
_Rule = Callable[[_Context, Decimal | None], _Step]


def _gate(gate: _Gate) -> _Rule:
    def rule(ctx: _Context, quantity: Decimal | None) -> _Step:
        return gate(ctx), quantity

    return rule


def _kill_switch(ctx: _Context) -> RuleCheck:
    if ctx.halt is None:
        return RuleCheck("kill_switch", "none", "not halted", Verdict.PASS, "trading is not halted")
    return RuleCheck("kill_switch", ctx.halt.value, "not halted", Verdict.FAIL, f"trading halted: {ctx.halt.value}")


def _stop_loss_required(ctx: _Context) -> RuleCheck:
    plan = ctx.plan
    if plan.live:
        limit = "required (live plans always)"
    elif ctx.limits.require_stop_loss:
        limit = "required by the risk profile"
    else:
        limit = "optional"
    report = partial(
        RuleCheck,
        "stop_loss_required",
        "missing" if plan.stop_loss is None else _price(plan.stop_loss, ctx.market.tick),
        limit,
    )
    if plan.stop_loss is not None:
        return report(Verdict.PASS, "a stop loss is set")
    if plan.live:
        return report(Verdict.FAIL, "no stop loss: live plans always need one, whatever the risk profile says")
    if ctx.limits.require_stop_loss:
        return report(Verdict.FAIL, "no stop loss: the risk profile requires one")
    return report(Verdict.PASS, "no stop loss: allowed for a paper plan under this profile")


def _wrong_side(
    name: str, price: Decimal | None, entry: Decimal, *, above: bool, side: str, tick: Decimal | None
) -> str:
    """Why `price` is not strictly above (or below) the entry, or "" when it is fine or unset."""
    if price is None:
        return ""
    if not _is_positive(price):
        return f"{name} {price} is not a positive price"
    if (price > entry) if above else (price < entry):
        return ""
    where = "above" if above else "below"
    return f"{name} {_price(price, tick)} must be {where} the entry {_price(entry, tick)} for a {side}"


def _stop_loss_side(ctx: _Context) -> RuleCheck:
    plan = ctx.plan
    tick = ctx.market.tick
    stop = "none" if plan.stop_loss is None else _price(plan.stop_loss, tick)
    target = "none" if plan.take_profit is None else _price(plan.take_profit, tick)
    value = f"stop {stop}, take profit {target}"
    # The plan is untrusted input (an LLM may have written it): a malformed side or price is a
    # rejection with a reason, never an exception.
    if plan.side not in ("buy", "sell"):
        return RuleCheck(
            "stop_loss_side", value, "buy or sell", Verdict.FAIL, f"side must be buy or sell: {plan.side!r}"
        )
    if not _is_positive(plan.entry_price):
        message = f"entry price {plan.entry_price} is not a positive price"
        return RuleCheck("stop_loss_side", value, "entry > 0", Verdict.FAIL, message)
    buy, entry = plan.side == "buy", plan.entry_price
    shown = _price(entry, tick)
    limit = f"stop < {shown} < take profit" if buy else f"take profit < {shown} < stop"
    report = partial(RuleCheck, "stop_loss_side", value, limit)
    problems = [
        _wrong_side("stop loss", plan.stop_loss, entry, above=not buy, side=plan.side, tick=tick),
        _wrong_side("take profit", plan.take_profit, entry, above=buy, side=plan.side, tick=tick),
    ]
    if any(problems):
        return report(Verdict.FAIL, "; ".join(problem for problem in problems if problem))
    if plan.stop_loss is None and plan.take_profit is None:
        return report(Verdict.PASS, "no stop loss or take profit to check")
    return report(Verdict.PASS, f"protective prices are on the right sides for a {plan.side}")


def _leverage(ctx: _Context) -> RuleCheck:
    leverage, market, profile_max = ctx.plan.leverage, ctx.market, ctx.limits.max_leverage
    if market.is_spot:
        report = partial(RuleCheck, "leverage", f"{leverage}x", "1x (spot)")
        if leverage != 1:
            return report(Verdict.FAIL, f"spot orders take no leverage, got {leverage}x")
        return report(Verdict.PASS, "spot order without leverage")
    limit = f"{profile_max}x" if market.max_leverage is None else f"{profile_max}x (market {market.max_leverage}x)"
    report = partial(RuleCheck, "leverage", f"{leverage}x", limit)
    if leverage < 1:
        return report(Verdict.FAIL, f"leverage {leverage}x is below 1x")
    if leverage > profile_max:
        return report(Verdict.FAIL, f"leverage {leverage}x is above the profile's {profile_max}x limit")
    if market.max_leverage is not None and leverage > market.max_leverage:
        return report(Verdict.FAIL, f"leverage {leverage}x is above the market's {market.max_leverage}x maximum")
    return report(Verdict.PASS, f"leverage {leverage}x is within {limit}")


def _risk_per_trade(ctx: _Context, _: Decimal | None) -> _Step:
    plan, step, equity = ctx.plan, ctx.market.step, ctx.account.equity
    budget = equity * ctx.limits.risk_per_trade
    limit = f"{_money(budget)} ({_pct(ctx.limits.risk_per_trade)} of equity {_money(equity)})"
    requested = plan.quantity

    def fail(message: str) -> _Step:
        value = "-" if requested is None else str(requested)
        return RuleCheck("risk_per_trade", value, limit, Verdict.FAIL, message), None

    if requested is not None and not _is_positive(requested):
        return fail(f"requested quantity {requested} is not positive")
    if not _is_positive(plan.entry_price):
        return fail("cannot size an order without a positive entry price")
    if plan.stop_loss is None:
        if requested is None:
            return fail("no stop loss to size from and no quantity given")
        # Rule 2 already decided whether a stop is mandatory; here we only say the risk is open.
        quantity = _round_down(requested, step)
        check = RuleCheck("risk_per_trade", _fmt(quantity), limit, Verdict.PASS, "no stop: risk unbounded, not sized")
        return check, quantity
    if not _is_positive(budget):
        return fail(f"equity {_money(equity)} leaves no risk budget")
    distance = abs(plan.entry_price - plan.stop_loss)
    if distance == 0:
        return fail("the stop loss equals the entry: no distance to size from")
    sized = _round_down(_div_down(budget, distance), step)
    if requested is None:
        value = f"{_fmt(sized)} (risk {_money(sized * distance)})"
        message = (
            f"sized {_fmt(sized)} so a stop {_price(distance, ctx.market.tick)} away loses at most {_money(budget)}"
        )
        return RuleCheck("risk_per_trade", value, limit, Verdict.PASS, message), sized
    quantity = _round_down(requested, step)
    risk = quantity * distance
    report = partial(RuleCheck, "risk_per_trade", f"{_fmt(quantity)} (risk {_money(risk)})", limit)
    if risk > budget:
        scaled = min(quantity, sized)
        message = f"risk {_money(risk)} above {_money(budget)}: scaled {_fmt(quantity)} to {_fmt(scaled)}"
        return report(Verdict.SCALED, message), scaled
    return report(Verdict.PASS, f"risk {_money(risk)} within {_money(budget)}"), quantity


def _cap(
    rule: str, what: str, existing: Decimal, cap: Decimal | None, quantity: Decimal | None, ctx: _Context
) -> _Step:
    """One notional cap: existing exposure + this order's notional must stay within `cap`."""
    limit = "none" if cap is None else _money(cap)
    if quantity is None:
        return RuleCheck(rule, "-", limit, Verdict.PASS, NOT_EVALUATED), None
    if cap is None:
        return RuleCheck(rule, "-", limit, Verdict.PASS, "no limit set"), quantity
    entry = ctx.plan.entry_price
    notional = quantity * entry
    total = existing + notional
    value = _money(total) if existing == 0 else f"{_money(existing)} + {_money(notional)} = {_money(total)}"
    report = partial(RuleCheck, rule, value, limit)
    if total <= cap:
        return report(Verdict.PASS, f"{what} {_money(total)} within {_money(cap)}"), quantity
    headroom = cap - existing
    if headroom <= 0:
        message = f"{what}: {_money(existing)} already open leaves no room under {_money(cap)}"
        return report(Verdict.FAIL, message), quantity
    scaled = min(quantity, _round_down(_div_down(headroom, entry), ctx.market.step))
    message = f"{what} {_money(total)} above {_money(cap)}: scaled {_fmt(quantity)} to {_fmt(scaled)}"
    return report(Verdict.SCALED, message), scaled


def _exposure(positions: tuple[OpenPosition, ...], keep: Callable[[OpenPosition], bool]) -> Decimal:
    # abs(): a short's notional counts as much as a long's; positions never net each other out.
    return sum((abs(position.notional) for position in positions if keep(position)), Decimal(0))


def _max_order_notional(ctx: _Context, quantity: Decimal | None) -> _Step:
    return _cap("max_order_notional", "order notional", Decimal(0), ctx.limits.max_order_notional, quantity, ctx)


def _max_symbol_notional(ctx: _Context, quantity: Decimal | None) -> _Step:
    symbol = ctx.plan.symbol
    existing = _exposure(ctx.account.positions, lambda position: position.symbol == symbol)
    return _cap("max_symbol_notional", f"{symbol} exposure", existing, ctx.limits.max_symbol_notional, quantity, ctx)


def _max_asset_notional(ctx: _Context, quantity: Decimal | None) -> _Step:
    # Case-insensitive so a spot "btc" and a perp "BTC" are one asset: erring toward more overlap
    # only makes the cap stricter.
    base = ctx.market.base.upper()
    existing = _exposure(ctx.account.positions, lambda position: position.base.upper() == base)
    return _cap("max_asset_notional", f"{base} exposure", existing, ctx.limits.max_asset_notional, quantity, ctx)


def _max_total_notional(ctx: _Context, quantity: Decimal | None) -> _Step:
    existing = _exposure(ctx.account.positions, lambda _position: True)
    return _cap("max_total_notional", "total exposure", existing, ctx.limits.max_total_notional, quantity, ctx)


def _max_open_positions(ctx: _Context) -> RuleCheck:
    # Independent of the quantity, so it is reported even when sizing failed.
    symbol, limit = ctx.plan.symbol, ctx.limits.max_open_positions
    held = {position.symbol for position in ctx.account.positions}
    report = partial(RuleCheck, "max_open_positions", f"{len(held)} open", str(limit))
    if symbol in held:
        return report(Verdict.PASS, f"adds to the open {symbol} position")
    if len(held) + 1 > limit:
        return report(Verdict.FAIL, f"{len(held)} symbols already open: a new {symbol} position would exceed {limit}")
    return report(Verdict.PASS, f"{symbol} would be position {len(held) + 1} of {limit}")


def _symbol_cooldown(ctx: _Context) -> RuleCheck:
    symbol, seconds = ctx.plan.symbol, ctx.limits.symbol_cooldown_seconds
    last = ctx.account.last_entry_ms.get(symbol)
    if seconds == 0:
        return RuleCheck("symbol_cooldown", "-", "0s", Verdict.PASS, "no cooldown set")
    if last is None:
        return RuleCheck("symbol_cooldown", "-", f"{seconds}s", Verdict.PASS, f"no earlier entry on {symbol}")
    elapsed_ms = ctx.account.now_ms - last
    ago = f"{_fmt(Decimal(elapsed_ms) / 1000)}s ago"
    report = partial(RuleCheck, "symbol_cooldown", ago, f"{seconds}s")
    # A last entry "in the future" (clock skew) gives a negative elapsed time and so blocks:
    # the conservative reading.
    if elapsed_ms < seconds * 1000:
        remaining = -(-(seconds * 1000 - elapsed_ms) // 1000)  # ceil: never claim a shorter wait
        return report(Verdict.FAIL, f"last {symbol} entry {ago}: {remaining}s of the {seconds}s cooldown remaining")
    return report(Verdict.PASS, f"last {symbol} entry {ago}, past the {seconds}s cooldown")


def _free_margin(ctx: _Context, quantity: Decimal | None) -> _Step:
    free = ctx.account.free_margin
    limit = f"free {_money(free)}"
    if quantity is None:
        return RuleCheck("free_margin", "-", limit, Verdict.PASS, NOT_EVALUATED), None
    # Leverage below 1x already failed its rule; 1x is the conservative stand-in for the margin.
    leverage = Decimal(max(ctx.plan.leverage, 1))
    # A negative (maker rebate) rate must not make an order look cheaper than its margin.
    fee_rate = max(ctx.plan.fee_rate, Decimal(0))
    entry = ctx.plan.entry_price
    notional = quantity * entry
    required = _money(_cents_up(notional / leverage + notional * fee_rate))
    report = partial(RuleCheck, "free_margin", f"required {required}", limit)
    if free <= 0:
        return report(Verdict.FAIL, f"no free margin ({_money(free)})"), quantity
    # Compared multiplied through by the leverage: notional / 3 is inexact, this is not.
    factor = 1 + fee_rate * leverage
    if notional * factor <= free * leverage:
        return report(Verdict.PASS, f"margin + fee {required} fit in {_money(free)}"), quantity
    scaled = min(quantity, _round_down(_div_down(free * leverage, entry * factor), ctx.market.step))
    message = f"margin + fee {required} above {_money(free)}: scaled {_fmt(quantity)} to {_fmt(scaled)}"
    return report(Verdict.SCALED, message), scaled


def _min_order_notional(ctx: _Context, quantity: Decimal | None) -> _Step:
    floor = ctx.limits.min_order_notional
    limit = f"min {_money(floor)}"
    if quantity is None:
        return RuleCheck("min_order_notional", "-", limit, Verdict.PASS, NOT_EVALUATED), None
    quantity = _round_down(quantity, ctx.market.step)
    notional = quantity * ctx.plan.entry_price
    value = f"{_fmt(quantity)} x {_price(ctx.plan.entry_price, ctx.market.tick)} = {_money(notional)}"
    report = partial(RuleCheck, "min_order_notional", value, limit)
    if notional < floor:
        return report(Verdict.FAIL, f"order notional {_money(notional)} is below the {_money(floor)} minimum"), quantity
    return report(Verdict.PASS, f"order notional {_money(notional)} is at or above the minimum"), quantity


def _market_minimums(ctx: _Context, quantity: Decimal | None) -> _Step:
    market = ctx.market
    limit = f"step {_fmt(market.step)}, min {_fmt(market.min_amount)}, min notional {_money(market.min_notional)}"
    if quantity is None:
        return RuleCheck("market_minimums", "-", limit, Verdict.PASS, NOT_EVALUATED), None
    notional = quantity * ctx.plan.entry_price
    report = partial(RuleCheck, "market_minimums", f"{_fmt(quantity)} ({_money(notional)})", limit)
    if not _is_positive(market.step):
        message = f"market step {market.step} is not positive: the quantity cannot be rounded"
    elif quantity <= 0:
        message = f"the quantity rounds down to zero at step {_fmt(market.step)}"
    elif quantity < market.min_amount:
        message = f"quantity {_fmt(quantity)} is below the market minimum {_fmt(market.min_amount)}"
    elif notional < market.min_notional:
        message = f"notional {_money(notional)} is below the market minimum {_money(market.min_notional)}"
    else:
        return report(Verdict.PASS, "meets the market's minimums"), quantity
    return report(Verdict.FAIL, message), quantity


_RULE_FUNCTIONS: tuple[_Rule, ...] = (
    _gate(_kill_switch),
    _gate(_stop_loss_required),
    _gate(_stop_loss_side),
    _gate(_leverage),
    _risk_per_trade,
    _max_order_notional,
    _max_symbol_notional,
    _max_asset_notional,
    _max_total_notional,
    _gate(_max_open_positions),
    _gate(_symbol_cooldown),
    _free_margin,
    _min_order_notional,
    _market_minimums,
)


def _decide(checks: tuple[RuleCheck, ...]) -> Decision:
    verdicts = {check.verdict for check in checks}
    if Verdict.FAIL in verdicts:
        return Decision.REJECTED
    if Verdict.SCALED in verdicts:
        return Decision.SCALED_DOWN
    return Decision.APPROVED


class RiskManager:
    def __init__(self, limits: RiskLimits) -> None:
        self.limits = limits

    def evaluate(
        self,
        plan: PlanRequest,
        account: AccountSnapshot,
        market: MarketLimits,
        *,
        halt: HaltKind | None = None,
    ) -> RiskReport:
        # A mismatch is a wiring bug in the caller, not bad plan input: the step and minimums
        # would belong to another market, so no report computed from them could be trusted.
        if plan.symbol != market.symbol:
            raise ValueError(f"plan symbol {plan.symbol!r} does not match market {market.symbol!r}")
        ctx = _Context(plan=plan, account=account, market=market, limits=self.limits, halt=halt)
        quantity: Decimal | None = plan.quantity
        checks: list[RuleCheck] = []
        # Every rule runs even after a failure, so the report always shows the full picture.
        for rule in _RULE_FUNCTIONS:
            check, quantity = rule(ctx, quantity)
            checks.append(check)
        report_checks = tuple(checks)
        decision = _decide(report_checks)
        approved = decision != Decision.REJECTED and quantity is not None
        return RiskReport(
            decision=decision,
            quantity=quantity if approved and quantity is not None else Decimal(0),
            requested_quantity=plan.quantity,
            checks=report_checks,
        )


# --- daily loss and drawdown halts ----------------------------------------------------------


@dataclass(frozen=True)
class EquityState:
    day: date  # UTC day the day_start_equity belongs to
    day_start_equity: Decimal
    peak_equity: Decimal
    halt: HaltKind | None
    halt_reason: str  # human sentence naming the numbers, "" when not halted


def _utc_day(now: datetime) -> date:
    # A naive datetime would silently pick the server's zone and move the daily reset.
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(f"now must be timezone-aware, got naive {now.isoformat()}")
    return now.astimezone(UTC).date()


def _loss_halt(label: str, reference_name: str, reference: Decimal, equity: Decimal, limit: Decimal) -> str:
    """The halt reason when `reference - equity` reached `limit` of `reference`, else ""."""
    if reference <= 0:
        return ""  # no fraction of nothing: an empty account has nothing left to protect
    loss = reference - equity
    if loss < reference * limit:
        return ""
    return (
        f"{label} {_money(loss)} ({loss / reference * 100:.2f}% of {reference_name} {_money(reference)}) "
        f"reached the {limit * 100:.2f}% limit"
    )


def equity_update(state: EquityState | None, *, equity: Decimal, now: datetime, limits: RiskLimits) -> EquityState:
    today = _utc_day(now)
    if state is None:
        state = EquityState(day=today, day_start_equity=equity, peak_equity=equity, halt=None, halt_reason="")
    elif today > state.day:
        # Only a daily-loss halt is about "today"; a drawdown, operator or global halt waits for
        # a person. A clock that went backwards (today < state.day) changes nothing.
        lift = state.halt == HaltKind.DAILY_LOSS and limits.reset_daily_halt_next_day
        state = replace(
            state,
            day=today,
            day_start_equity=equity,
            halt=None if lift else state.halt,
            halt_reason="" if lift else state.halt_reason,
        )
    state = replace(state, peak_equity=max(state.peak_equity, equity))
    if state.halt is not None:
        return state  # the first reason wins: it is the one the operator has to read
    # Drawdown first: when both trip at once, the halt that does not lift itself is the safer one.
    drawdown = _loss_halt("drawdown", "the equity peak", state.peak_equity, equity, limits.max_drawdown)
    if drawdown:
        return replace(state, halt=HaltKind.DRAWDOWN, halt_reason=drawdown)
    daily = _loss_halt(
        "daily loss",
        "the day's starting equity",
        state.day_start_equity,
        equity,
        limits.daily_loss_limit,
    )
    if daily:
        return replace(state, halt=HaltKind.DAILY_LOSS, halt_reason=daily)
    return state


def halt_reset(state: EquityState, *, equity: Decimal, now: datetime) -> EquityState:
    """The operator's reset: no halt, and both loss references restart from today's equity.

    Restarting the peak too is deliberate: otherwise the very next equity_update would find the
    same drawdown and halt again.
    """
    return replace(state, day=_utc_day(now), day_start_equity=equity, peak_equity=equity, halt=None, halt_reason="")
