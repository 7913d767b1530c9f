"""Fetching and reading one feed: plain code, no Django, so that it is tested on its own.

`feed_fetch` asks with the validators of the previous answer (ETag, Last-Modified) and reads at
most `max_bytes`; `feed_parse` turns the body into entries whose times are UTC, whatever offset
the feed wrote (The Block writes -0500).
"""

from __future__ import annotations

import calendar
import hashlib
import html
import re
import time
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import feedparser
import httpx

USER_AGENT = "TradeOps news poller (+https://github.com/tradeops)"
TRACKING_PARAMETERS = ("utm_", "fbclid", "gclid", "mc_cid", "mc_eid")
# feedparser flags these on well-formed feeds (a charset header that disagrees with the XML prolog).
HARMLESS_PROBLEMS = (feedparser.CharacterEncodingOverride, feedparser.NonXMLContentType)
SUMMARY_MAX_CHARS = 2000
TITLE_MAX_CHARS = 500
TAG = re.compile(r"<[^>]+>")
SPACES = re.compile(r"\s+")
NOT_WORD = re.compile(r"[^\w\s]")


class FeedError(Exception):
    """Why a feed could not be read: the message is stored on the source as its last error."""


@dataclass(frozen=True)
class FetchedFeed:
    """A feed's answer: its body, or `not_modified` (304) with no body."""

    not_modified: bool
    content: bytes = b""
    etag: str = ""
    last_modified: str = ""


@dataclass(frozen=True)
class FeedEntry:
    guid: str
    url: str
    title: str
    summary: str
    published_at: datetime | None


@dataclass(frozen=True)
class ParsedFeed:
    entries: list[FeedEntry]
    problem: str = ""  # the feed was read only in part (truncated, malformed XML)


def feed_fetch(url: str, *, etag: str = "", last_modified: str = "", timeout: float, max_bytes: int) -> FetchedFeed:
    """GET the feed; raise FeedError on a network failure, a timeout, a non-2xx answer or a body over `max_bytes`."""
    headers = {"User-Agent": USER_AGENT, "Accept": "application/rss+xml, application/atom+xml, application/xml;q=0.9"}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    try:
        with (
            httpx.Client(timeout=timeout, follow_redirects=True) as client,
            client.stream("GET", url, headers=headers) as response,
        ):
            if response.status_code == httpx.codes.NOT_MODIFIED:
                return FetchedFeed(not_modified=True)
            if not response.is_success:
                raise FeedError(f"HTTP {response.status_code} {response.reason_phrase}".strip())
            content = read_capped(response, max_bytes=max_bytes, deadline=time.monotonic() + timeout)
            return FetchedFeed(
                not_modified=False,
                content=content,
                etag=response.headers.get("ETag", ""),
                last_modified=response.headers.get("Last-Modified", ""),
            )
    except httpx.TimeoutException:
        raise FeedError(f"timed out after {timeout:g} s") from None
    except httpx.HTTPError as exc:
        raise FeedError(f"cannot fetch: {exc.__class__.__name__}: {exc}") from None


def read_capped(response: httpx.Response, *, max_bytes: int, deadline: float) -> bytes:
    """The body, up to `max_bytes`; httpx's timeout bounds each read, `deadline` the whole body
    (a server trickling a byte at a time would otherwise hold the poller for ever)."""
    body = bytearray()
    for chunk in response.iter_bytes():
        body.extend(chunk)
        if len(body) > max_bytes:
            raise FeedError(f"larger than the {max_bytes} byte cap")
        if time.monotonic() > deadline:
            raise FeedError("too slow: the body took longer than the timeout")
    return bytes(body)


def feed_parse(content: bytes) -> ParsedFeed:
    """The feed's entries; raise FeedError when the body is not an RSS or Atom feed at all."""
    parsed = feedparser.parse(content)
    problem = parsed.get("bozo_exception")
    if not parsed.version:
        reason = f" ({_problem_text(problem)})" if problem else ""
        raise FeedError(f"not an RSS or Atom feed{reason}")
    entries = [entry for entry in (_entry(raw) for raw in parsed.entries) if entry is not None]
    if problem is None or isinstance(problem, HARMLESS_PROBLEMS):
        return ParsedFeed(entries=entries)
    return ParsedFeed(entries=entries, problem=f"malformed feed ({_problem_text(problem)}); read in part")


def _problem_text(problem: Exception) -> str:
    return getattr(problem, "getMessage", lambda: str(problem))()


def _entry(raw: Any) -> FeedEntry | None:
    title = plain_text(raw.get("title", ""))[:TITLE_MAX_CHARS]
    if not title:
        return None
    return FeedEntry(
        guid=(raw.get("id") or "").strip()[:500],
        url=url_normalise(raw.get("link") or ""),
        title=title,
        summary=plain_text(raw.get("summary", ""))[:SUMMARY_MAX_CHARS],
        published_at=_utc(raw.get("published_parsed") or raw.get("updated_parsed")),
    )


def _utc(parsed: time.struct_time | None) -> datetime | None:
    # feedparser has already applied the feed's offset: the struct is UTC.
    return None if parsed is None else datetime.fromtimestamp(calendar.timegm(parsed), tz=UTC)


def plain_text(markup: str) -> str:
    """Text without tags or entities, on one line."""
    return SPACES.sub(" ", html.unescape(TAG.sub(" ", markup))).strip()


def url_normalise(url: str) -> str:
    """The URL without tracking parameters or fragment, its scheme and host in lower case."""
    url = url.strip()
    if not url:
        return ""
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. an unbalanced "[" in the host: kept as written
        return url[:1000]
    query = [(key, value) for key, value in parse_qsl(parts.query, keep_blank_values=True) if not _tracking(key)]
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path, urlencode(query), ""))[:1000]


def _tracking(key: str) -> bool:
    return key.lower().startswith(TRACKING_PARAMETERS)


def title_normalise(title: str) -> str:
    """The title as dedup compares it: case, accents' forms, punctuation and spacing ignored."""
    text = unicodedata.normalize("NFKC", title).casefold()
    return SPACES.sub(" ", NOT_WORD.sub(" ", text)).strip()[:TITLE_MAX_CHARS]


def dedup_key(*, source_id: int, entry: FeedEntry) -> str:
    """The entry's identity: its URL when it has one (any feed), else its guid (in its feed), else its title and day."""
    if entry.url:
        identity = f"url:{entry.url}"
    elif entry.guid:
        identity = f"guid:{source_id}:{entry.guid}"
    else:
        day = entry.published_at.date().isoformat() if entry.published_at else ""
        identity = f"title:{source_id}:{day}:{title_normalise(entry.title)}"
    return hashlib.sha256(identity.encode()).hexdigest()
