"""/signals/ pages, /api/v1/signals and the admin: every role reads, filters, pages; nobody else does."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client

from apps.signals.models import Signal
from tests.factories import MarketFactory
from tests.signals.helpers import enabled_strategy

pytestmark = pytest.mark.django_db

START = datetime(2024, 3, 1, tzinfo=UTC)
API = "/api/v1/signals"


@pytest.fixture
def signals():
    """Signals of two strategies on two markets, one a minute, newest last; every third suppressed."""
    rsi = enabled_strategy("rsi_mean_reversion", name="RSI")
    ema = enabled_strategy("ema_trend", name="EMA")
    btc = MarketFactory()
    eth = MarketFactory(symbol="ETH/USDT:USDT", base="ETH")
    rows = []
    for index in range(60):
        rows.append(
            Signal(
                strategy=rsi if index % 2 == 0 else ema,
                strategy_version=1,
                market=btc if index < 40 else eth,
                timeframe="1m",
                candle_open_time=START + timedelta(minutes=index),
                direction=[Signal.Direction.LONG, Signal.Direction.SHORT, Signal.Direction.EXIT][index % 3],
                status=Signal.Status.SUPPRESSED if index % 3 == 2 else Signal.Status.EMITTED,
                inputs={"close": 100.0 + index, "rsi_14": None if index == 0 else 25.5},
            )
        )
    Signal.objects.bulk_create(rows)
    return {"rsi": rsi, "ema": ema, "btc": btc, "eth": eth}


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_list_page_shows_newest_first_with_counts(viewer, signals) -> None:
    response = logged_in(viewer).get("/signals/")

    assert response.status_code == 200
    page = list(response.context["page"])
    assert len(page) == 50 and page[0].candle_open_time == START + timedelta(minutes=59)
    assert [s.candle_open_time for s in page] == sorted((s.candle_open_time for s in page), reverse=True)
    counts = {row.strategy_name: (row.emitted, row.suppressed) for row in response.context["counts"]}
    assert counts == {"RSI": (20, 10), "EMA": (20, 10)}
    html = response.content.decode()
    assert 'id="signal-results"' in html and 'id="signal-counts"' in html and "Suppressed by the cooldown" in html
    assert "page 1 of 2 (60 signals)" in html
    second = logged_in(viewer).get("/signals/", {"page": 2})
    assert len(second.context["page"]) == 10


def test_the_list_page_filters(viewer, signals) -> None:
    client = logged_in(viewer)
    query = {
        "strategy": signals["rsi"].pk,
        "market": signals["btc"].pk,
        "status": "emitted",
        "since": "2024-03-01T00:10",
        "until": "2024-03-01T00:30",
    }

    response = client.get("/signals/", query)

    rows = list(response.context["page"])
    minutes = [int((s.candle_open_time - START).total_seconds() // 60) for s in rows]
    assert minutes == [m for m in range(29, 9, -1) if m % 2 == 0 and m % 3 != 2]
    # Counts ignore the status filter, so the suppressed column still says how many were held back.
    assert [(c.emitted, c.suppressed) for c in response.context["counts"]] == [(len(rows), 3)]
    direction = client.get("/signals/", {"direction": "exit", "timeframe": "1m"}).context["page"]
    assert {s.direction for s in direction} == {"exit"}
    # Values that do not parse are ignored rather than failing the page.
    assert client.get("/signals/", {"strategy": "x", "since": "yesterday", "status": "?"}).status_code == 200


def test_htmx_gets_the_results_partial(viewer, signals) -> None:
    response = logged_in(viewer).get("/signals/", {"direction": "long"}, HTTP_HX_REQUEST="true")

    html = response.content.decode()
    assert response.status_code == 200
    assert html.startswith('<div id="signal-results"') and "<h1>" not in html


def test_the_detail_page_shows_the_inputs(viewer, signals) -> None:
    signal = Signal.objects.get(candle_open_time=START)

    response = logged_in(viewer).get(f"/signals/{signal.pk}/")

    html = response.content.decode()
    assert response.status_code == 200
    # The close at the market's tick (0.1), not as the float the rules saw (100.0).
    assert '<td><code>close</code></td><td class="num">100</td>' in html
    assert "<code>rsi_14</code>" in html and "—" in html  # no value yet
    assert "RSI" in html and "rules v1" in html
    assert logged_in(viewer).get("/signals/999999/").status_code == 404


def test_page_access(client, outsider, signals) -> None:
    signal = Signal.objects.first()
    for url in ("/signals/", f"/signals/{signal.pk}/"):
        anonymous = client.get(url)
        assert anonymous.status_code == 302 and anonymous.url.startswith("/login/")
        assert logged_in(outsider).get(url).status_code == 403


def test_the_api_lists_filters_and_pages(viewer, signals) -> None:
    client = logged_in(viewer)

    everything = client.get(API).json()
    paged = client.get(API, {"limit": 5, "offset": 5}).json()
    eth_suppressed = client.get(API, {"market": signals["eth"].pk, "status": "suppressed"}).json()
    window = client.get(API, {"since": "2024-03-01T00:05:00Z", "until": "2024-03-01T00:08:00"}).json()
    oldest = client.get(API, {"ordering": "candle_open_time", "limit": 1}).json()

    assert everything["count"] == 60
    first = everything["items"][0]
    assert first["candle_open_time"] == "2024-03-01T00:59:00Z"
    assert {key: first[key] for key in ("strategy_name", "market_symbol", "exchange", "timeframe")} == {
        "strategy_name": "EMA",
        "market_symbol": "ETH/USDT:USDT",
        "exchange": "binanceusdm",
        "timeframe": "1m",
    }
    assert [item["candle_open_time"][14:16] for item in paged["items"]] == ["54", "53", "52", "51", "50"]
    assert {(item["market_id"], item["status"]) for item in eth_suppressed["items"]} == {
        (signals["eth"].pk, "suppressed")
    }
    assert [item["candle_open_time"][14:16] for item in window["items"]] == ["07", "06", "05"]
    assert oldest["items"][0]["inputs"] == {"close": 100.0, "rsi_14": None}
    assert client.get(API, {"direction": "sideways"}).status_code == 422


def test_the_api_reads_any_offset_as_utc_and_names_an_impossible_time(viewer, signals) -> None:
    # PostgreSQL refuses an offset such as +23:50 in a query (schemathesis found the 500): the
    # filter is converted to UTC first. 2024-03-01T23:55+23:50 is 00:05 UTC.
    client = logged_in(viewer)

    shifted = client.get(API, {"since": "2024-03-01T23:55:00+23:50", "until": "2024-03-01T00:08:00Z"})
    impossible = client.get(API, {"since": "0001-01-01T00:00:00+01:00"})

    assert shifted.status_code == 200
    assert [item["candle_open_time"][14:16] for item in shifted.json()["items"]] == ["07", "06", "05"]
    assert impossible.status_code == 422
    assert "since" in impossible.text


def test_the_api_detail_and_counts(viewer, signals) -> None:
    client = logged_in(viewer)
    signal = Signal.objects.get(candle_open_time=START + timedelta(minutes=2))

    detail = client.get(f"{API}/{signal.pk}").json()
    counts = client.get(f"{API}/counts", {"market": signals["btc"].pk}).json()

    assert detail["id"] == signal.pk and detail["direction"] == "exit" and detail["status"] == "suppressed"
    assert sorted((row["strategy_name"], row["emitted"], row["suppressed"]) for row in counts) == [
        ("EMA", 14, 6),
        ("RSI", 13, 7),
    ]
    assert client.get(f"{API}/999999").status_code == 404


def test_api_access(client, outsider, operator, signals) -> None:
    assert client.get(API).status_code == 401
    assert logged_in(outsider).get(API).status_code == 403
    assert logged_in(operator).get(API).status_code == 200
    assert logged_in(operator).post(API, {}, content_type="application/json").status_code == 405


@pytest.mark.parametrize("role", ["viewer", "admin_user"])
def test_the_admin_lists_signals_with_the_same_filters(request, role, signals) -> None:
    client = logged_in(request.getfixturevalue(role))
    query = {
        "strategy__id__exact": signals["rsi"].pk,
        "market__id__exact": signals["btc"].pk,
        "direction__exact": "long",
        "status__exact": "emitted",
    }

    response = client.get("/admin/signals/signal/", query)

    assert response.status_code == 200
    shown = list(response.context["cl"].result_list)
    assert shown and all(s.strategy == signals["rsi"] and s.direction == "long" for s in shown)
    signal = shown[0]
    assert client.get(f"/admin/signals/signal/{signal.pk}/change/").status_code == 200
    assert client.get("/admin/signals/signal/add/").status_code == 403
    for url in ("/admin/market/marketfeed/", "/admin/signals/evaluationcursor/"):
        assert client.get(url).status_code == 200
