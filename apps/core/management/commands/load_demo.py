"""Demo data for a fresh install: a paper account, markets and candles. Safe to run again."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from apps.exchanges.models import ExchangeAccount
from apps.exchanges.services import exchange_account_create
from apps.market.demo import demo_market_data_load
from apps.market.models import ExchangeId

DEMO_ACCOUNT_NAME = "Paper demo (Binance USDT-M)"


class Command(BaseCommand):
    help = (
        "Create a paper exchange account and demo markets, and load candles from ../shared/data "
        "(or a clearly labelled seeded synthetic series when that folder is absent)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        if ExchangeAccount.objects.filter(name=DEMO_ACCOUNT_NAME).exists():
            self.stdout.write(f"Demo account '{DEMO_ACCOUNT_NAME}' already exists.")
        else:
            exchange_account_create(name=DEMO_ACCOUNT_NAME, exchange=ExchangeId.BINANCEUSDM)
            self.stdout.write(self.style.SUCCESS(f"Created paper account '{DEMO_ACCOUNT_NAME}'."))
        demo_market_data_load(shared_data_dir=settings.SHARED_DATA_DIR, stdout=self.stdout)
