from __future__ import annotations

from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone

from apps.market.models import ExchangeId, Market
from apps.news.models import NewsItem, NewsMention, NewsSource


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.django.Password("correct horse battery staple")
    is_staff = True

    @factory.post_generation
    def role(self, create: bool, extracted: str | None, **kwargs: object) -> None:
        """UserFactory(role="operator") puts the user in that role's group; no role: an outsider."""
        if create and extracted:
            self.groups.add(Group.objects.get(name=extracted))


class MarketFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Market
        django_get_or_create = ("exchange", "symbol")

    exchange = ExchangeId.BINANCEUSDM
    symbol = "BTC/USDT:USDT"
    base = "BTC"
    quote = "USDT"
    type = Market.Type.SWAP
    price_precision = Decimal("0.1")
    amount_precision = Decimal("0.001")
    min_amount = Decimal("0.001")
    min_notional = Decimal("100")


# Model names as strings: this file is shared and append-only, so no new imports at its top.
class ExchangeAccountFactory(factory.django.DjangoModelFactory):
    """A plain row (no keys): enough for relations; a live one skips the service's key check."""

    class Meta:
        model = "exchanges.ExchangeAccount"

    name = factory.Sequence(lambda n: f"account {n}")
    exchange = ExchangeId.BINANCEUSDM
    mode = "paper"
    price_source = factory.LazyAttribute(lambda account: "replay" if account.mode == "paper" else "live")


class RiskProfileFactory(factory.django.DjangoModelFactory):
    """The model's defaults (5x, 5,000 per order, 3 % daily loss, 10 % drawdown)."""

    class Meta:
        model = "traders.RiskProfile"

    name = factory.Sequence(lambda n: f"profile {n}")


class TraderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "traders.Trader"

    name = factory.Sequence(lambda n: f"trader {n}")
    account = factory.SubFactory(ExchangeAccountFactory)
    risk_profile = factory.SubFactory(RiskProfileFactory)
    live = False


class NewsSourceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = NewsSource
        django_get_or_create = ("name",)

    name = "Demo feed"
    feed_url = factory.LazyAttribute(lambda source: f"https://{source.name.lower().replace(' ', '-')}.example/feed")


class NewsItemFactory(factory.django.DjangoModelFactory):
    """`assets=["BTC"]` stores the mentions."""

    class Meta:
        model = NewsItem
        skip_postgeneration_save = True

    source = factory.SubFactory(NewsSourceFactory)
    guid = factory.Sequence(lambda n: f"item-{n}")
    url = factory.Sequence(lambda n: f"https://news.example/{n}")
    title = factory.Sequence(lambda n: f"Headline {n}")
    title_key = factory.LazyAttribute(lambda item: item.title.lower())
    published_at = factory.LazyFunction(timezone.now)
    fetched_at = factory.LazyFunction(timezone.now)
    dedup_key = factory.Sequence(lambda n: f"{n:064d}")

    @factory.post_generation
    def assets(self, create: bool, extracted: list[str] | None, **kwargs: object) -> None:
        if create and extracted:
            NewsMention.objects.bulk_create([NewsMention(item=self, asset=asset) for asset in extracted])
