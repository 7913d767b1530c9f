"""LOG_FORMAT=json (README "Metrics and health"): one JSON object per line, and a secret value never in it,
wherever the logging call put it (message, arguments, extra fields, a dict message, an exception)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

from django.conf import settings

SECRET = "sk-live-9f8e7d6c5b4a3210fedcba"

SCRIPT = textwrap.dedent(
    f"""
    import logging
    import django

    django.setup()
    from apps.secrets.redaction import remember_secret_value

    remember_secret_value({SECRET!r})  # as secret_create / secret_reveal do
    log = logging.getLogger("apps.test")
    log.warning("key is {SECRET}")
    log.warning("key is %s", {SECRET!r})
    log.warning("with extra", extra={{"api_key": {SECRET!r}, "nested": {{"k": [{SECRET!r}]}}}})
    log.warning({{"event": "dict message", "key": {SECRET!r}}})
    try:
        raise ValueError("bad key " + {SECRET!r})
    except ValueError:
        log.exception("failed")
    """
)


def run_logging(log_format: str) -> str:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tradeops.settings_test", "LOG_FORMAT": log_format}
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], env=env, cwd=settings.BASE_DIR, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return result.stderr


def test_json_log_lines_are_json_and_never_carry_a_secret() -> None:
    output = run_logging("json")
    assert SECRET not in output
    records = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    ours = [record for record in records if record.get("logger") == "apps.test"]
    assert len(ours) == 5
    assert {"time", "level", "logger", "message"} <= set(ours[0])
    assert ours[0]["message"] == "key is [REDACTED]"
    assert ours[1]["message"] == "key is [REDACTED]"
    assert ours[2]["api_key"] == "[REDACTED]" and ours[2]["nested"] == {"k": ["[REDACTED]"]}
    # The record factory already made the dict message its redacted text.
    assert "dict message" in ours[3]["message"] and "[REDACTED]" in ours[3]["message"]
    assert ours[4]["level"] == "ERROR" and "bad key [REDACTED]" in ours[4]["exc_info"]


def test_plain_logs_stay_the_default_format() -> None:
    output = run_logging("plain")
    assert SECRET not in output
    assert "WARNING apps.test: key is [REDACTED]" in output
