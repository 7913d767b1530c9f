"""Writes of the traders app: risk profiles, traders, halts and the kill switch (traders.py), trade
plans (plans.py), the execution state machine (execution.py), reconciliation with the exchange
(reconcile.py) and operator alerts (alerts.py)."""

from apps.traders.services.traders import (
    DAILY_RESET_REASON,
    MAX_ATR_PERIOD,
    REASON_MAX_LENGTH,
    RISK_PROFILE_FIELDS,
    TRADER_FIELDS,
    kill_switch_engage,
    kill_switch_release,
    risk_profile_create,
    risk_profile_delete,
    risk_profile_update,
    risk_profile_validate,
    trader_create,
    trader_delete,
    trader_halt,
    trader_halt_reset,
    trader_risk_update,
    trader_start,
    trader_stop,
    trader_update,
    trader_validate,
)

__all__ = [
    "DAILY_RESET_REASON",
    "MAX_ATR_PERIOD",
    "REASON_MAX_LENGTH",
    "RISK_PROFILE_FIELDS",
    "TRADER_FIELDS",
    "kill_switch_engage",
    "kill_switch_release",
    "risk_profile_create",
    "risk_profile_delete",
    "risk_profile_update",
    "risk_profile_validate",
    "trader_create",
    "trader_delete",
    "trader_halt",
    "trader_halt_reset",
    "trader_risk_update",
    "trader_start",
    "trader_stop",
    "trader_update",
    "trader_validate",
]
