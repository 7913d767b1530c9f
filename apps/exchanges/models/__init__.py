from apps.exchanges.models.accounts import ExchangeAccount
from apps.exchanges.models.paper import PAPER_DIGITS, PaperAccountState, PaperFill, PaperOrder, PaperPosition

__all__ = [
    "PAPER_DIGITS",
    "ExchangeAccount",
    "PaperAccountState",
    "PaperFill",
    "PaperOrder",
    "PaperPosition",
]
