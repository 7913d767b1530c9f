"""The X (Twitter) API v2 recent search as a news source: plain code, no Django, like apps.news.feeds.

`recent_search` GETs /2/tweets/search/recent with the app's bearer token, asks only for posts newer
than `since_id`, and follows `next_token` (newest first) for at most `max_pages` pages. Each post
becomes a FeedEntry, so the poller stores, deduplicates, tags and scores it as it does an RSS item.
Every failure is an XSearchError (a FeedError), whose message never holds the token.
"""

from __future__ import annotations

import html
import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from apps.news.feeds import SPACES, TITLE_MAX_CHARS, USER_AGENT, FeedEntry, FeedError, read_capped

SEARCH_PATH = "/2/tweets/search/recent"
POST_URL = "https://x.com/i/web/status/{id}"
TWEET_FIELDS = "created_at,author_id"
MIN_RESULTS, MAX_RESULTS = 10, 100  # the endpoint's bounds for max_results
# Recent search covers the last seven days and refuses (400) a since_id older than that; an hour's margin.
SINCE_ID_MAX_AGE = timedelta(days=7) - timedelta(hours=1)
# Post ids are snowflakes: milliseconds since this epoch, shifted left by 22 bits.
SNOWFLAKE_EPOCH_MS = 1_288_834_974_657
# X's rate-limit window, assumed when a 429 comes without x-rate-limit-reset.
RATE_WINDOW = timedelta(minutes=15)
REDACTED = "[REDACTED]"


class XSearchError(FeedError):
    """Why a recent search failed: stored on the source as its last error."""


class XRateLimited(XSearchError):
    def __init__(self, message: str, *, reset_at: datetime) -> None:
        super().__init__(message)
        self.reset_at = reset_at


@dataclass(frozen=True)
class SearchResult:
    entries: list[FeedEntry]
    newest_id: str = ""  # the newest post id of this search; "" when it found none
    problem: XSearchError | None = None  # a later page failed: the earlier pages' posts are kept


def recent_search(
    *,
    base_url: str,
    token: str,
    query: str,
    since_id: str = "",
    max_results: int,
    max_pages: int,
    timeout: float,
    max_bytes: int,
    now: datetime,
) -> SearchResult:
    """The posts matching `query` newer than `since_id`, newest first; raise XSearchError when the
    first page fails. A since_id too old for recent search is left out (dedup catches the repeats)."""
    if not MIN_RESULTS <= max_results <= MAX_RESULTS:
        raise ValueError(f"max_results must be {MIN_RESULTS} to {MAX_RESULTS}, not {max_results}")
    params = {"query": query, "max_results": str(max_results), "tweet.fields": TWEET_FIELDS}
    if since_id_usable(since_id, now=now):
        params["since_id"] = since_id
    headers = {"Authorization": f"Bearer {token}", "User-Agent": USER_AGENT, "Accept": "application/json"}
    entries: list[FeedEntry] = []
    with httpx.Client(base_url=base_url, timeout=timeout, headers=headers) as client:
        for _ in range(max_pages):
            try:
                found, next_token = _page(client, params, timeout=timeout, max_bytes=max_bytes, now=now)
            except XSearchError as exc:
                if not entries:
                    raise _scrubbed(exc, token) from None
                return SearchResult(entries=entries, newest_id=_newest(entries), problem=_scrubbed(exc, token))
            entries += found
            if not next_token:
                break
            params["next_token"] = next_token
    return SearchResult(entries=entries, newest_id=_newest(entries))


def since_id_usable(since_id: str, *, now: datetime) -> bool:
    """True for a post id recent search still accepts: posted within the last seven days."""
    if not since_id.isdigit():
        return False
    posted = datetime.fromtimestamp(((int(since_id) >> 22) + SNOWFLAKE_EPOCH_MS) / 1000, tz=UTC)
    return posted > now - SINCE_ID_MAX_AGE


def _page(
    client: httpx.Client, params: dict[str, str], *, timeout: float, max_bytes: int, now: datetime
) -> tuple[list[FeedEntry], str]:
    """One page's posts and the token of the next page ("" on the last)."""
    try:
        with client.stream("GET", SEARCH_PATH, params=params) as response:
            body = read_capped(response, max_bytes=max_bytes, deadline=time.monotonic() + timeout)
            if not response.is_success:
                raise _http_error(response, body, now=now)
    except httpx.TimeoutException:
        raise XSearchError(f"X timed out after {timeout:g} s") from None
    except httpx.HTTPError as exc:
        raise XSearchError(f"cannot reach X: {exc.__class__.__name__}: {exc}") from None
    except XSearchError:
        raise
    except FeedError as exc:  # read_capped's size cap or slow body
        raise XSearchError(f"X's answer was {exc}") from None
    page = _json(body)
    if not isinstance(page, dict) or not isinstance(page.get("meta"), dict):
        raise XSearchError("malformed answer from X: no meta object")
    posts = page.get("data", [])  # absent when nothing matched
    if not isinstance(posts, list):
        raise XSearchError("malformed answer from X: data is not a list")
    entries = [entry for entry in map(_entry, posts) if entry is not None]
    return entries, str(page["meta"].get("next_token") or "")


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:  # JSONDecodeError, or bytes that are no text at all
        raise XSearchError("malformed answer from X: not JSON") from None


def _http_error(response: httpx.Response, body: bytes, *, now: datetime) -> XSearchError:
    status = f"HTTP {response.status_code} {response.reason_phrase}".strip()
    detail = _problem_detail(body)
    said = f": {detail}" if detail else ""
    if response.status_code == httpx.codes.UNAUTHORIZED:
        return XSearchError(f"{status}: X refused the bearer token; set the source's bearer token again{said}")
    if response.status_code == httpx.codes.FORBIDDEN:
        return XSearchError(
            f"{status}: X does not let this bearer token use recent search "
            f"(its app must belong to a Project whose access level includes it){said}"
        )
    if response.status_code == httpx.codes.TOO_MANY_REQUESTS:
        reset_at = _reset_time(response.headers.get("x-rate-limit-reset"), now=now)
        return XRateLimited(f"{status}: rate limited by X until {reset_at:%Y-%m-%d %H:%M:%S} UTC", reset_at=reset_at)
    return XSearchError(f"{status}{said}")


def _problem_detail(body: bytes) -> str:
    """X's problem text (title, detail, the errors' messages), or "" when the body is not one."""
    try:
        problem = _json(body)
    except XSearchError:
        return ""
    if not isinstance(problem, dict):
        return ""
    errors = problem.get("errors") if isinstance(problem.get("errors"), list) else []
    parts = [problem.get("detail") or problem.get("title"), *(e.get("message") for e in errors if isinstance(e, dict))]
    return "; ".join(str(part) for part in dict.fromkeys(parts) if part)[:300]


def _reset_time(header: str | None, *, now: datetime) -> datetime:
    try:
        return datetime.fromtimestamp(int(header or ""), tz=UTC)
    except (ValueError, OverflowError, OSError):
        return now + RATE_WINDOW


def _entry(post: Any) -> FeedEntry | None:
    if not isinstance(post, dict) or not str(post.get("id", "")).isdigit():
        raise XSearchError("malformed answer from X: a post without a numeric id")
    post_id = str(post["id"])
    title = SPACES.sub(" ", html.unescape(str(post.get("text") or ""))).strip()[:TITLE_MAX_CHARS]
    if not title:
        return None
    return FeedEntry(
        guid=post_id,
        url=POST_URL.format(id=post_id),
        title=title,
        summary="",
        published_at=_created_at(post.get("created_at")),
    )


def _created_at(value: Any) -> datetime | None:
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def _newest(entries: list[FeedEntry]) -> str:
    return max((entry.guid for entry in entries), key=int, default="")


def _scrubbed(error: XSearchError, token: str) -> XSearchError:
    """The error with the token cut out of its text (an answer or a library could echo it)."""
    text = str(error)
    if token not in text:
        return error
    text = text.replace(token, REDACTED)
    if isinstance(error, XRateLimited):
        return XRateLimited(text, reset_at=error.reset_at)
    return type(error)(text)
