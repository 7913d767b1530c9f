from __future__ import annotations

from django.db.models import QuerySet

from apps.exchanges.models import ExchangeAccount

ORDERINGS = ("name", "-name", "exchange", "-exchange", "mode", "-mode", "created_at", "-created_at")


def exchange_account_list(
    *, exchange: str | None = None, mode: str | None = None, search: str | None = None, ordering: str = "name"
) -> QuerySet[ExchangeAccount]:
    accounts = ExchangeAccount.objects.select_related("api_key", "api_secret", "passphrase")
    if exchange:
        accounts = accounts.filter(exchange=exchange)
    if mode:
        accounts = accounts.filter(mode=mode)
    if search:
        accounts = accounts.filter(name__icontains=search)
    return accounts.order_by(ordering if ordering in ORDERINGS else "name")
