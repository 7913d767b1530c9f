"""Demo data for a fresh install: a paper account, markets and candles. Safe to run again."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from apps.exchanges.models import ExchangeAccount
from apps.exchanges.services import exchange_account_create
from apps.market.demo import demo_market_data_load
from apps.market.models import ExchangeId
from apps.traders.models import RiskProfile, Trader
from apps.traders.services import risk_profile_create, trader_create

DEMO_ACCOUNT_NAME = "Paper demo (Binance USDT-M)"
DEMO_RISK_PROFILE_NAME = "Standard"
DEMO_TRADER_NAME = "Paper desk"


class Command(BaseCommand):
    help = (
        "Create a paper exchange account, a paper trader (risk profile Standard) and demo markets, and load "
        "candles from ../shared/data "
        "(or a clearly labelled seeded synthetic series when that folder is absent)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        if ExchangeAccount.objects.filter(name=DEMO_ACCOUNT_NAME).exists():
            self.stdout.write(f"Demo account '{DEMO_ACCOUNT_NAME}' already exists.")
        else:
            exchange_account_create(name=DEMO_ACCOUNT_NAME, exchange=ExchangeId.BINANCEUSDM)
            self.stdout.write(self.style.SUCCESS(f"Created paper account '{DEMO_ACCOUNT_NAME}'."))
        self._load_trader()
        demo_market_data_load(shared_data_dir=settings.SHARED_DATA_DIR, stdout=self.stdout)

    def _load_trader(self) -> None:
        profile = RiskProfile.objects.filter(name=DEMO_RISK_PROFILE_NAME).first()
        if profile is None:
            profile = risk_profile_create(name=DEMO_RISK_PROFILE_NAME)
            self.stdout.write(self.style.SUCCESS(f"Created risk profile '{DEMO_RISK_PROFILE_NAME}' (defaults)."))
        if Trader.objects.filter(name=DEMO_TRADER_NAME).exists():
            self.stdout.write(f"Demo trader '{DEMO_TRADER_NAME}' already exists.")
            return
        account = ExchangeAccount.objects.get(name=DEMO_ACCOUNT_NAME)
        trader_create(name=DEMO_TRADER_NAME, account=account, risk_profile=profile)
        self.stdout.write(self.style.SUCCESS(f"Created paper trader '{DEMO_TRADER_NAME}' on '{DEMO_ACCOUNT_NAME}'."))
