from apps.traders.models.alerts import (
    LEVEL_RANK,
    RULE_DEFAULTS,
    THRESHOLD_MEANING,
    Alert,
    AlertChannel,
    AlertDelivery,
    AlertRule,
)
from apps.traders.models.approvals import ChangeRequest
from apps.traders.models.plans import (
    OPEN_PLAN_STATUSES,
    PLAN_TRANSITIONS,
    TERMINAL_PLAN_STATUSES,
    Execution,
    PlanEvent,
    PlanStatus,
    Side,
    TradePlan,
)
from apps.traders.models.pnl import EquitySnapshot
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
    "LEVEL_RANK",
    "RULE_DEFAULTS",
    "THRESHOLD_MEANING",
    "AlertChannel",
    "AlertDelivery",
    "AlertRule",
    "DEFAULT_TEMPLATE_NAME",
    "HALT_CHOICES",
    "OPEN_PLAN_STATUSES",
    "PLAN_TRANSITIONS",
    "TERMINAL_PLAN_STATUSES",
    "Alert",
    "ChangeRequest",
    "EquitySnapshot",
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
