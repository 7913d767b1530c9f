"""The process refuses to start on missing, published or weak keys, and on DEBUG exposed to the
network (tradeops/checks.py, called from settings.py), and the key generator always works."""

from __future__ import annotations

import base64
import os
import stat
import string
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from dotenv import dotenv_values

from tradeops import checks, keygen

STRONG_SECRET = keygen.new_secret_key()
STRONG_FERNET = keygen.new_field_encryption_key()


def fernet_from(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode()


# DJANGO_SECRET_KEY ---------------------------------------------------------------------


WEAK_SECRET_KEYS = {
    "unset": (None, "is not set"),
    "empty": ("", "is not set"),
    "django-insecure": ("django-insecure-" + STRONG_SECRET, "published example value"),
    **{f"published:{value}": (value, "published example value") for value in sorted(checks.PUBLISHED_VALUES)},
    "49-characters": (STRONG_SECRET[:49], "is 49 characters; it needs at least 50"),
    "one-character": ("a" * 64, "too little entropy"),
    "two-characters": ("ab" * 32, "too little entropy"),
    "repeated-word": ("Xk9#mP2$qR" * 6, "too little entropy"),
    "whitespace": (STRONG_SECRET[:40] + " " + STRONG_SECRET[40:], "too little entropy"),
}


@pytest.mark.parametrize(("value", "reason"), WEAK_SECRET_KEYS.values(), ids=WEAK_SECRET_KEYS.keys())
def test_weak_secret_keys_are_refused(value: str | None, reason: str) -> None:
    problems = checks.secret_key_problems(value)
    assert len(problems) == 1 and reason in problems[0]
    assert checks.KEYGEN_HINT in problems[0]
    if value and len(value) > 8:
        assert value not in problems[0], "the refusal must not print the key"


@pytest.mark.parametrize(
    "value",
    ["0123456789abcdefghij" * 3, string.ascii_letters, string.ascii_lowercase * 2],
    ids=["digit-run", "alphabet-walk", "alphabet-twice"],
)
def test_patterned_secret_keys_are_refused(value: str) -> None:
    assert checks.secret_key_problems(value)


# FIELD_ENCRYPTION_KEY ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("keys", "reason"),
    [
        ([], "is not set"),
        (["not base64 at all!"], "is not a Fernet key"),
        ([fernet_from(os.urandom(16))], "is not a Fernet key"),
        ([STRONG_FERNET[:-2]], "is not a Fernet key"),
        (["change-me"], "published example value"),
        ([fernet_from(b"\x00" * 32)], "too little entropy"),
        ([fernet_from(b"ab" * 16)], "too little entropy"),
        ([STRONG_FERNET, STRONG_FERNET], "lists the same key twice"),
        ([STRONG_FERNET, "short"], "FIELD_ENCRYPTION_KEY key 2 is not a Fernet key"),
    ],
    ids=["missing", "not-base64", "16-bytes", "truncated", "published", "zero-bytes", "repeated", "twice", "second"],
)
def test_weak_field_encryption_keys_are_refused(keys: list[str], reason: str) -> None:
    problems = checks.field_encryption_key_problems(keys)
    assert any(reason in problem for problem in problems), problems
    for key in keys:
        assert all(key not in problem for problem in problems if len(key) > 8)


@pytest.mark.parametrize(
    "raw", [bytes(range(32)), bytes(range(16)) * 2, b"0123456789abcdef" * 2], ids=["counting", "block-twice", "hex-run"]
)
def test_patterned_field_encryption_keys_are_refused(raw: bytes) -> None:
    assert checks.field_encryption_key_problems([fernet_from(raw)])


def test_the_same_key_for_both_purposes_is_refused() -> None:
    problems = checks.startup_problems(
        secret_key=STRONG_FERNET, field_keys=[STRONG_FERNET], debug=False, allowed_hosts=["localhost"]
    )
    assert "DJANGO_SECRET_KEY and FIELD_ENCRYPTION_KEY must be different keys." in problems


# DEBUG and hosts ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("debug", "hosts", "refused"),
    [
        (True, ["tradeops.example.com"], True),
        (True, ["localhost", "*"], True),
        (True, ["localhost", "127.0.0.1", "[::1]"], False),
        (False, ["tradeops.example.com"], False),
    ],
)
def test_debug_with_network_hosts_is_refused(debug: bool, hosts: list[str], refused: bool) -> None:
    problems = checks.debug_host_problems(debug=debug, allowed_hosts=hosts)
    assert bool(problems) is refused
    if refused:
        assert "Turn DEBUG off" in problems[0] and hosts[-1] in problems[0]


# keygen ---------------------------------------------------------------------------------


def test_fresh_keygen_pairs_pass_every_check() -> None:
    for _ in range(200):
        assert (
            checks.startup_problems(
                secret_key=keygen.new_secret_key(),
                field_keys=[keygen.new_field_encryption_key()],
                debug=False,
                allowed_hosts=["tradeops.example.com"],
            )
            == []
        )


def test_keygen_writes_a_private_file_and_never_overwrites_it(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    assert keygen.write_env_file(path) is True
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    values = dotenv_values(path)
    assert checks.secret_key_problems(values["DJANGO_SECRET_KEY"]) == []
    assert checks.field_encryption_key_problems([values["FIELD_ENCRYPTION_KEY"]]) == []

    before = path.read_bytes()
    assert keygen.write_env_file(path) is False
    assert path.read_bytes() == before, "losing FIELD_ENCRYPTION_KEY would lose every stored secret"


# Real processes -------------------------------------------------------------------------

PROCESS_TIMEOUT = 30
TRADEOPS_VARIABLES = frozenset(
    {"DJANGO_SECRET_KEY", "FIELD_ENCRYPTION_KEY", "DEBUG", "ALLOWED_HOSTS", "HTTPS", "DJANGO_SETTINGS_MODULE"}
)


def run(args: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    """Run a Python process from the project directory with only the given TradeOps variables.

    Every variable a test depends on is set explicitly (an empty string counts as unset), so
    the developer's .env, which settings.py loads without overriding, cannot fill the gaps.
    """
    clean = {name: value for name, value in os.environ.items() if name not in TRADEOPS_VARIABLES}
    clean |= {"DJANGO_SETTINGS_MODULE": "tradeops.settings", "DEBUG": "false", **env}
    return subprocess.run(
        [sys.executable, *args],
        cwd=settings.BASE_DIR,
        env=clean,
        capture_output=True,
        text=True,
        timeout=PROCESS_TIMEOUT,
    )


def test_manage_py_check_refuses_a_weak_key_without_a_traceback() -> None:
    result = run(["manage.py", "check"], DJANGO_SECRET_KEY="a" * 60, FIELD_ENCRYPTION_KEY=STRONG_FERNET)
    assert result.returncode != 0
    assert "TradeOps refuses to start" in result.stderr
    assert "DJANGO_SECRET_KEY has too little entropy" in result.stderr
    assert "Traceback" not in result.stderr


def test_daphne_import_refuses_missing_keys() -> None:
    # Empty values must count as missing, or the developer's .env would not be the only fallback.
    result = run(["-c", "import tradeops.asgi"], DJANGO_SECRET_KEY="", FIELD_ENCRYPTION_KEY="")
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is not set" in result.stderr
    assert "FIELD_ENCRYPTION_KEY is not set" in result.stderr


def test_the_worker_refuses_before_starting() -> None:
    # A timeout here means qcluster started its workers with a published key.
    result = run(["manage.py", "qcluster"], DJANGO_SECRET_KEY="change-me", FIELD_ENCRYPTION_KEY=STRONG_FERNET)
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is a published example value" in result.stderr
    assert "Traceback" not in result.stderr


def test_keygen_runs_without_keys_and_its_keys_pass_a_production_deploy_check(tmp_path: Path) -> None:
    env_file = tmp_path / "generated.env"
    result = run(["-m", "tradeops.keygen", "--env-file", str(env_file)], DJANGO_SECRET_KEY="", FIELD_ENCRYPTION_KEY="")
    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    keys = dotenv_values(env_file)

    result = run(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        DJANGO_SECRET_KEY=keys["DJANGO_SECRET_KEY"],
        FIELD_ENCRYPTION_KEY=keys["FIELD_ENCRYPTION_KEY"],
        DEBUG="false",
        ALLOWED_HOSTS="tradeops.example.com",
        HTTPS="true",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


# EXCHANGE_EMULATOR_URL ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "live", "refused"),
    [
        ("", True, False),
        ("http://127.0.0.1:8900", False, False),
        ("http://localhost:8900", False, False),
        ("http://[::1]:8900", False, False),
        ("http://10.0.0.5:8900", False, True),
        ("http://emulator.example.com:8900", False, True),
        ("http://127.0.0.1.example.com:8900", False, True),
        ("http://127.0.0.1", False, True),  # no port
        ("https://127.0.0.1:8900", False, True),
        ("http://127.0.0.1:8900", True, True),  # never beside live trading
    ],
)
def test_the_exchange_emulator_url_is_loopback_only_and_never_with_live_trading(
    url: str, live: bool, refused: bool
) -> None:
    problems = checks.exchange_emulator_problems(url=url, live_trading_enabled=live)
    assert bool(problems) is refused
    if refused:
        assert "EXCHANGE_EMULATOR_URL" in problems[0]


def test_manage_py_refuses_a_non_loopback_exchange_emulator_url() -> None:
    result = run(
        ["manage.py", "check"],
        DJANGO_SECRET_KEY=STRONG_SECRET,
        FIELD_ENCRYPTION_KEY=STRONG_FERNET,
        EXCHANGE_EMULATOR_URL="http://10.0.0.5:8900",
    )
    assert result.returncode != 0
    assert "EXCHANGE_EMULATOR_URL='http://10.0.0.5:8900' is not a loopback address" in result.stderr
    assert "Traceback" not in result.stderr
