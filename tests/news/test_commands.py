from __future__ import annotations

from datetime import UTC, datetime
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django_q.models import Schedule

from apps.news.models import NewsSource
from apps.news.services import news_source_create
from apps.news.tasks import poll_news_sources
from tests.conftest import shared_data_path
from tests.factories import NewsItemFactory
from tests.news.conftest import FeedServer, Route, snapshot

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


@pytest.mark.shared_data
def test_news_poll_prints_each_source_new_duplicates_not_modified_and_errors(feed_server: FeedServer) -> None:
    news_source_create(
        name="CoinDesk",
        feed_url=feed_server.serve("/cd", Route(body=snapshot("coindesk.rss"), etag='"1"')),
        enabled=True,
    )
    news_source_create(name="Down", feed_url=feed_server.serve("/down", Route(status=500)), enabled=True)
    news_source_create(name="Off", feed_url=feed_server.serve("/off", Route(body=b"")))

    first = run("news_poll")
    second = run("news_poll")

    assert first.splitlines() == [
        "CoinDesk: 25 new, 0 duplicates",
        "Down: 0 new, 0 duplicates; error: HTTP 500 Internal Server Error",
        "25 item(s) scored by lexicon",
    ]
    assert second.splitlines()[0] == "CoinDesk: not modified"
    assert second.splitlines()[-1] == "0 item(s) scored by lexicon"


def test_news_poll_names_an_unknown_source() -> None:
    with pytest.raises(CommandError, match="No such news source: Nope"):
        run("news_poll", "--source", "Nope")


def test_the_schedule_polls_only_the_sources_that_are_due() -> None:
    assert Schedule.objects.filter(name="Poll news sources", func="apps.news.tasks.poll_news_sources").exists()
    assert poll_news_sources() == "no source due; 0 item(s) scored"


def test_news_tail_prints_the_last_k_headlines_oldest_first_and_stops_after_the_rounds() -> None:
    for hour, title in enumerate(["Bitcoin slips", "Ether climbs", "Solana halts"]):
        NewsItemFactory(title=title, published_at=datetime(2025, 12, 12, hour, tzinfo=UTC), assets=[])

    out = run("news_tail", "-k", "2", "--every", "0", "--rounds", "2")

    rounds = out.split("-- last 2 headlines --\n")
    assert len(rounds) == 3
    assert rounds[1].splitlines() == [
        "2025-12-12 01:00 Demo feed: Ether climbs",
        "2025-12-12 02:00 Demo feed: Solana halts",
    ]


def test_news_sources_import_adds_disabled_sources_and_skips_comments_and_duplicates(tmp_path: Path) -> None:
    news_source_create(name="known", feed_url="https://known.example/feed")
    listing = tmp_path / "feeds.txt"
    listing.write_text(
        "# crypto feeds\n\nhttps://www.a.example/feed/\nhttps://known.example/feed\n"
        "https://a.example/rss  # same host\nhttps://www.a.example/feed/\n"
    )

    out = run("news_sources_import", str(listing))

    assert out.splitlines()[-1] == "2 sources added, 1 already there."
    assert list(NewsSource.objects.filter(enabled=False).values_list("name", "feed_url").order_by("pk")) == [
        ("known", "https://known.example/feed"),
        ("a.example", "https://www.a.example/feed/"),
        ("a.example/rss", "https://a.example/rss"),
    ]
    assert run("news_sources_import", str(listing)).splitlines()[-1] == "0 sources added, 3 already there."


@pytest.mark.shared_data
def test_the_shared_feed_list_imports() -> None:
    listing = shared_data_path("news", "crypto_rss_feeds_list.txt")

    out = run("news_sources_import", str(listing))

    assert NewsSource.objects.count() > 50
    assert not NewsSource.objects.filter(enabled=True).exists()
    assert out.splitlines()[-1].startswith(f"{NewsSource.objects.count()} sources added")
