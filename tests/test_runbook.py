"""docs/runbook.md is true: every manage.py command and option, make target, setting, page and API route
it names exists, and its PostgreSQL backup and restore commands round-trip a database."""

from __future__ import annotations

import argparse
import re
import subprocess
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import get_commands, load_command_class
from django.db import connection
from django.urls import Resolver404, resolve

from tradeops.api import api

BASE_DIR = Path(settings.BASE_DIR)
RUNBOOK = (BASE_DIR / "docs" / "runbook.md").read_text()
CODE = RUNBOOK.replace("\\\n", " ")
# Names from outside TradeOps' settings: Docker's, PostgreSQL's, the image's.
EXTERNAL_NAMES = {"POSTGRES_PASSWORD", "PASSWORD", "ACCOUNT", "NAME"}


def option_strings(parser: argparse.ArgumentParser) -> set[str]:
    """Every --option of a command, its subcommands' too."""
    found: set[str] = set()
    for action in parser._actions:
        found.update(action.option_strings)
        if isinstance(action, argparse._SubParsersAction):
            for subparser in action.choices.values():
                found |= option_strings(subparser)
    return found


def test_the_runbook_is_linked_from_the_readme() -> None:
    assert "(docs/runbook.md)" in (BASE_DIR / "README.md").read_text()


def test_every_manage_py_command_and_option_it_names_exists() -> None:
    commands = get_commands()
    uses = re.findall(r"manage\.py ([a-z_]+)([^`|\n]*)", CODE)
    assert len(uses) >= 10
    for name, rest in uses:
        assert name in commands, f"the runbook names `manage.py {name}`, which does not exist"
        parser = load_command_class(commands[name], name).create_parser("manage.py", name)
        for option in re.findall(r"(--[a-z][a-z-]+)", rest):
            assert option in option_strings(parser), f"`manage.py {name}` has no {option}"


def test_every_make_target_it_names_exists() -> None:
    makefile = (BASE_DIR / "Makefile").read_text()
    for target in set(re.findall(r"`make ([a-z-]+)", RUNBOOK)):
        assert re.search(rf"^{target}:", makefile, re.MULTILINE), f"no make target {target}"


def test_every_setting_it_names_is_read_by_tradeops_or_the_compose_file() -> None:
    sources = (BASE_DIR / "tradeops" / "settings.py").read_text() + (BASE_DIR / "docker-compose.yml").read_text()
    names = set(re.findall(r"`([A-Z][A-Z0-9_]{3,})(?:=[^`]*)?`", RUNBOOK)) - EXTERNAL_NAMES
    assert {"METRICS_TOKEN", "FIELD_ENCRYPTION_KEY", "LIVE_TRADING_ENABLED", "TRADE_LEASE_SECONDS"} <= names
    for name in names:
        assert f'"{name}"' in sources or f"{name}:" in sources, f"the runbook names {name}, which nothing reads"


def test_every_page_it_names_resolves() -> None:
    pages = set(re.findall(r"`(/(?!api/)[a-z][a-z0-9/_-]*(?:ID/)?)`", RUNBOOK)) | {"/"}
    assert {"/risk/", "/alerts/", "/api-keys/", "/health/ready"} <= pages
    for page in pages:
        try:
            resolve(page.replace("ID", "1"))
        except Resolver404:
            pytest.fail(f"the runbook names the page {page}, which does not resolve")


def test_every_api_route_it_names_exists_with_its_method() -> None:
    schema_paths = api.get_openapi_schema()["paths"]
    routes = re.findall(r"`(GET|POST) (/api/v1/[^ `]+)", RUNBOOK)
    routes += [("POST", path) for path in re.findall(r"`POST (/api/v1/[^`]+)`", RUNBOOK)]
    assert routes
    for method, path in routes:
        assert path in schema_paths, f"no API route {path}"
        assert method.lower() in schema_paths[path], f"{path} has no {method}"


@pytest.mark.django_db(transaction=True)
def test_the_backup_and_restore_commands_round_trip_the_database(operator) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("pg_dump and pg_restore need PostgreSQL (DATABASE_URL); CI runs this")
    for command in ("--format=custom", "pg_restore -U tradeops -d tradeops_restored --no-owner --exit-on-error"):
        assert command in RUNBOOK
    db = settings.DATABASES["default"]
    server = ["-h", db["HOST"] or "127.0.0.1", "-p", str(db["PORT"] or 5432), "-U", db["USER"]]
    env = {"PGPASSWORD": db["PASSWORD"] or "", "PATH": "/usr/bin:/bin"}
    restored = f"tradeops_restored_{uuid.uuid4().hex[:8]}"
    dump = subprocess.run(
        ["pg_dump", *server, "-d", db["NAME"], "--format=custom"], env=env, capture_output=True, check=True
    ).stdout
    subprocess.run(["createdb", *server, restored], env=env, check=True)
    try:
        subprocess.run(
            ["pg_restore", *server, "-d", restored, "--no-owner", "--exit-on-error"], input=dump, env=env, check=True
        )
        query = "SELECT username FROM auth_user ORDER BY id"
        copy = subprocess.run(
            ["psql", *server, "-d", restored, "-tAc", query], env=env, capture_output=True, text=True, check=True
        )
        assert copy.stdout.split() == [operator.username]
    finally:
        subprocess.run(["dropdb", *server, "--if-exists", restored], env=env, check=True)
