from apps.traders.models.plans import (
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
from apps.traders.models.prompts import DEFAULT_TEMPLATE_NAME, PromptTemplate
from apps.traders.models.traders import (
    ACTIVE_TRADER_STATUSES,
    HALT_CHOICES,
    HaltEvent,
    KillSwitch,
    RiskProfile,
    Trader,
    TraderRiskState,
)

__all__ = [
    "ACTIVE_TRADER_STATUSES",
    "DEFAULT_TEMPLATE_NAME",
    "HALT_CHOICES",
    "OPEN_PLAN_STATUSES",
    "PLAN_TRANSITIONS",
    "TERMINAL_PLAN_STATUSES",
    "Alert",
    "Execution",
    "HaltEvent",
    "KillSwitch",
    "PlanEvent",
    "PlanStatus",
    "PromptTemplate",
    "RiskProfile",
    "Side",
    "TradePlan",
    "Trader",
    "TraderRiskState",
]
