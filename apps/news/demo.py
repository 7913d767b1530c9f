"""The demo's news: the four real feed snapshots of ../shared/data/rss (MANIFEST.md section 3),
stored offline through the poller's own path (services.news_feed_store), so a newcomer sees real
headlines. Their sources carry the real feed URLs but stay disabled: the worker never fetches them
unless an operator enables them."""

from __future__ import annotations

from pathlib import Path
from typing import TextIO

from django.utils import timezone

from apps.core.errors import ServiceValidationError
from apps.news.feeds import FeedError
from apps.news.models import NewsSource
from apps.news.services import news_feed_store, news_source_create

# (source name, real feed URL, snapshot file)
DEMO_FEEDS = (
    ("CoinDesk", "https://www.coindesk.com/arc/outboundfeeds/rss/", "coindesk.rss"),
    ("Cointelegraph", "https://cointelegraph.com/rss", "coingtelegraph-all.rss"),
    ("Decrypt", "https://decrypt.co/feed", "decrypt.rss"),
    ("The Block", "https://www.theblock.co/rss.xml", "theblock.rss"),
)


def demo_news_load(*, shared_data_dir: Path, stdout: TextIO) -> list[str]:
    """Store the snapshots' headlines (a second run finds them all stored); one line per feed."""
    folder = shared_data_dir / "rss"
    if not folder.is_dir():
        lines = [f"No news snapshots: {folder} is absent, so /news/ starts empty (manage.py news_poll fills it)."]
    else:
        lines = [_load_snapshot(name, url, folder / file) for name, url, file in DEMO_FEEDS]
    for line in lines:
        stdout.write(line + "\n")
    return lines


def _load_snapshot(name: str, url: str, path: Path) -> str:
    if not path.is_file():
        return f"News snapshot {path} is absent; {name} skipped."
    try:
        source = NewsSource.objects.filter(feed_url=url).first() or news_source_create(name=name, feed_url=url)
        counts, problem = news_feed_store(source=source, content=path.read_bytes(), fetched_at=timezone.now())
    except (FeedError, ServiceValidationError) as exc:
        return f"News snapshot {path}: {exc}; {name} skipped."
    state = "enabled" if source.enabled else "disabled, so the worker does not fetch the real feed"
    warning = f" ({problem})" if problem else ""
    return (
        f"News {source.name}: {counts.new} headlines stored from {path.name}, {counts.duplicates} already there"
        f"{warning} ({state})."
    )
