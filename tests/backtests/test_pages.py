"""/backtests/ pages and file downloads; the admin's read-only view."""

from __future__ import annotations

from pathlib import Path

import pytest

from apps.backtests.models import BacktestRun
from tests.backtests.conftest import SYMBOL, run_backtest_command
from tests.backtests.factories import BacktestRunFactory
from tests.strategies.factories import client_for

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def stored_run(market, tmp_path) -> BacktestRun:
    run_backtest_command("--strategy", "rsi_mean_reversion", "--symbol", SYMBOL, "--sl-pct", "2", out=tmp_path / "run")
    return BacktestRun.objects.get()


def test_list_and_detail_for_a_viewer(viewer, stored_run) -> None:
    client = client_for(viewer)

    listing = client.get("/backtests/")
    assert listing.status_code == 200
    assert f'href="/backtests/{stored_run.pk}/"' in listing.content.decode()

    detail = client.get(f"/backtests/{stored_run.pk}/")
    page = detail.content.decode()
    assert detail.status_code == 200
    assert 'id="run-metrics"' in page and 'id="run-parameters"' in page
    assert "Sharpe" in page and "Profit factor" in page
    for kind in ("report", "trades", "equity", "metrics"):
        assert f"/backtests/{stored_run.pk}/files/{kind}/" in page


@pytest.mark.parametrize(
    ("kind", "content_type", "attachment"),
    [
        ("trades", "text/csv", True),
        ("equity", "text/csv", True),
        ("metrics", "application/json", True),
        ("report", "text/html; charset=utf-8", False),
    ],
)
def test_files_download_from_the_stored_paths(viewer, stored_run, kind, content_type, attachment) -> None:
    response = client_for(viewer).get(f"/backtests/{stored_run.pk}/files/{kind}/")

    assert response.status_code == 200
    assert response["Content-Type"] == content_type
    assert b"".join(response.streaming_content) == Path(stored_run.output_path(kind)).read_bytes()
    assert response["Content-Disposition"].startswith("attachment" if attachment else "inline")
    if kind == "report":
        assert "default-src 'none'" in response["Content-Security-Policy"]


def test_unknown_runs_kinds_and_vanished_files_are_404(viewer, stored_run) -> None:
    client = client_for(viewer)
    missing = BacktestRun.objects.order_by("-pk").first().pk + 1

    assert client.get(f"/backtests/{missing}/").status_code == 404
    assert client.get(f"/backtests/{missing}/files/report/").status_code == 404
    assert client.get(f"/backtests/{stored_run.pk}/files/passwd/").status_code == 404
    Path(stored_run.trades_path).unlink()
    assert client.get(f"/backtests/{stored_run.pk}/files/trades/").status_code == 404
    assert "Trades (CSV): missing" in client.get(f"/backtests/{stored_run.pk}/").content.decode()


def test_pages_need_a_login_and_a_role(outsider, stored_run) -> None:
    for url in ("/backtests/", f"/backtests/{stored_run.pk}/", f"/backtests/{stored_run.pk}/files/report/"):
        assert client_for(None).get(url).status_code == 302
        assert client_for(outsider).get(url).status_code == 403


def test_post_is_refused(viewer, stored_run) -> None:
    assert client_for(viewer).post("/backtests/").status_code == 405


def test_list_filters_sorts_and_paginates(viewer) -> None:
    for index in range(30):
        BacktestRunFactory(strategy_name=f"run {index:02d}", sharpe=float(index), timeframe="1h")
    BacktestRunFactory(strategy_name="the daily one", timeframe="1d", sharpe=None)
    client = client_for(viewer)

    first = client.get("/backtests/", {"ordering": "-sharpe"}).content.decode()
    assert first.index("run 29") < first.index("run 28")
    assert "page 1 of 2" in first
    second = client.get("/backtests/", {"ordering": "-sharpe", "page": 2}).content.decode()
    assert "run 00" in second and "the daily one" in second  # no Sharpe: last
    assert "ordering=-sharpe&amp;page=1" in second

    daily = client.get("/backtests/", {"timeframe": "1d"}).content.decode()
    assert "the daily one" in daily and "run 01" not in daily
    searched = client.get("/backtests/", {"q": "run 1"}).content.decode()
    assert "run 12" in searched and "run 21" not in searched


def test_htmx_gets_only_the_table(viewer) -> None:
    BacktestRunFactory()
    body = client_for(viewer).get("/backtests/", **HTMX).content.decode()
    assert body.lstrip().startswith('<div id="run-table">')
    assert "<nav" not in body


def test_admin_lists_and_shows_but_does_not_add_or_change(admin_user, stored_run) -> None:
    client = client_for(admin_user)

    listing = client.get("/admin/backtests/backtestrun/", {"q": "rsi"})
    assert listing.status_code == 200 and "rsi_mean_reversion" in listing.content.decode()
    assert client.get("/admin/backtests/backtestrun/", {"timeframe__exact": "1h"}).status_code == 200
    change = client.get(f"/admin/backtests/backtestrun/{stored_run.pk}/change/")
    assert change.status_code == 200
    assert 'name="strategy_name"' not in change.content.decode()  # read-only: no inputs
    assert client.get("/admin/backtests/backtestrun/add/").status_code == 403
    before = BacktestRun.objects.get().strategy_name
    client.post(f"/admin/backtests/backtestrun/{stored_run.pk}/change/", {"strategy_name": "renamed"})
    assert BacktestRun.objects.get().strategy_name == before


def test_api_lists_and_shows_runs(viewer, stored_run) -> None:
    BacktestRunFactory(strategy_name="other", timeframe="1d")
    client = client_for(viewer)

    listing = client.get("/api/v1/backtests", {"timeframe": "1h"}).json()
    assert listing["count"] == 1
    item = listing["items"][0]
    assert (item["id"], item["strategy_name"], item["bars"], item["sl_pct"]) == (
        stored_run.pk,
        "rsi_mean_reversion",
        600,
        "2.000000",
    )
    detail = client.get(f"/api/v1/backtests/{stored_run.pk}").json()
    assert detail["metrics"] == stored_run.metrics
    assert detail["files"]["report"] == f"/backtests/{stored_run.pk}/files/report/"
    assert "report_path" not in detail  # server paths stay on the server
    assert client.get("/api/v1/backtests/999999").status_code == 404
    assert client.get("/api/v1/backtests", {"ordering": "luck"}).status_code == 422
    assert client_for(None).get("/api/v1/backtests").status_code == 401
