"""The optional X (Twitter) recent-search source, against the stub of x_stub.py on 127.0.0.1.

Off unless NEWS_X_ENABLED: nothing of it runs and no X source can be made or enabled. On: it polls
with the RSS sources, its posts take the RSS items' path (dedup, assets, sentiment), it asks only for
posts newer than its since_id, and every failure is recorded on its source, never with the token.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import IntegrityError, transaction
from django.test import override_settings
from django.utils import timezone

from apps.news import services
from apps.news.analyzers import sentiment_analyzer
from apps.news.models import NewsItem, NewsSentiment, NewsSource
from apps.news.services import X_OFF, news_source_create, news_source_poll, news_sources_due, news_sources_poll
from apps.news.tasks import poll_news_sources
from apps.news.x_search import since_id_usable
from apps.secrets import crypto
from apps.secrets.models import Secret
from tests.news.conftest import FeedServer, Route
from tests.news.x_stub import Answer, XStub, snowflake
from tradeops.env import env_int

pytestmark = pytest.mark.django_db

QUERY = "(bitcoin OR BTC OR ethereum) lang:en -is:retweet"
SOURCES = "/api/v1/news/sources"
JSON = "application/json"
# A one-item RSS feed, so that a test shows X sources polled alongside the RSS ones.
DESK_RSS = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Desk</title><link>https://desk.example/</link><description>d</description>
<item><title>Fed holds rates steady</title><link>https://desk.example/fed</link><guid>fed-1</guid>
<pubDate>Fri, 04 Dec 2026 06:00:00 +0000</pubDate></item>
</channel></rss>"""


@pytest.fixture
def x_on(settings) -> None:
    settings.NEWS_X_ENABLED = True


@pytest.fixture
def now() -> datetime:
    return timezone.now().replace(microsecond=0)


def make_x_source(stub: XStub, *, name: str = "X crypto", token: str = "", enabled: bool = True) -> NewsSource:
    """An X source as an admin adds one while the flag is on."""
    with override_settings(NEWS_X_ENABLED=True):
        return news_source_create(
            name=name,
            kind="x_recent_search",
            query=QUERY,
            enabled=enabled,
            secrets={"bearer_token": token or stub.token},
        )


def make_desk(server: FeedServer) -> NewsSource:
    return news_source_create(name="Desk", feed_url=server.serve("/desk.rss", Route(body=DESK_RSS)), enabled=True)


def errors(response) -> list[tuple[str, str]]:
    assert response.status_code == 422, response.content
    return [(error["loc"][-1], error["msg"]) for error in response.json()["detail"]]


# The flag ----------------------------------------------------------------------------------------


def test_with_the_flag_off_nothing_of_x_runs(x_api: XStub, feed_server: FeedServer, now, monkeypatch) -> None:
    x_api.post("Bitcoin tops $120K as ETF inflows surge", at=now - timedelta(minutes=5))
    stored = make_x_source(x_api)  # added while the flag was on; it is off now
    make_desk(feed_server)
    ran: list[str] = []
    monkeypatch.setattr(services, "recent_search", lambda **kwargs: ran.append("search"))
    monkeypatch.setattr(services, "x_bearer_token", lambda source: ran.append("reveal"))
    due = news_sources_due(now=now)

    summary = poll_news_sources()
    out = StringIO()
    call_command("news_poll", "--source", "X crypto", stdout=out)

    assert (ran, x_api.requests) == ([], [])
    assert [source.name for source in due] == ["Desk"]
    assert summary.startswith("Desk: 1 new, 0 duplicates;") and "X crypto" not in summary
    assert f"X crypto: skipped ({X_OFF})" in out.getvalue()
    stored.refresh_from_db()
    assert (stored.last_error, stored.last_fetched_at, stored.since_id) == ("", None, "")
    assert not NewsItem.objects.filter(source=stored).exists()


def test_with_the_flag_off_no_x_source_can_be_made_or_enabled(
    client, admin_user, x_api: XStub, feed_server: FeedServer
) -> None:
    stored = make_x_source(x_api, enabled=False)
    desk = make_desk(feed_server)
    secrets_before = Secret.objects.count()
    client.force_login(admin_user)
    token = "AAAAAAAAAAAAAAAAAAAAAnew-token-for-a-refused-source"

    created = client.post(
        SOURCES, {"name": "X2", "kind": "x_recent_search", "query": QUERY, "bearer_token": token}, content_type=JSON
    )
    enabled = client.patch(f"{SOURCES}/{stored.pk}", {"enabled": True}, content_type=JSON)
    turned = client.patch(
        f"{SOURCES}/{desk.pk}", {"kind": "x_recent_search", "feed_url": "", "query": QUERY}, content_type=JSON
    )
    admin_form = client.post(
        "/admin/news/newssource/add/",
        {"name": "X3", "kind": "x_recent_search", "query": QUERY, "bearer_token": token, "poll_interval_minutes": 15},
    )
    client.post("/admin/news/newssource/", {"action": "enable", "_selected_action": [stored.pk]}, follow=True)
    renamed = client.patch(f"{SOURCES}/{stored.pk}", {"name": "X crypto (paused)"}, content_type=JSON)

    assert errors(created) == [("kind", X_OFF)]
    assert errors(enabled) == [("enabled", X_OFF)]
    assert errors(turned) == [("kind", X_OFF)]
    assert admin_form.status_code == 200 and X_OFF in admin_form.content.decode()
    assert token not in created.content.decode() + admin_form.content.decode()
    assert renamed.status_code == 200, "an X source stored earlier can still be renamed, disabled or deleted"
    assert set(NewsSource.objects.values_list("name", "enabled")) == {("X crypto (paused)", False), ("Desk", True)}
    assert Secret.objects.count() == secrets_before, "a refused source stores no token"


# Polling -----------------------------------------------------------------------------------------


def test_a_poll_stores_posts_as_headlines_and_the_next_asks_only_for_newer_ones(
    x_on, x_api: XStub, feed_server: FeedServer, now
) -> None:
    hack = x_api.post("Exchange hacked: $40M in ETH drained &amp; withdrawals halted", at=now - timedelta(minutes=30))
    etf = x_api.post("Bitcoin ETF approval sends BTC to a new all-time high", at=now - timedelta(minutes=20))
    chatter = x_api.post("gm \n  crypto twitter", at=now - timedelta(minutes=10))
    source = make_x_source(x_api)
    make_desk(feed_server)

    summary = poll_news_sources()

    # The same schedule polls both kinds, then scores what they stored.
    assert summary == "Desk: 1 new, 0 duplicates; X crypto: 3 new, 0 duplicates; 4 item(s) scored"
    [request] = x_api.requests
    assert request.headers["Authorization"] == f"Bearer {x_api.token}"
    assert request.params == {"query": QUERY, "max_results": "100", "tweet.fields": "created_at,author_id"}
    item = NewsItem.objects.get(guid=hack["id"])
    assert (item.source, item.url) == (source, f"https://x.com/i/web/status/{hack['id']}")
    assert item.title == "Exchange hacked: $40M in ETH drained & withdrawals halted"
    assert item.published_at == now - timedelta(minutes=30)
    assert item.assets == ["ETH"]
    assert NewsItem.objects.get(guid=etf["id"]).assets == ["BTC"]
    assert NewsItem.objects.get(guid=chatter["id"]).title == "gm crypto twitter"
    # Scored once each by the configured analyzer, as it scores any headline.
    analyzer = sentiment_analyzer()
    for post in (hack, etf, chatter):
        stored = NewsSentiment.objects.get(item__guid=post["id"])
        expected = analyzer.score(stored.item.title)
        assert (stored.analyzer, stored.label, stored.score) == (analyzer.name, expected.label, expected.score)
    assert NewsSentiment.objects.get(item__guid=hack["id"]).label == "negative"
    assert NewsSentiment.objects.get(item__guid=etf["id"]).label == "positive"
    source.refresh_from_db()
    assert (source.since_id, source.last_error) == (chatter["id"], "")
    assert source.last_fetched_at is not None

    newer = x_api.post("Solana outage halts block production", at=now - timedelta(minutes=1))
    again = news_source_poll(source=source)

    assert x_api.requests[-1].params["since_id"] == chatter["id"]
    assert (again.outcome, again.new, again.duplicates) == ("fetched", 1, 0)
    assert NewsItem.objects.get(guid=newer["id"]).assets == ["SOL"]
    source.refresh_from_db()
    assert source.since_id == newer["id"]

    # Without its since_id the search brings the same posts back: each is stored once.
    NewsSource.objects.filter(pk=source.pk).update(since_id="")
    source.refresh_from_db()
    repeat = news_source_poll(source=source)

    assert "since_id" not in x_api.requests[-1].params
    assert (repeat.new, repeat.duplicates) == (0, 4)
    assert NewsItem.objects.filter(source=source).count() == 4


def test_the_documented_answer_with_includes_and_z_times_is_read(x_on, x_api: XStub) -> None:
    # The shape of X's documentation example, with the `includes` that expansions would add.
    page = {
        "data": [
            {
                "author_id": "2244994945",
                "created_at": "2026-12-04T07:41:12.000Z",
                "edit_history_tweet_ids": ["1996521829358346240"],
                "id": "1996521829358346240",
                "text": "Ethereum's Fusaka upgrade is live on mainnet. Blob capacity doubles over the next weeks.",
            },
            {
                "author_id": "1353836358901501952",
                "created_at": "2026-12-04T07:38:05.000Z",
                "edit_history_tweet_ids": ["1996521045044469760"],
                "id": "1996521045044469760",
                "text": "$BTC reclaims $95K as spot ETF outflows slow https://t.co/x7Yp2QmV1a",
            },
        ],
        "includes": {
            "users": [
                {"id": "2244994945", "name": "Developers", "username": "XDevelopers"},
                {"id": "1353836358901501952", "name": "Desk", "username": "desk"},
            ]
        },
        "meta": {"newest_id": "1996521829358346240", "oldest_id": "1996521045044469760", "result_count": 2},
    }
    x_api.scripted[1] = Answer(200, json.dumps(page).encode())
    source = make_x_source(x_api)

    result = news_source_poll(source=source)

    assert (result.new, result.error) == (2, "")
    fusaka, btc = NewsItem.objects.filter(source=source).order_by("-published_at")
    assert (fusaka.published_at, fusaka.assets) == (datetime(2026, 12, 4, 7, 41, 12, tzinfo=UTC), ["ETH"])
    assert (btc.published_at, btc.assets) == (datetime(2026, 12, 4, 7, 38, 5, tzinfo=UTC), ["BTC"])
    source.refresh_from_db()
    assert source.since_id == "1996521829358346240"


def test_pages_follow_next_token_up_to_the_cap(x_on, x_api: XStub, settings, now) -> None:
    settings.NEWS_X_MAX_RESULTS, settings.NEWS_X_MAX_PAGES = 10, 2
    posts = [x_api.post(f"Update {n}: bitcoin at ${60_000 + n}", at=now - timedelta(minutes=30 - n)) for n in range(25)]
    source = make_x_source(x_api)

    result = news_source_poll(source=source)

    assert [("next_token" in request.params, request.params["max_results"]) for request in x_api.requests] == [
        (False, "10"),
        (True, "10"),
    ]
    assert (result.new, result.duplicates) == (20, 0)
    newest_twenty = {post["id"] for post in posts[5:]}
    assert set(NewsItem.objects.filter(source=source).values_list("guid", flat=True)) == newest_twenty
    source.refresh_from_db()
    assert source.since_id == posts[-1]["id"]


def test_a_since_id_older_than_recent_search_covers_is_left_out(x_on, x_api: XStub, now) -> None:
    assert since_id_usable(snowflake(now - timedelta(days=6)), now=now)
    assert not since_id_usable(snowflake(now - timedelta(days=7)), now=now)
    assert not since_id_usable("", now=now)
    source = make_x_source(x_api)
    NewsSource.objects.filter(pk=source.pk).update(since_id=snowflake(now - timedelta(days=9)))
    source.refresh_from_db()
    x_api.post("Litecoin halving countdown", at=now - timedelta(minutes=3))

    result = news_source_poll(source=source)

    # X would refuse it (400); without it, dedup alone keeps posts stored once.
    assert "since_id" not in x_api.requests[0].params
    assert result.new == 1


# Failures ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "recorded"),
    [
        (Answer(500, b"<html><body>Internal Server Error</body></html>"), "HTTP 500 Internal Server Error"),
        (
            Answer.problem(503, "Service Unavailable", "Service Unavailable"),
            "HTTP 503 Service Unavailable: Service Unavailable",
        ),
        (Answer(200, b'{"data": [{"id": "1996521829358346240", "text": "Bitcoin'), "malformed answer from X: not JSON"),
        (Answer(200, b'{"data": [], "errors": []}'), "malformed answer from X: no meta object"),
        (
            Answer(200, b'{"data": [{"text": "no id"}], "meta": {"result_count": 1}}'),
            "malformed answer from X: a post without a numeric id",
        ),
        (
            Answer.problem(403, "Forbidden", "When authenticating requests, your App must be attached to a Project."),
            "HTTP 403 Forbidden: X does not let this bearer token use recent search (its app must belong to a "
            "Project whose access level includes it): When authenticating requests, your App must be attached "
            "to a Project.",
        ),
    ],
    ids=["500", "503", "truncated JSON", "no meta", "post without id", "403"],
)
def test_a_failed_search_is_recorded_on_its_source_and_the_others_are_polled(
    x_on, x_api: XStub, feed_server: FeedServer, answer: Answer, recorded: str
) -> None:
    x_api.scripted[1] = answer
    source = make_x_source(x_api)
    NewsSource.objects.filter(pk=source.pk).update(since_id="1996521045044469760")
    source.refresh_from_db()
    desk = make_desk(feed_server)

    x_result, desk_result = news_sources_poll(sources=[source, desk])

    assert (x_result.outcome, x_result.error) == ("error", recorded)
    assert (desk_result.outcome, desk_result.new) == ("fetched", 1)
    source.refresh_from_db()
    assert (source.last_error, source.since_id, source.last_fetched_at) == (recorded, "1996521045044469760", None)
    assert not NewsItem.objects.filter(source=source).exists()


def test_an_answer_over_the_size_cap_is_refused(x_on, x_api: XStub, settings) -> None:
    settings.NEWS_FEED_MAX_BYTES = 10_000
    padding = "Bitcoin " * 2_000
    x_api.scripted[1] = Answer(200, json.dumps({"data": [{"id": "1", "text": padding}], "meta": {}}).encode())
    source = make_x_source(x_api)

    result = news_source_poll(source=source)

    assert result.error == "X's answer was larger than the 10000 byte cap"
    assert not NewsItem.objects.filter(source=source).exists()


def test_a_wrong_token_is_named_never_shown(client, admin_user, x_on, x_api: XStub, now, caplog) -> None:
    caplog.set_level(logging.INFO)
    wrong = "AAAAAAAAAAAAAAAAAAAAAwrong%2Ftoken%3Dpasted-from-another-app"
    source = make_x_source(x_api, token=wrong)
    echoing = make_x_source(x_api, name="X echo")
    # An answer that quotes the token back (X does not; a proxy in between might).
    x_api.scripted[2] = Answer.problem(401, "Unauthorized", f"Invalid bearer token {x_api.token}")

    result = news_source_poll(source=source)
    echoed = news_source_poll(source=echoing)

    assert result.error == (
        "HTTP 401 Unauthorized: X refused the bearer token; set the source's bearer token again: Unauthorized"
    )
    assert echoed.error.endswith("Invalid bearer token [REDACTED]")
    client.force_login(admin_user)
    shown = [
        client.get(SOURCES).content.decode(),
        client.get(f"{SOURCES}/{source.pk}").content.decode(),
        client.get("/news/").content.decode(),
        client.get("/admin/news/newssource/").content.decode(),
        client.get(f"/admin/news/newssource/{source.pk}/change/").content.decode(),
        caplog.text,
        *NewsSource.objects.values_list("last_error", flat=True),
    ]
    for text in shown:
        assert wrong not in text and x_api.token not in text
    source_json = client.get(f"{SOURCES}/{source.pk}").json()
    assert source_json["bearer_token"]["fingerprint"] == crypto.fingerprint(wrong)
    assert "set the source's bearer token again" in shown[0]


def test_an_unforeseen_failure_quoting_the_token_is_stored_without_it(x_on, x_api: XStub, monkeypatch) -> None:
    def broken(*, token: str, **kwargs: object) -> None:
        raise RuntimeError(f"library bug while sending {token}")

    monkeypatch.setattr(services, "recent_search", broken)
    source = make_x_source(x_api)

    [result] = news_sources_poll(sources=[source])

    source.refresh_from_db()
    assert result.error == source.last_error == "unexpected failure: RuntimeError: library bug while sending [REDACTED]"


def test_a_new_query_forgets_the_old_since_id_in_the_api_and_the_admin(client, admin_user, x_on, x_api: XStub) -> None:
    source = make_x_source(x_api)
    client.force_login(admin_user)
    seen = "1996521045044469760"

    NewsSource.objects.filter(pk=source.pk).update(since_id=seen)
    client.patch(f"{SOURCES}/{source.pk}", {"enabled": False}, content_type=JSON)
    kept = NewsSource.objects.get(pk=source.pk).since_id
    client.patch(f"{SOURCES}/{source.pk}", {"query": "ethereum lang:en"}, content_type=JSON)
    by_api = NewsSource.objects.get(pk=source.pk).since_id
    NewsSource.objects.filter(pk=source.pk).update(since_id=seen)
    form = {"name": source.name, "kind": "x_recent_search", "query": "solana lang:en", "poll_interval_minutes": 15}
    saved = client.post(f"/admin/news/newssource/{source.pk}/change/", form)
    by_admin = NewsSource.objects.get(pk=source.pk)

    assert (kept, by_api) == (seen, "")
    assert saved.status_code == 302
    assert (by_admin.query, by_admin.since_id) == ("solana lang:en", "")


def test_a_rate_limited_source_waits_for_the_reset(x_on, x_api: XStub, now) -> None:
    reset = now + timedelta(minutes=12)
    x_api.scripted[1] = Answer.problem(
        429, "Too Many Requests", "Too Many Requests", **{"x-rate-limit-reset": str(int(reset.timestamp()))}
    )
    x_api.post("Bitcoin miners capitulate as hashprice hits a record low", at=now - timedelta(minutes=2))
    source = make_x_source(x_api)

    limited = news_source_poll(source=source)
    waiting = news_source_poll(source=source)

    expected = f"HTTP 429 Too Many Requests: rate limited by X until {reset:%Y-%m-%d %H:%M:%S} UTC"
    assert (limited.outcome, limited.error) == ("error", expected)
    assert (waiting.outcome, waiting.error) == ("skipped", expected)
    assert len(x_api.requests) == 1, "no request before the reset"
    source.refresh_from_db()
    assert (source.rate_limited_until, source.last_error) == (reset, expected)
    assert source not in news_sources_due(now=now + timedelta(minutes=11))
    assert source in news_sources_due(now=reset)

    NewsSource.objects.filter(pk=source.pk).update(rate_limited_until=now - timedelta(seconds=1))  # the reset passed
    source.refresh_from_db()
    after = news_source_poll(source=source)

    assert (after.outcome, after.new, after.error) == ("fetched", 1, "")
    source.refresh_from_db()
    assert (source.rate_limited_until, source.last_error) == (None, "")


def test_a_later_page_failing_keeps_the_posts_already_read(x_on, x_api: XStub, settings, now) -> None:
    settings.NEWS_X_MAX_RESULTS, settings.NEWS_X_MAX_PAGES = 10, 3
    posts = [x_api.post(f"Ether staking update {n}", at=now - timedelta(minutes=40 - n)) for n in range(25)]
    reset = now + timedelta(minutes=9)
    x_api.scripted[2] = Answer.problem(
        429, "Too Many Requests", "Too Many Requests", **{"x-rate-limit-reset": str(int(reset.timestamp()))}
    )
    source = make_x_source(x_api)

    result = news_source_poll(source=source)

    assert (result.outcome, result.new) == ("fetched", 10)
    assert result.error.startswith("HTTP 429 Too Many Requests: rate limited by X until")
    source.refresh_from_db()
    assert (source.since_id, source.rate_limited_until) == (posts[-1]["id"], reset)


# Validation --------------------------------------------------------------------------------------


def test_an_x_source_needs_its_query_and_token_and_nothing_of_rss(client, admin_user, x_on) -> None:
    client.force_login(admin_user)
    token = "AAAAAAAAAAAAAAAAAAAAAa-valid-looking-bearer-token-value"
    x = {"name": "X", "kind": "x_recent_search", "query": QUERY, "bearer_token": token}
    drop = lambda field: {key: value for key, value in x.items() if key != field}  # noqa: E731

    assert errors(client.post(SOURCES, drop("query"), content_type=JSON))[0][0] == "query"
    assert errors(client.post(SOURCES, {**x, "query": "   "}, content_type=JSON))[0][0] == "query"
    assert errors(client.post(SOURCES, drop("bearer_token"), content_type=JSON))[0][0] == "bearer_token"
    assert errors(client.post(SOURCES, {**x, "feed_url": "https://a.example/feed"}, content_type=JSON))[0][0] == (
        "feed_url"
    )
    rss_with_token = {"name": "R", "feed_url": "https://r.example/feed", "bearer_token": token}
    assert errors(client.post(SOURCES, rss_with_token, content_type=JSON))[0][0] == "bearer_token"
    assert errors(client.post(SOURCES, {**rss_with_token, "bearer_token": None, "query": QUERY}, content_type=JSON))[0][
        0
    ] == ("query")

    created = client.post(SOURCES, x, content_type=JSON)

    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["kind"], body["query"], body["feed_url"], body["enabled"]) == ("x_recent_search", QUERY, "", False)
    assert body["bearer_token"]["is_set"] and body["bearer_token"]["fingerprint"] == crypto.fingerprint(token)
    assert token not in created.content.decode()
    listed = client.get(SOURCES, {"kind": "x_recent_search"}).json()["items"]
    assert [row["name"] for row in listed] == ["X"]
    page = client.get("/news/").content.decode()
    assert "X recent search" in page and QUERY in page


def test_the_database_holds_each_kind_to_its_target() -> None:
    for bad in (
        NewsSource(name="x", kind="x_recent_search"),
        NewsSource(name="r", kind="rss"),
        NewsSource(name="o", kind="other", feed_url="https://o.example/"),
    ):
        with pytest.raises(IntegrityError), transaction.atomic():
            bad.save()
    NewsSource.objects.create(name="a", kind="x_recent_search", query=QUERY)
    NewsSource.objects.create(name="b", kind="x_recent_search", query=QUERY)  # no feed URL: no clash on ""


def test_the_results_per_request_setting_is_bounded_as_the_api_bounds_it(monkeypatch) -> None:
    monkeypatch.setenv("NEWS_X_MAX_RESULTS", "101")
    with pytest.raises(ImproperlyConfigured, match="NEWS_X_MAX_RESULTS=101 is above the maximum of 100"):
        env_int("NEWS_X_MAX_RESULTS", 100, minimum=10, maximum=100)
