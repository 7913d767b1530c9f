"""API rate limits: per key, per user, stricter on trading endpoints; 429 with Retry-After, and the
client gets through again once the window has passed. With REDIS_URL the counts are in Redis, where
another process (here: a separate connection) sees them."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from django.core.cache import cache, caches
from django.test import Client, RequestFactory

from apps.core.models import ApiKey
from apps.core.throttles import ApiKeyRateThrottle
from tests.core.api_key_helpers import api_client, bearer, new_key
from tests.factories import TraderFactory
from tests.traders.conftest import trade_plan_for

pytestmark = pytest.mark.django_db

TRADERS = "/api/v1/traders"
WINDOW_SECONDS = 2


@pytest.fixture(autouse=True)
def low_limits(settings) -> Iterator[None]:
    settings.API_RATE_LIMITS = {
        "api_key": f"4/{WINDOW_SECONDS}s",
        "user": f"6/{WINDOW_SECONDS}s",
        "trade": f"2/{WINDOW_SECONDS}s",
    }
    cache.clear()
    yield
    cache.clear()


def statuses(client: Client, count: int, url: str = TRADERS, method: str = "get", **kwargs) -> list[int]:
    return [getattr(client, method)(url, **kwargs).status_code for _ in range(count)]


def test_a_key_over_its_limit_gets_429_with_retry_after_and_recovers(viewer) -> None:
    key = new_key(viewer)
    client = api_client()
    assert statuses(client, 4, headers=bearer(key)) == [200] * 4
    refused = client.get(TRADERS, headers=bearer(key))
    assert refused.status_code == 429
    assert refused.json() == {"detail": "Too many requests."}
    assert 1 <= int(refused["Retry-After"]) <= WINDOW_SECONDS

    time.sleep(int(refused["Retry-After"]) + 0.1)
    assert client.get(TRADERS, headers=bearer(key)).status_code == 200


def test_each_key_has_its_own_limit_within_its_owners(viewer) -> None:
    first, second = new_key(viewer, name="first"), new_key(viewer, name="second")
    client = api_client()
    assert statuses(client, 5, headers=bearer(first)) == [200, 200, 200, 200, 429]
    # The second key has its own budget, but the owner's (6) is nearly spent: ninja checks every limit
    # on each request, so the first key's refused request counted for its owner too.
    assert statuses(client, 2, headers=bearer(second)) == [200, 429]


def test_the_user_limit_counts_the_session_and_keys_together(viewer, operator) -> None:
    key = new_key(viewer)
    session = Client()
    session.force_login(viewer)
    assert statuses(session, 4) == [200] * 4
    assert statuses(api_client(), 3, headers=bearer(key)) == [200, 200, 429]
    assert session.get(TRADERS).status_code == 429

    other = Client()
    other.force_login(operator)
    assert other.get(TRADERS).status_code == 200, "another user is not affected"


def test_trading_endpoints_are_stricter(operator) -> None:
    key = new_key(operator, scope="trade")
    plans = [trade_plan_for(TraderFactory()) for _ in range(3)]
    client = api_client()
    answers = [client.post(f"/api/v1/trade/plans/{plan.pk}/cancel", headers=bearer(key)) for plan in plans]
    assert [answer.status_code for answer in answers] == [200, 200, 429]
    assert int(answers[-1]["Retry-After"]) >= 1
    plans[-1].refresh_from_db()
    assert plans[-1].status == "previewed", "a refused request changes nothing"
    # Reading is not held back by the trade limit (3 of the key's 4 requests are used).
    assert client.get(TRADERS, headers=bearer(key)).status_code == 200


def test_starting_a_trader_is_a_trade_endpoint(operator) -> None:
    key = new_key(operator, scope="trade")
    traders = [TraderFactory() for _ in range(3)]
    client = api_client()
    codes = [
        client.post(f"/api/v1/traders/{trader.pk}/start", {}, content_type="application/json", headers=bearer(key))
        for trader in traders
    ]
    assert codes[-1].status_code == 429
    assert all(answer.status_code != 429 for answer in codes[:2])


def test_the_answer_is_documented() -> None:
    from tradeops.api import api

    operation = api.get_openapi_schema(path_params={})["paths"]["/api/v1/traders"]["get"]
    assert "Retry-After" in operation["responses"][429]["description"]


def test_with_redis_another_process_sees_the_counts(redis_url, viewer, settings) -> None:
    settings.CACHES = {
        **settings.CACHES,
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": redis_url},
    }
    cache.clear()
    key = new_key(viewer)
    assert statuses(
        api_client(),
        5,
        headers=bearer(
            key,
        ),
    ) == [200, 200, 200, 200, 429]

    # A separate connection, as another web process has: it finds the key's budget spent.
    throttle = ApiKeyRateThrottle()
    throttle.cache = caches.create_connection("default")
    request = RequestFactory().get(TRADERS)
    request.auth = ApiKey.objects.get()
    assert not throttle.allow_request(request)
    cache.clear()


def test_the_limits_can_be_turned_off_for_a_gateway_that_limits_itself(viewer, settings) -> None:
    settings.API_RATE_LIMITS_ENABLED = False
    key = new_key(viewer)
    assert statuses(api_client(), 10, headers=bearer(key)) == [200] * 10
