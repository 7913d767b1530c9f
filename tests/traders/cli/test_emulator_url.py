"""EXCHANGE_EMULATOR_URL: a real `manage.py` process aims a testnet account's ccxt client at an emulator
running in another process, started with the README's own command; live accounts are never aimed there."""

from __future__ import annotations

import json
import os
import re
import shlex
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings as django_settings

from apps.exchanges.adapters import factory
from apps.exchanges.models import ExchangeAccount
from apps.exchanges.services import exchange_account_create
from tests.traders.approval_helpers import approved
from tests.traders.cli.test_cli_readme import SECTION

EMULATOR_COMMAND = ".venv/bin/python -m apps.exchanges.emulator "
TIMEOUT = 60


def readme_setup() -> tuple[list[str], dict[str, str]]:
    """The section's emulator command line and the variables it exports."""
    text = Path(django_settings.BASE_DIR, "README.md").read_text()
    section = text.split(SECTION, 1)[1].split("\n## ", 1)[0]
    lines = [line for block in re.findall(r"```sh\n(.*?)```", section, flags=re.S) for line in block.splitlines()]
    emulator = next(shlex.split(line[len(EMULATOR_COMMAND) :]) for line in lines if line.startswith(EMULATOR_COMMAND))
    exports = dict(line.removeprefix("export ").split("=", 1) for line in lines if line.startswith("export "))
    return emulator, exports


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def readme_emulator() -> Iterator[tuple[str, list[str]]]:
    """The emulator started as the README says (on a free port instead of 8900): its URL and arguments."""
    args, _ = readme_setup()
    port = free_port()
    args[args.index("--port") + 1] = str(port)
    process = subprocess.Popen(
        [sys.executable, "-m", "apps.exchanges.emulator", *args],
        cwd=django_settings.BASE_DIR,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        banner = next(line for line in process.stdout if "emulator on" in line)  # after the server's log line
        assert f"emulator on http://127.0.0.1:{port}" in banner
        yield f"http://127.0.0.1:{port}", args
    finally:
        process.terminate()
        process.wait(timeout=TIMEOUT)


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=django_settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )


def test_the_readme_exports_the_url_of_the_emulator_it_starts() -> None:
    args, exports = readme_setup()
    assert exports["EXCHANGE_EMULATOR_URL"] == f"http://127.0.0.1:{args[args.index('--port') + 1]}"


def test_a_manage_py_process_trades_a_testnet_account_on_the_emulator(readme_emulator, tmp_path) -> None:
    url, args = readme_emulator
    key, secret = args[args.index("--api-key") + 1], args[args.index("--api-secret") + 1]
    env = {name: value for name, value in os.environ.items() if name not in ("DJANGO_SETTINGS_MODULE", "REDIS_URL")}
    env |= {"DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}", "REDIS_URL": "", "LIVE_TRADING_ENABLED": "false"}
    assert manage("migrate", "-v0", env=env).returncode == 0
    create = (
        "from django.contrib.auth import get_user_model; "
        "from apps.exchanges.services import exchange_account_create; "
        "get_user_model().objects.create_superuser('admin', 'admin@example.com', 'x'); "
        "exchange_account_create(name='Binance testnet', exchange='binanceusdm', mode='testnet', "
        f"secrets={{'api_key': {key!r}, 'api_secret': {secret!r}}})"
    )
    assert manage("shell", "-c", create, env=env).returncode == 0

    aimed = manage("positions", "--account", "Binance testnet", env=env | {"EXCHANGE_EMULATOR_URL": url})

    assert aimed.returncode == 0, aimed.stderr
    assert aimed.stdout.strip() == "No open positions on Binance testnet."
    assert f"WARNING: EXCHANGE_EMULATOR_URL={url}" in aimed.stderr
    # The emulator itself answered, and accepted the request signed with the account's keys.
    with urllib.request.urlopen(f"{url}/_emulator/requests", timeout=TIMEOUT) as response:
        answered = json.load(response)
    assert any("positionRisk" in request["path"] and request["status"] == 200 for request in answered["requests"]), (
        answered
    )


@pytest.mark.django_db
@pytest.mark.parametrize(("url", "aimed"), [("http://127.0.0.1:8900", True), ("", False)])
def test_only_testnet_accounts_are_aimed_at_the_emulator(settings, url: str, aimed: bool) -> None:
    settings.EXCHANGE_EMULATOR_URL = url
    accounts = {
        mode: approved(  # four-eyes: the live one goes live once a second admin approves
            exchange_account_create(
                name=f"Binance {mode}", exchange="binanceusdm", mode=mode, secrets={"api_key": "k", "api_secret": "s"}
            )
        )
        for mode in (ExchangeAccount.Mode.TESTNET, ExchangeAccount.Mode.LIVE)
    }
    urls = {mode: str(factory.adapter_for_account(account).client.urls["api"]) for mode, account in accounts.items()}

    assert ("127.0.0.1:8900" in urls[ExchangeAccount.Mode.TESTNET]) is aimed
    if not aimed:  # unset: ccxt's own testnet endpoints, as before
        assert "testnet.binancefuture.com" in urls[ExchangeAccount.Mode.TESTNET]
    assert "127.0.0.1" not in urls[ExchangeAccount.Mode.LIVE] and "fapi.binance.com" in urls[ExchangeAccount.Mode.LIVE]
