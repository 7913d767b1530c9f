from __future__ import annotations

from dataclasses import dataclass

from apps.ai.models import ModelConfig
from apps.exchanges.models import ExchangeAccount
from apps.market.models import Candle, Market


@dataclass(frozen=True)
class Overview:
    exchange_accounts: int
    model_configs: int
    markets: int
    candles: int


def overview() -> Overview:
    return Overview(
        exchange_accounts=ExchangeAccount.objects.count(),
        model_configs=ModelConfig.objects.count(),
        markets=Market.objects.count(),
        candles=Candle.objects.count(),
    )
