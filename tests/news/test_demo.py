"""load_demo's news: the four real snapshots, offline, through the poller's storing path."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.conf import settings

from apps.news.demo import demo_news_load
from apps.news.models import NewsItem, NewsSource
from tests.conftest import shared_data_path

pytestmark = pytest.mark.django_db


@pytest.mark.shared_data
def test_the_demo_stores_the_snapshots_headlines_once_under_disabled_sources() -> None:
    shared_data_path("rss")

    first = demo_news_load(shared_data_dir=Path(settings.SHARED_DATA_DIR), stdout=io.StringIO())
    again = demo_news_load(shared_data_dir=Path(settings.SHARED_DATA_DIR), stdout=io.StringIO())

    assert first[0] == (
        "News CoinDesk: 25 headlines stored from coindesk.rss, 0 already there "
        "(disabled, so the worker does not fetch the real feed)."
    )
    assert list(NewsSource.objects.values_list("name", "enabled")) == [
        ("CoinDesk", False),
        ("Cointelegraph", False),
        ("Decrypt", False),
        ("The Block", False),
    ]
    stored = NewsItem.objects.count()
    assert stored == 25 + 30 + 58 + 19 - sum(int(line.split(", ")[1].split()[0]) for line in first)
    assert all(" 0 headlines stored" in line for line in again)
    assert NewsItem.objects.count() == stored
    assert NewsItem.objects.filter(mentions__asset="BTC").exists()


def test_without_the_shared_data_the_demo_says_so_and_stores_nothing(tmp_path: Path) -> None:
    out = io.StringIO()

    lines = demo_news_load(shared_data_dir=tmp_path, stdout=out)

    assert lines == [
        f"No news snapshots: {tmp_path / 'rss'} is absent, so /news/ starts empty (manage.py news_poll fills it)."
    ]
    assert out.getvalue() == lines[0] + "\n"
    assert not NewsItem.objects.exists()
