"""A stand-in for the X API v2 recent search (GET /2/tweets/search/recent) on 127.0.0.1.

It answers as the documentation describes: app-only Bearer auth (401 with a problem object
otherwise), max_results 10 to 100 (400 otherwise), posts newest first, only those newer than
since_id, `next_token` paging, and the response shape {data[], meta{newest_id, oldest_id,
result_count, next_token}} (no `data` when nothing matched; `includes` only with expansions, which
the poller does not ask for). A test scripts other answers (401, 429, 500, not JSON) by request number.
It does not evaluate the query: every post it holds matches.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlsplit

from apps.news.x_search import SEARCH_PATH, SNOWFLAKE_EPOCH_MS

UNAUTHORIZED = {"title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"}


def snowflake(moment: datetime, sequence: int = 0) -> str:
    """A post id as X makes them: milliseconds since X's epoch, shifted left by 22 bits."""
    return str(((int(moment.timestamp() * 1000) - SNOWFLAKE_EPOCH_MS) << 22) | sequence)


def x_time(moment: datetime) -> str:
    """created_at as X writes it: 2026-12-04T07:41:12.000Z."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


@dataclass
class Answer:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def problem(cls, status: int, title: str, detail: str, **headers: str) -> Answer:
        body = json.dumps({"title": title, "detail": detail, "type": "about:blank", "status": status}).encode()
        return cls(status=status, body=body, headers=headers)


@dataclass
class XRequest:
    path: str
    params: dict[str, str]
    headers: dict[str, str]


@dataclass
class XStub:
    base_url: str
    token: str = field(default_factory=lambda: "AAAAAAAAAAAAAAAAAAAAA" + secrets.token_urlsafe(40))
    posts: list[dict] = field(default_factory=list)
    scripted: dict[int, Answer] = field(default_factory=dict)
    """Answers by request number (1 = the first request), instead of the search."""
    requests: list[XRequest] = field(default_factory=list)
    _pages: dict[str, int] = field(default_factory=dict)

    def post(self, text: str, *, at: datetime, author_id: str = "1353836358901501952") -> dict:
        post = {
            "id": snowflake(at, sequence=len(self.posts)),
            "text": text,
            "created_at": x_time(at),
            "author_id": author_id,
        }
        post["edit_history_tweet_ids"] = [post["id"]]
        self.posts.append(post)
        return post

    def answer(self, path: str, params: dict[str, str], headers: dict[str, str]) -> Answer:
        self.requests.append(XRequest(path=path, params=params, headers=headers))
        if path != SEARCH_PATH:
            return Answer.problem(404, "Not Found Error", f"no endpoint {path}")
        if headers.get("Authorization") != f"Bearer {self.token}":
            return Answer(status=401, body=json.dumps(UNAUTHORIZED).encode())
        if scripted := self.scripted.get(len(self.requests)):
            return scripted
        return self._search(params)

    def _search(self, params: dict[str, str]) -> Answer:
        max_results = int(params.get("max_results", "10"))
        if not params.get("query") or not 10 <= max_results <= 100:
            return Answer.problem(400, "Invalid Request", "One or more parameters to your request was invalid.")
        since = int(params.get("since_id", "0"))
        matching = sorted((p for p in self.posts if int(p["id"]) > since), key=lambda p: int(p["id"]), reverse=True)
        start = self._pages.get(params.get("next_token", ""), 0)
        page = matching[start : start + max_results]
        fields = {"id", "text", "edit_history_tweet_ids", *params.get("tweet.fields", "").split(",")}
        meta: dict[str, object] = {"result_count": len(page)}
        body: dict[str, object] = {"meta": meta}
        if page:
            body["data"] = [{key: value for key, value in post.items() if key in fields} for post in page]
            meta |= {"newest_id": page[0]["id"], "oldest_id": page[-1]["id"]}
        if start + max_results < len(matching):
            token = secrets.token_hex(9)
            self._pages[token] = start + max_results
            meta["next_token"] = token
        headers = {"x-rate-limit-limit": "450", "x-rate-limit-remaining": "449", "x-rate-limit-reset": "1796371200"}
        return Answer(status=200, body=json.dumps(body).encode(), headers=headers)


def x_handler(stub: XStub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            url = urlsplit(self.path)
            params = {key: values[-1] for key, values in parse_qs(url.query).items()}
            answer = stub.answer(url.path, params, dict(self.headers))
            self.send_response(answer.status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(answer.body)))
            for name, value in answer.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(answer.body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler
