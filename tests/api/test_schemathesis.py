"""Property test of the whole REST API: schemathesis generates requests from the OpenAPI document
(valid and invalid: wrong types, out-of-range numbers, bodies that are not objects, ...) and sends
them as an admin. No answer may be a server error, except a 503 an endpoint documents for an exchange
it cannot reach (exchange and model clients here point at a closed local port; nothing leaves 127.0.0.1).

Deterministic (derandomized) and bounded: SCHEMATHESIS_EXAMPLES examples per operation (default 8),
so the whole run stays around a minute on SQLite. Raise it by hand to hunt for rarer failures.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import Client
from hypothesis import HealthCheck, settings

from apps.ai.router import override_remote_base_url
from apps.audit.models import DecisionLog
from apps.exchanges.adapters import factory
from apps.exchanges.adapters.retry import RetryPolicy
from apps.signals.models import Signal
from tests.factories import NewsItemFactory, TraderFactory
from tests.news.helpers import scored
from tests.strategies.factories import StrategyFactory
from tests.traders.conftest import T0, trade_plan_for
from tradeops.api import api

EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "8"))
CSRF_TOKEN = "schemathesis" * 2 + "csrftest"  # 32 letters, as Django requires; cookie and header agree
UNREACHABLE = "http://127.0.0.1:9"  # the discard port: connection refused at once

schema = schemathesis.openapi.from_dict(api.get_openapi_schema(path_params={}))
schema.app = WSGIHandler()


def _nowhere(client: Any) -> None:
    urls = client.urls["api"]
    client.urls["api"] = {key: UNREACHABLE for key in urls} if isinstance(urls, dict) else UNREACHABLE


@pytest.fixture
def no_exchange() -> Iterator[None]:
    with factory.override_client(_nowhere, timeout_ms=500, retry=RetryPolicy(attempts=1)):
        yield


@pytest.fixture
def no_model_provider() -> Iterator[None]:
    """Model configs' test connection reaches no provider: remote clients point at the closed port."""
    with override_remote_base_url(UNREACHABLE + "/v1"):
        yield


@pytest.fixture
def same_connection() -> Iterator[None]:
    """Keep the test's database connection open across requests, as django.test.Client does: the
    WSGI handler would otherwise close it after each one (and with it the test's transaction)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def desk(db) -> None:
    """Rows that other rows use, so that deletes meet 409s and reads (signals, decisions) have something to show."""
    plan = trade_plan_for(TraderFactory())
    strategy = StrategyFactory()  # its spec names BTC/USDT:USDT, the plan's market
    Signal.objects.create(
        strategy=strategy,
        strategy_version=1,
        market=plan.market,
        timeframe="1h",
        candle_open_time=T0,
        direction=Signal.Direction.LONG,
        status=Signal.Status.EMITTED,
    )
    DecisionLog.objects.create(
        trader=plan.trader,
        market=plan.market,
        timeframe="1h",
        candle_open_time=T0,
        mode="rules",
        action=DecisionLog.Action.ENTER_LONG,
        reason="close below 19000",
        plan=plan,
        outcome=DecisionLog.Outcome.TRADED,
    )
    # A scored headline on the plan's asset, so that the sentiment series has points to compute.
    scored(NewsItemFactory(published_at=T0, assets=[plan.market.base]), 0.5)


@pytest.fixture
def admin_cookies(client: Client, admin_user) -> dict[str, str]:
    client.force_login(admin_user)
    return {"sessionid": client.cookies["sessionid"].value, "csrftoken": CSRF_TOKEN}


def _documented(case: Any, status: int) -> bool:
    return str(status) in case.operation.definition.raw.get("responses", {})


@schema.parametrize()
@settings(max_examples=EXAMPLES, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_errors(case, same_connection, desk, no_exchange, no_model_provider, admin_cookies) -> None:
    # The session cookie logs this test in; a generated Bearer key (the schema documents both schemes)
    # would decide on its own and be refused with 401.
    if case.headers:
        case.headers.pop("Authorization", None)
    response = case.call(cookies=admin_cookies, headers={"X-CSRFToken": CSRF_TOKEN})
    # A 401 or a CSRF refusal would mean the test is not logged in, and everything below is moot.
    assert response.status_code != 401 and b"CSRF" not in response.content, response.text
    if response.status_code == 503:
        assert _documented(case, 503), f"undocumented 503 from {case.method} {case.formatted_path}"
        return
    assert response.status_code < 500, (case.method, case.formatted_path, case.query, case.body, response.text)
