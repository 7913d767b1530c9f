"""/api/v1/chains: a chain as JSON, a date range as JSON lines, and `manage.py chains_export`; none
ever holds a secret stored in an exchange account, a model config or an alert channel."""

from __future__ import annotations

import json
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from apps.audit.models import DecisionLog
from apps.traders.models import TradePlan
from tests.traders.chains.conftest import SECRETS
from tests.traders.conftest import client_for

pytestmark = pytest.mark.django_db
URL = "/api/v1/chains"


def lines(response) -> list[dict]:
    body = b"".join(response.streaming_content).decode()
    assert body.endswith("\n")
    return [json.loads(line) for line in body.splitlines()]


def test_a_plan_chain_as_json(round_trip, viewer) -> None:
    plan = TradePlan.objects.get()
    response = client_for(viewer).get(f"{URL}/plan/{plan.pk}")
    assert response.status_code == 200
    chain = response.json()
    assert (chain["kind"], chain["id"], chain["plan_id"], chain["trader"]) == ("plan", plan.pk, plan.pk, "RSI desk")
    kinds = [step["kind"] for step in chain["steps"]]
    assert kinds[:6] == ["candle", "indicators", "signal", "decision", "plan", "risk"] and kinds[-1] == "pnl"
    assert {"order", "fill", "event"} <= set(kinds)
    assert chain["steps"][-1]["data"]["realised_pnl"] is not None


def test_unknown_chains_and_kinds_are_refused(round_trip, viewer) -> None:
    client = client_for(viewer)
    assert client.get(f"{URL}/plan/999999").json() == {"detail": "no plan with id 999999"}
    assert client.get(f"{URL}/plan/999999").status_code == 404
    assert client.get(f"{URL}/trade/1").status_code == 422
    assert client_for(None).get(f"{URL}/plan/1").status_code == 401


def test_a_range_streams_one_chain_per_line_oldest_first(round_trip, viewer) -> None:
    now = timezone.now()
    start, end = (now - timedelta(hours=1)).isoformat(), (now + timedelta(minutes=1)).isoformat()
    response = client_for(viewer).get(URL, {"start": start, "end": end})
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"] == "application/x-ndjson"
    chains = lines(response)
    plan = TradePlan.objects.get()
    holds = DecisionLog.objects.filter(plan__isnull=True).order_by("decided_at")
    expected = sorted([(plan.created_at, "plan", plan.pk)] + [(d.decided_at, "decision", d.pk) for d in holds])
    assert [(chain["kind"], chain["id"]) for chain in chains] == [(kind, pk) for _at, kind, pk in expected]


def test_a_range_must_be_given_and_ordered(viewer) -> None:
    client = client_for(viewer)
    missing = client.get(URL, {"start": "2026-01-01T00:00:00Z"})
    assert missing.status_code == 422
    assert [error["loc"] for error in missing.json()["detail"]] == [["query", "end"]]
    backwards = client.get(URL, {"start": "2026-01-02T00:00:00Z", "end": "2026-01-01T00:00:00Z"})
    assert backwards.status_code == 422 and "must be after start" in backwards.content.decode()


def test_the_command_writes_the_same_lines_to_a_file(round_trip, tmp_path, viewer) -> None:
    now = timezone.now()
    start, end = (now - timedelta(hours=1)).isoformat(), (now + timedelta(minutes=1)).isoformat()
    output = tmp_path / "chains.jsonl"
    err = StringIO()
    call_command("chains_export", "--start", start, "--end", end, "--output", str(output), stderr=err)
    written = output.read_text().splitlines()
    assert err.getvalue().strip() == f"4 chains written to {output}"
    from_api = lines(client_for(viewer).get(URL, {"start": start, "end": end}))
    assert [json.loads(line) for line in written] == from_api
    out = StringIO()
    call_command("chains_export", "--start", start, "--end", end, stdout=out)
    assert out.getvalue().splitlines() == written


def test_the_command_refuses_a_backwards_range_and_a_bad_time(db) -> None:
    with pytest.raises(CommandError, match=r"--end \(2026-01-01T00:00:00\+00:00\) must be after --start"):
        call_command("chains_export", "--start", "2026-01-02", "--end", "2026-01-01")
    with pytest.raises(CommandError, match="time"):
        call_command("chains_export", "--start", "yesterday", "--end", "2026-01-01")


def test_no_secret_is_in_a_chain_its_export_or_its_page(round_trip, secrets_everywhere, viewer, operator) -> None:
    now = timezone.now()
    start, end = (now - timedelta(hours=1)).isoformat(), (now + timedelta(minutes=1)).isoformat()
    client = client_for(viewer)
    plan = TradePlan.objects.get()
    texts = [
        client.get(f"{URL}/plan/{plan.pk}").content.decode(),
        "".join(json.dumps(chain) for chain in lines(client.get(URL, {"start": start, "end": end}))),
        client_for(operator).get(f"/chains/plan/{plan.pk}/").content.decode(),
        client.get("/chains/").content.decode(),
    ]
    out = StringIO()
    call_command("chains_export", "--start", start, "--end", end, stdout=out)
    texts.append(out.getvalue())
    for decision in DecisionLog.objects.all():
        texts.append(client.get(f"{URL}/decision/{decision.pk}").content.decode())
    assert len(lines(client.get(URL, {"start": start, "end": end}))) == 4
    for text in texts:
        assert not [secret for secret in SECRETS if secret in text]
