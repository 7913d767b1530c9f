from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

import pytest
from django.conf import settings
from django.core.cache import caches

from apps.secrets import redaction
from tests.factories import UserFactory


def shared_data_path(*parts: str) -> Path:
    """A file under ../shared/data, or a skip naming what is missing."""
    path = Path(settings.SHARED_DATA_DIR, *parts)
    if not path.exists():
        pytest.skip(f"needs {path} (the real data set in ../shared/data); it is absent on this machine")
    return path


def skip_unless_ci(reason: str) -> NoReturn:
    """Skip a test whose optional part (Chromium, the local model) this machine lacks; in CI (CI=true,
    set by .ci/run, which installs those parts) fail instead, so that a broken install never passes as skips."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}, and CI must run them")
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def _empty_market_cache() -> Iterator[None]:
    """Live prices a test cached (the `market` cache, per process in tests) do not leak into the next."""
    yield
    caches["market"].clear()


@pytest.fixture(autouse=True)
def _forget_revealed_secrets() -> Iterator[None]:
    """A value one test revealed is redacted from every later log line of the process; tests start
    afresh, or a generated secret such as "Market" (the schemathesis test makes such) would blank that
    word from later tests' log assertions."""
    yield
    redaction._values.clear()


@pytest.fixture
def redis_url() -> str:
    url = os.environ.get("REDIS_URL")
    if not url:
        pytest.skip("needs REDIS_URL (a real Redis); unset, so the Redis-backed path is not exercised here")
    return url


@pytest.fixture
def viewer(db):
    return UserFactory(role="viewer")


@pytest.fixture
def operator(db):
    return UserFactory(role="operator")


@pytest.fixture
def admin_user(db):
    return UserFactory(role="admin")


@pytest.fixture
def outsider(db):
    """Logged in, but holds no role."""
    return UserFactory(role=None)
