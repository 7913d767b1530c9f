"""Polling real feed snapshots served from 127.0.0.1: new items, duplicates, 304, and every way a
feed can fail, each recorded on its own source while the others are polled."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from apps.news import services
from apps.news.feeds import url_normalise
from apps.news.models import NewsItem, NewsSource
from apps.news.services import news_source_create, news_source_poll, news_sources_due, news_sources_poll
from tests.news.conftest import FeedServer, Route, snapshot

pytestmark = [pytest.mark.django_db, pytest.mark.shared_data]


def source_for(server: FeedServer, path: str, route: Route, *, name: str = "") -> NewsSource:
    url = server.serve(path, route)
    return news_source_create(name=name or path.strip("/"), feed_url=url, enabled=True)


def test_a_poll_stores_each_item_once_and_a_second_poll_with_the_etag_is_not_modified(
    feed_server: FeedServer,
) -> None:
    source = source_for(feed_server, "/coindesk.rss", Route(body=snapshot("coindesk.rss"), etag='"v1"'))

    first = news_source_poll(source=source)
    second = news_source_poll(source=source)

    assert (first.outcome, first.new, first.duplicates, first.error) == ("fetched", 25, 0, "")
    assert second.outcome == "not modified"
    assert str(second) == "coindesk.rss: not modified"
    assert feed_server.requests[1][1]["If-None-Match"] == '"v1"'
    source.refresh_from_db()
    assert (source.etag, source.last_error) == ('"v1"', "")
    assert source.last_fetched_at is not None
    assert NewsItem.objects.filter(source=source).count() == 25


def test_the_same_story_in_two_feeds_is_stored_once(feed_server: FeedServer) -> None:
    body = snapshot("decrypt.rss")
    first = source_for(feed_server, "/a.rss", Route(body=body))
    mirror = source_for(feed_server, "/b.rss", Route(body=body))

    results = news_sources_poll(sources=[first, mirror])

    assert [(result.new, result.duplicates) for result in results] == [(58, 0), (0, 58)]
    assert NewsItem.objects.count() == 58


def test_a_republished_story_under_another_url_is_a_duplicate_by_its_title(feed_server: FeedServer) -> None:
    original = snapshot("theblock.rss")
    # The same stories, other links and guids, titles in another case: a syndicated copy.
    copy = original.replace(b"https://www.theblock.co/post/", b"https://mirror.example/p/").replace(
        b"<title>Fogo", b"<title>FOGO"
    )
    source_for(feed_server, "/theblock.rss", Route(body=original))
    mirror = source_for(feed_server, "/mirror.rss", Route(body=copy))
    news_source_poll(source=NewsSource.objects.get(name="theblock.rss"))

    result = news_source_poll(source=mirror)

    assert (result.new, result.duplicates) == (0, 19)


def test_the_blocks_minus_five_hours_times_are_stored_in_utc_with_the_assets_mentioned(feed_server: FeedServer) -> None:
    source = source_for(feed_server, "/theblock.rss", Route(body=snapshot("theblock.rss")))

    news_source_poll(source=source)

    # <pubDate>Fri, 12 Dec 2025 14:01:24 -0500</pubDate>
    firedancer = NewsItem.objects.get(title__startswith="Jump Crypto’s Firedancer hits Solana mainnet")
    assert firedancer.published_at == datetime(2025, 12, 12, 19, 1, 24, tzinfo=UTC)
    assert firedancer.assets == ["SOL"]
    assert NewsItem.objects.get(title__startswith="Crypto giant Tether offers").assets == ["USDT"]
    assert NewsItem.objects.get(title__startswith="Fogo cancels").assets == []


def test_tracking_parameters_are_dropped_from_urls(feed_server: FeedServer) -> None:
    source = source_for(feed_server, "/ct.rss", Route(body=snapshot("coingtelegraph-all.rss")))

    news_source_poll(source=source)

    assert not NewsItem.objects.filter(url__contains="utm_").exists()
    assert NewsItem.objects.filter(
        url="https://cointelegraph.com/news/figure-technology-solana-onchain-equity-second-ipo"
    ).exists()


@pytest.mark.parametrize(
    ("route", "error"),
    [
        (Route(status=500), "HTTP 500 Internal Server Error"),
        (Route(delay=2.0), "timed out after 1 s"),
        (
            Route(body=b"<html><head><title>Hi</title></head><body>Not a feed</body></html>", content_type="text/html"),
            "not an RSS or Atom feed",
        ),
    ],
    ids=["500", "timeout", "html page"],
)
def test_a_failing_feed_is_recorded_on_its_source_and_the_next_source_is_still_polled(
    feed_server: FeedServer, settings, route: Route, error: str
) -> None:
    settings.NEWS_FETCH_TIMEOUT_SECONDS = 1
    broken = source_for(feed_server, "/broken", route, name="broken")
    healthy = source_for(feed_server, "/coindesk.rss", Route(body=snapshot("coindesk.rss")), name="healthy")

    results = news_sources_poll(sources=[broken, healthy])

    assert [result.outcome for result in results] == ["error", "fetched"]
    assert results[0].error.startswith(error)
    broken.refresh_from_db()
    assert broken.last_error.startswith(error)
    assert broken.last_fetched_at is None
    assert results[1].new == 25


def test_a_truncated_feed_stores_what_it_could_read_and_says_why(feed_server: FeedServer) -> None:
    body = snapshot("coindesk.rss")
    source = source_for(feed_server, "/cut.rss", Route(body=body[: len(body) // 2], etag='"cut"'))

    result = news_source_poll(source=source)

    assert result.outcome == "fetched"
    assert 0 < result.new < 25
    assert result.error.startswith("malformed feed (unclosed token)")
    source.refresh_from_db()
    assert source.last_error == result.error
    # Its ETag is not kept: the next poll asks for the whole feed again.
    assert source.etag == ""


def test_a_feed_over_the_size_cap_is_refused(feed_server: FeedServer, settings) -> None:
    settings.NEWS_FEED_MAX_BYTES = 10_000
    source = source_for(feed_server, "/big.rss", Route(body=snapshot("decrypt.rss")))

    result = news_source_poll(source=source)

    assert result.error == "larger than the 10000 byte cap"
    assert not NewsItem.objects.exists()


def test_an_unreachable_feed_is_recorded() -> None:
    source = news_source_create(name="nowhere", feed_url="http://127.0.0.1:9/feed", enabled=True)

    result = news_source_poll(source=source)

    assert result.outcome == "error"
    assert result.error.startswith("cannot fetch: ConnectError")


def test_each_source_is_due_after_its_own_interval() -> None:
    now = timezone.now()
    never = news_source_create(name="never", feed_url="https://a.example/feed", enabled=True)
    fresh = news_source_create(name="fresh", feed_url="https://b.example/feed", enabled=True, poll_interval_minutes=30)
    stale = news_source_create(name="stale", feed_url="https://c.example/feed", enabled=True, poll_interval_minutes=5)
    news_source_create(name="off", feed_url="https://d.example/feed")
    NewsSource.objects.filter(pk__in=[fresh.pk, stale.pk]).update(last_fetched_at=now - timedelta(minutes=10))

    assert news_sources_due(now=now) == [never, stale]


def test_an_unforeseen_failure_is_recorded_and_the_next_source_is_still_polled(
    feed_server: FeedServer, monkeypatch
) -> None:
    broken = source_for(feed_server, "/odd.rss", Route(body=snapshot("theblock.rss")), name="odd")
    healthy = source_for(feed_server, "/coindesk.rss", Route(body=snapshot("coindesk.rss")), name="healthy")
    store = services.news_feed_store

    def fail_for_odd(*, source: NewsSource, **kwargs: object) -> object:
        if source.name == "odd":
            raise RuntimeError("a bug")
        return store(source=source, **kwargs)

    monkeypatch.setattr(services, "news_feed_store", fail_for_odd)

    results = news_sources_poll(sources=[broken, healthy])

    assert [(result.outcome, result.new) for result in results] == [("error", 0), ("fetched", 25)]
    broken.refresh_from_db()
    assert broken.last_error == "unexpected failure: RuntimeError: a bug"


def test_an_unparsable_link_is_kept_as_written() -> None:
    assert url_normalise("http://[broken/story") == "http://[broken/story"
    assert url_normalise("HTTPS://Example.COM/a?utm_source=rss&id=3#top") == "https://example.com/a?id=3"
