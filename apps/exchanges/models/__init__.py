from apps.exchanges.models.accounts import ExchangeAccount
from apps.exchanges.models.paper import PAPER_DIGITS, PaperAccountState, PaperFill, PaperOrder, PaperPosition
from apps.exchanges.models.trading import (
    OPEN_PLAN_STATUSES,
    PLAN_TRANSITIONS,
    TERMINAL_PLAN_STATUSES,
    Alert,
    Execution,
    PlanEvent,
    PlanStatus,
    Side,
    TradePlan,
)

__all__ = [
    "OPEN_PLAN_STATUSES",
    "PAPER_DIGITS",
    "PLAN_TRANSITIONS",
    "TERMINAL_PLAN_STATUSES",
    "Alert",
    "ExchangeAccount",
    "Execution",
    "PaperAccountState",
    "PaperFill",
    "PaperOrder",
    "PaperPosition",
    "PlanEvent",
    "PlanStatus",
    "Side",
    "TradePlan",
]
