"""/models/ pages and the usage API: usage per UTC day (checked against numpy's nearest-rank percentile and
plain sums), test connection for admins only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np
import pytest
from django.test import Client
from django.utils import timezone

from apps.ai.models import ModelCall
from apps.ai.services import model_call_record
from tests.ai.scripted_server import answer, error

pytestmark = pytest.mark.django_db


def login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def calls(remote_config) -> list[tuple[int, str, int]]:
    """Yesterday: 20 calls with spread latencies, 3 of them failures; today: 2 calls."""
    rows = [(latency, "ok" if index >= 3 else "timeout", 1) for index, latency in enumerate(range(100, 2100, 100))]
    yesterday = timezone.now().astimezone(UTC) - timedelta(days=1)
    for latency, outcome, days_ago in rows + [(50, "ok", 0), (70, "invalid", 0)]:
        call = model_call_record(
            config=remote_config,
            caller="trader:1",
            outcome=outcome,
            tokens_in=1000,
            tokens_out=100,
            cost=Decimal("0.0028"),
            latency_ms=latency,
        )
        if days_ago:
            ModelCall.objects.filter(pk=call.pk).update(created_at=yesterday)
    return rows


def test_usage_api_per_day(remote_config, calls, viewer) -> None:
    body = login(viewer).get(f"/api/v1/model-configs/{remote_config.pk}/usage").json()

    today, yesterday = body["days"]
    latencies = [latency for latency, _, _ in calls]
    assert yesterday["p95_latency_ms"] == int(np.percentile(latencies, 95, method="inverted_cdf"))
    assert (yesterday["calls"], yesterday["failures"], yesterday["tokens_in"]) == (20, 3, 20 * 1000)
    assert Decimal(yesterday["cost"]) == Decimal("0.0028") * 20
    assert (today["calls"], today["failures"]) == (2, 1)
    assert (body["today_calls"], body["today_tokens"]) == (2, 2 * 1100)


def test_the_model_page_shows_usage_and_hides_the_test_button_from_viewers(remote_config, calls, viewer) -> None:
    page = login(viewer).get(f"/models/{remote_config.pk}/").content.decode()

    assert "Usage per day" in page and "1900 ms" in page  # yesterday's p95 of 100..2000 ms
    assert 'id="test-connection"' not in page
    assert "sk-scripted-secret-123" not in page
    assert login(viewer).get("/models/").status_code == 200


def test_test_connection_button_for_admins(scripted, remote_config, admin_user, operator) -> None:
    url = f"/models/{remote_config.pk}/test/"
    assert login(operator).post(url).status_code == 403
    assert 'id="test-connection"' in login(admin_user).get(f"/models/{remote_config.pk}/").content.decode()
    scripted.script(answer('{"status": "ok"}'), error(401, "Incorrect API key provided: sk-scripted-secret-123"))

    connected = login(admin_user).post(url, HTTP_HX_REQUEST="true").content.decode()
    refused = login(admin_user).post(url, HTTP_HX_REQUEST="true").content.decode()

    assert connected.startswith('<div id="test-result"') and "connected" in connected
    assert "{&quot;status&quot;: &quot;ok&quot;}" in connected
    assert "refused the API key (HTTP 401)" in refused
    assert "sk-scripted-secret-123" not in refused


def test_the_trade_plan_schema_endpoint(viewer) -> None:
    schema = login(viewer).get("/api/v1/model-configs/schema/trade-plan").json()

    assert schema["additionalProperties"] is False
    assert schema["required"] == list(schema["properties"])
    assert schema["properties"]["reason"]["maxLength"] == 280


def test_usage_of_an_unknown_config_is_404(viewer) -> None:
    assert login(viewer).get("/api/v1/model-configs/999999/usage").status_code == 404
    assert login(viewer).get("/models/999999/").status_code == 404


def test_the_today_line_counts_from_midnight_utc(remote_config, viewer) -> None:
    call = model_call_record(config=remote_config, caller="x", outcome="ok", tokens_in=7)
    ModelCall.objects.filter(pk=call.pk).update(created_at=datetime(2020, 1, 1, tzinfo=UTC))

    page = login(viewer).get(f"/models/{remote_config.pk}/").content.decode()

    assert "0 calls · 0 tokens" in page
