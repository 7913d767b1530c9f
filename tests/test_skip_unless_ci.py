"""Optional parts (Chromium, the local model) may be missing on a developer's machine, never in CI."""

from __future__ import annotations

import pytest

from tests.conftest import skip_unless_ci


def test_a_missing_part_skips_on_a_developers_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)

    with pytest.raises(pytest.skip.Exception, match="needs the thing"):
        skip_unless_ci("needs the thing")


def test_a_missing_part_fails_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")

    with pytest.raises(pytest.fail.Exception, match="needs the thing, and CI must run them"):
        skip_unless_ci("needs the thing")
