"""What the traders app writes into the decision log besides the cycle's own rows."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

from apps.audit.models import DecisionLog
from apps.traders.models import TradePlan
from apps.traders.selectors import trade_plan_result

CENT = Decimal("0.01")


def decision_pnl_record(*, plan: TradePlan) -> int:
    """A completed plan's realised PnL onto the decision that entered it (the exit's decision keeps
    none, so the stats count each trade once). Returns the rows updated."""
    result = trade_plan_result(plan=plan)
    if result.realised_pnl is None:
        return 0
    entries = (DecisionLog.Action.ENTER_LONG, DecisionLog.Action.ENTER_SHORT)
    pnl = result.realised_pnl.quantize(CENT, rounding=ROUND_HALF_EVEN)
    return DecisionLog.objects.filter(plan=plan, action__in=entries).update(realised_pnl=pnl)
