"""The image carries no keys: .dockerignore keeps `.env`, `var/` (the SQLite database with the encrypted
secrets), `.venv`, `.git` and caches out of the build context that docker-compose.yml's `COPY . .` copies.

The context is computed with docker-py's `exclude_paths`, the matcher `docker build` clients use (a port of
Docker's own Go pattern matcher: patterns anchored at the context root, `*` never crossing `/`, `**`, `!`
exceptions, a directory's exclusion covering what is under it). pathspec implements .gitignore instead,
where `*.pyc` matches at any depth; under Docker's rules it matches at the root only, and a test built on
gitignore semantics would pass on a file that lets `apps/__pycache__/x.pyc` through."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from docker.utils import build as docker_build

BASE_DIR = Path(settings.BASE_DIR)
NEVER_SENT = (
    ".env",
    ".env.local",
    "var/tradeops.sqlite3",
    "var/tradeops.sqlite3-wal",
    "var/e2e-artifacts/login/page.png",
    "db.sqlite3",
    ".venv/bin/python",
    ".git/config",
    ".pytest_cache/v/cache/lastfailed",
    ".ruff_cache/CACHEDIR.TAG",
    ".hypothesis/examples/x",
    "apps/market/__pycache__/models.cpython-311.pyc",
    "apps/market/.env",
    "apps/market/var/leftover.sqlite3",
    "tests/market/test_api.py",
    "bench/out/report.txt",
    "docs/design.md",
    "Makefile",
    "requirements-dev.txt",
)
SENT = (
    "manage.py",
    "requirements.txt",
    "pyproject.toml",
    "apps/market/models.py",
    "tradeops/settings.py",
    "templates/base.html",
    "static/css/app.css",
    "fixtures/demo.json",
)


def dockerignore_patterns(context: Path) -> list[str]:
    """The patterns of `context`/.dockerignore, read as docker-py's build does (comments and blanks dropped)."""
    lines = (context / ".dockerignore").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.strip().startswith("#")]


def sent(context: Path) -> set[str]:
    """Every path (files and folders, relative to the context) that a build would send."""
    return set(docker_build.exclude_paths(str(context), dockerignore_patterns(context)))


def test_keys_databases_virtualenvs_and_caches_never_reach_the_image(tmp_path: Path) -> None:
    (tmp_path / ".dockerignore").write_text((BASE_DIR / ".dockerignore").read_text())
    for relative in NEVER_SENT + SENT:
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_text("x")

    context = sent(tmp_path)

    assert sorted(set(NEVER_SENT) & context) == []
    assert not any(path.startswith(("var/", ".venv/", ".git/", "tests/")) for path in context)
    assert set(SENT) <= context


def test_the_checkout_sends_what_the_app_runs_on_and_nothing_secret() -> None:
    context = sent(BASE_DIR)

    assert {"manage.py", "requirements.txt", "apps/market/models.py", "fixtures/demo.json"} <= context
    secret = [path for path in context if Path(path).name == ".env" or path.split("/")[0] in {"var", ".venv", ".git"}]
    assert secret == []
    assert not [path for path in context if "__pycache__" in path or path.endswith(".pyc")]
