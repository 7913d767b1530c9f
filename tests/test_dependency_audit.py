"""The CI dependency audit's verdict (.ci/dependency_audit.py) on pip-audit's JSON reports."""

from __future__ import annotations

import importlib.util

from django.conf import settings

spec = importlib.util.spec_from_file_location("dependency_audit", settings.BASE_DIR / ".ci" / "dependency_audit.py")
audit = importlib.util.module_from_spec(spec)
spec.loader.exec_module(audit)

VULN = {"id": "PYSEC-1", "fix_versions": ["2.0.1"], "aliases": [], "description": "..."}


def test_a_vulnerability_with_a_fix_fails_the_build_and_names_the_fix() -> None:
    report = {"dependencies": [{"name": "foo", "version": "2.0.0", "vulns": [VULN]}, {"name": "bar", "version": "1"}]}
    code, lines = audit.verdict(report)
    assert code == 1
    assert "  foo 2.0.0: PYSEC-1 (fixed in: 2.0.1)" in lines
    assert lines[0].startswith("dependency audit: 2 packages audited, 1 known vulnerabilities, 1 with a fix")


def test_a_vulnerability_without_a_fix_is_reported_but_does_not_fail() -> None:
    report = {"dependencies": [{"name": "foo", "version": "2.0.0", "vulns": [{**VULN, "fix_versions": []}]}]}
    code, lines = audit.verdict(report)
    assert code == 0
    assert "  foo 2.0.0: PYSEC-1 (fixed in: no fix yet)" in lines


def test_an_unreachable_database_is_told_apart_from_a_clean_audit() -> None:
    skipped = {"dependencies": [{"name": "django", "skip_reason": "Dependency not found"}], "fixes": []}
    answered = {"dependencies": [{"name": "django", "version": "3.2", "vulns": [VULN]}], "fixes": []}
    assert not audit.database_reachable(None)
    assert not audit.database_reachable(skipped)
    assert audit.database_reachable(answered)
