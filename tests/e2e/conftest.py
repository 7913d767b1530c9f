"""Browser tests: Playwright drives Debian's Chromium against pytest-django's live server.

Each test gets a fresh browser context whose page fails the test on any console error, uncaught
page error or 5xx answer. A failing test leaves a full-page screenshot and the console log under
var/e2e-artifacts/<test>/, and its report names the folder.

Chromium comes from Debian's `chromium` package (`.ci/run` installs it); Playwright never downloads
a browser. Without /usr/bin/chromium the tests skip, except in CI (CI=true), where they fail.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from playwright.sync_api import expect, sync_playwright

from tests.conftest import skip_unless_ci
from tests.e2e.helpers import PRICE
from tests.exchanges.paper.helpers import flat, paper_account, store_bars
from tests.factories import RiskProfileFactory, TraderFactory, UserFactory

CHROMIUM = Path("/usr/bin/chromium")
# The machine's closed network refuses background connections; Chromium is told to make none.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(settings.BASE_DIR) / "var" / "e2e-artifacts"
TIMEOUT_MS = 10_000  # for each action and expectation; two busy cores can be slow


@dataclass
class PageLog:
    """What the page said while the test ran, each line under the page's address: every console
    line, and separately the ones that fail the test."""

    tab: Any
    lines: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def add(self, text: str, *, problem: bool) -> None:
        line = f"{self.tab.url}: {text}"
        self.lines.append(line)
        if problem:
            self.problems.append(line)

    def console(self, message: Any) -> None:
        url = message.location.get("url", "")
        self.add(
            f"console.{message.type}: {message.text} ({url})",
            problem=message.type == "error",
        )

    def page_error(self, error: Any) -> None:
        self.add(f"page error: {error}", problem=True)

    def response(self, response: Any) -> None:
        if response.status >= 500:
            self.add(f"HTTP {response.status} from {response.request.method} {response.url}", problem=True)


@pytest.fixture(scope="package")
def _orm_beside_playwright() -> Iterator[None]:
    """Playwright's sync API keeps an asyncio loop running in the test thread, which Django's
    async-safety check takes for an async context. The ORM calls of these tests are synchronous
    code, so the check is lifted for this package only, and put back when it ends."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        yield


@pytest.fixture(scope="package")
def browser(_orm_beside_playwright: None) -> Iterator[Any]:
    if not CHROMIUM.exists():
        skip_unless_ci(f"browser tests need {CHROMIUM} (Debian's chromium package; .ci/run installs it)")
    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any, live_server: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    yield from _watched_page(browser, live_server.url, request)


def _watched_page(browser: Any, base_url: str, request: pytest.FixtureRequest) -> Iterator[Any]:
    context = browser.new_context(base_url=base_url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    tab = context.new_page()
    log = PageLog(tab)
    tab.on("console", log.console)
    tab.on("pageerror", log.page_error)
    tab.on("response", log.response)
    request.node.e2e_page, request.node.e2e_log = tab, log
    yield tab
    try:
        if log.problems:
            folder = save_artifacts(request.node, tab, log)
            problems = "\n  ".join(log.problems)
            pytest.fail(f"the page reported errors (screenshot and console log in {folder}):\n  {problems}")
    finally:
        context.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Any:
    """A failed browser test keeps a screenshot of the page as it was when the test failed."""
    report = yield
    tab = getattr(item, "e2e_page", None)
    if report.when == "call" and report.failed and tab is not None and not tab.is_closed():
        folder = save_artifacts(item, tab, item.e2e_log)
        report.sections.append(("browser artifacts", f"screenshot and console log in {folder}"))
    return report


def save_artifacts(item: pytest.Item, tab: Any, log: PageLog) -> Path:
    folder = ARTIFACTS / re.sub(r"[^\w.-]+", "_", item.name)
    folder.mkdir(parents=True, exist_ok=True)
    tab.screenshot(path=folder / "page.png", full_page=True)
    (folder / "console.log").write_text("".join(f"{line}\n" for line in log.lines))
    return folder


@pytest.fixture
def log_in(page: Any, live_server: Any) -> Callable[[Any], None]:
    """Start the page's session the way a login does, without the form (the login test covers it)."""

    return lambda user: _start_session(page, live_server.url, user)


def _start_session(page: Any, url: str, user: Any) -> None:
    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    page.context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": url}])


@pytest.fixture
def operator_user(transactional_db: None) -> Any:
    return UserFactory(role="operator")


@pytest.fixture
def paper_trader(transactional_db: None) -> Any:
    """A paper trader whose market's replay has started: BTC/USDT:USDT stands at 20,000."""
    store_bars([flat(float(PRICE)), flat(20100)])
    account = paper_account(name="Paper demo")
    return TraderFactory(name="Paper desk", account=account, risk_profile=RiskProfileFactory(name="Standard"))


# --- a real daphne (websockets) beside the test database -----------------------------------------------


@dataclass
class Daphne:
    url: str
    env: dict[str, str]  # what another process (a worker, `manage.py shell`) needs to share its database

    def manage(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
        """Run `manage.py <args>` in another process on the test database (as the worker would)."""
        command = [sys.executable, str(Path(settings.BASE_DIR) / "manage.py"), *args]
        return subprocess.run(command, env=self.env, capture_output=True, text=True, timeout=timeout, check=True)


def shared_database_url() -> str:
    """The test database (pytest-django's) as a DATABASE_URL other processes can open."""
    db = connection.settings_dict
    if db["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{db['NAME']}"
    password = f":{quote(db['PASSWORD'])}" if db.get("PASSWORD") else ""
    return f"postgres://{quote(db['USER'])}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_until_serving(url: str, process: subprocess.Popen, *, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"daphne exited with code {process.returncode} before serving {url}")
        try:
            with urllib.request.urlopen(f"{url}/login/", timeout=2):
                return
        except urllib.error.HTTPError:
            return  # it answers
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"daphne did not serve {url} within {seconds:.0f} s")


@pytest.fixture(scope="package")
def daphne_server(django_db_setup: None, django_db_blocker: Any) -> Iterator[Daphne]:
    """A real daphne (the ASGI app with its websocket) in its own process on a free port, on the test
    database: tests that watch live events open pages on it (`daphne_page`). With REDIS_URL the events
    travel through channels-redis, without it through the embedded relay. Tests using it need
    `transactional_db`: daphne only sees committed rows."""
    with django_db_blocker.unblock():
        database_url = shared_database_url()
    port = _free_port()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tradeops.settings_test", "DATABASE_URL": database_url}
    command = [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "tradeops.asgi:application"]
    process = subprocess.Popen(command, env=env, cwd=settings.BASE_DIR, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_serving(url, process)
        yield Daphne(url=url, env=env)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def daphne_page(
    browser: Any, daphne_server: Daphne, transactional_db: None, request: pytest.FixtureRequest
) -> Iterator[Any]:
    """A page on daphne (live events work there), checked for console errors like `page`."""
    yield from _watched_page(browser, daphne_server.url, request)


@pytest.fixture
def daphne_log_in(daphne_page: Any, daphne_server: Daphne) -> Callable[[Any], None]:
    return lambda user: _start_session(daphne_page, daphne_server.url, user)
