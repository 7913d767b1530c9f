"""Startup refusals: weak or published keys, and DEBUG exposed to the network.

Pure functions over plain values so that settings.py can call them before Django is set up,
and so that every web server, worker and management command refuses to start the same way.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import math
from collections import Counter
from urllib.parse import urlsplit

KEYGEN_HINT = "Run `make env` (or `python -m tradeops.keygen --env-file .env`) to generate fresh keys."

# Values printed in public docs and tutorials. A key anybody can read protects nothing.
PUBLISHED_VALUES = frozenset(
    {
        "change-me",
        "changeme",
        "secret",
        "your-secret-key",
        "your-secret-key-here",
        "django-insecure-change-me",
        "replace-with-a-long-random-value",
    }
)
DJANGO_INSECURE_PREFIX = "django-insecure-"
SECRET_KEY_MIN_LENGTH = 50
SECRET_KEY_MIN_DISTINCT = 12
SECRET_KEY_MIN_BITS_PER_CHAR = 3.5
FERNET_KEY_MIN_DISTINCT_BYTES = 16
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1", "[::1]", ".localhost", "testserver"})


def shannon_bits_per_symbol(symbols: bytes | str) -> float:
    counts = Counter(symbols)
    total = len(symbols)
    return -sum(n / total * math.log2(n / total) for n in counts.values())


def distinct_steps(codes: bytes | list[int]) -> int:
    """Different differences between neighbours: few for runs ("abcd…", bytes 0..31) and
    repeated blocks, which a frequency count alone cannot tell from random text."""
    return len({b - a for a, b in zip(codes, codes[1:], strict=False)})


def secret_key_problems(value: str | None) -> list[str]:
    name = "DJANGO_SECRET_KEY"
    if not value:
        return [f"{name} is not set. {KEYGEN_HINT}"]
    if value in PUBLISHED_VALUES or value.startswith(DJANGO_INSECURE_PREFIX):
        return [f"{name} is a published example value; anybody can forge sessions with it. {KEYGEN_HINT}"]
    if len(value) < SECRET_KEY_MIN_LENGTH:
        return [f"{name} is {len(value)} characters; it needs at least {SECRET_KEY_MIN_LENGTH}. {KEYGEN_HINT}"]
    if (
        any(ch.isspace() for ch in value)
        or len(set(value)) < SECRET_KEY_MIN_DISTINCT
        or shannon_bits_per_symbol(value) < SECRET_KEY_MIN_BITS_PER_CHAR
        or distinct_steps([ord(ch) for ch in value]) < SECRET_KEY_MIN_DISTINCT
    ):
        return [f"{name} has too little entropy (repeated or patterned characters). {KEYGEN_HINT}"]
    return []


def field_encryption_key_problems(keys: list[str]) -> list[str]:
    name = "FIELD_ENCRYPTION_KEY"
    if not keys:
        return [f"{name} is not set. {KEYGEN_HINT}"]
    problems: list[str] = []
    if len(set(keys)) != len(keys):
        problems.append(f"{name} lists the same key twice.")
    for position, key in enumerate(keys, start=1):
        label = f"{name} key {position}" if len(keys) > 1 else name
        problems.extend(_fernet_key_problems(label, key))
    return problems


def _fernet_key_problems(label: str, key: str) -> list[str]:
    if key in PUBLISHED_VALUES:
        return [f"{label} is a published example value; it protects nothing. {KEYGEN_HINT}"]
    try:
        raw = base64.urlsafe_b64decode(key.encode("ascii"))
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raw = b""
    if len(raw) != 32:
        return [f"{label} is not a Fernet key (32 bytes, url-safe base64, 44 characters). {KEYGEN_HINT}"]
    if len(set(raw)) < FERNET_KEY_MIN_DISTINCT_BYTES or distinct_steps(raw) < FERNET_KEY_MIN_DISTINCT_BYTES:
        return [f"{label} has too little entropy (repeated bytes). {KEYGEN_HINT}"]
    return []


def debug_host_problems(*, debug: bool, allowed_hosts: list[str]) -> list[str]:
    if not debug:
        return []
    exposed = [host for host in allowed_hosts if host not in LOCAL_HOSTS]
    if not exposed:
        return []
    return [
        f"DEBUG is on while ALLOWED_HOSTS names non-local hosts ({', '.join(exposed)}): "
        "debug pages would show settings and tracebacks to the network. Turn DEBUG off."
    ]


def is_loopback_host(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def exchange_emulator_problems(*, url: str, live_trading_enabled: bool) -> list[str]:
    """EXCHANGE_EMULATOR_URL aims testnet accounts at a local emulator: only on this machine, and never
    in an installation that may trade live."""
    if not url:
        return []
    name = "EXCHANGE_EMULATOR_URL"
    try:
        parts = urlsplit(url)
        host, port = parts.hostname or "", parts.port
    except ValueError:
        return [f"{name}={url!r} is not a URL; use http://127.0.0.1:8900 (the emulator's address)."]
    problems: list[str] = []
    if parts.scheme != "http" or port is None or not is_loopback_host(host):
        problems.append(
            f"{name}={url!r} is not a loopback address with a port; the emulator runs on this machine only, "
            "e.g. http://127.0.0.1:8900."
        )
    if live_trading_enabled:
        problems.append(f"{name} is set while LIVE_TRADING_ENABLED is on: the emulator is for testnet demos only.")
    return problems


def startup_problems(
    *,
    secret_key: str | None,
    field_keys: list[str],
    debug: bool,
    allowed_hosts: list[str],
    exchange_emulator_url: str = "",
    live_trading_enabled: bool = False,
) -> list[str]:
    problems = secret_key_problems(secret_key) + field_encryption_key_problems(field_keys)
    if secret_key and secret_key in field_keys:
        problems.append("DJANGO_SECRET_KEY and FIELD_ENCRYPTION_KEY must be different keys.")
    problems += exchange_emulator_problems(url=exchange_emulator_url, live_trading_enabled=live_trading_enabled)
    return problems + debug_host_problems(debug=debug, allowed_hosts=allowed_hosts)
