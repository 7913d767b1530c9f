"""The import order between apps (pyproject.toml, [tool.importlinter]; README "Architecture /
import order"): core ← secrets ← market ← strategies, ai ← signals; market, secrets ← exchanges ←
traders ← backtests ← dashboard, demo ← tradeops. A new import against it fails here."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

BASE_DIR = Path(settings.BASE_DIR)
LINT_IMPORTS = "from importlinter.cli import lint_imports_command; lint_imports_command()"


def lint_imports(project: Path) -> subprocess.CompletedProcess[str]:
    """import-linter over `project`'s apps and tradeops packages, with its pyproject.toml contracts.

    In a child process: the packages are found by name from its working directory, and this
    process has already imported the real ones."""
    return subprocess.run(
        [sys.executable, "-c", LINT_IMPORTS, "--no-cache", "--config", "pyproject.toml"],
        cwd=project,
        env={**os.environ, "COLUMNS": "200"},  # one line per import in the report, whatever the terminal
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_apps_import_only_the_apps_below_them() -> None:
    result = lint_imports(BASE_DIR)
    assert result.returncode == 0, (
        "An import goes against the import order (README: Architecture / import order). Move the code to "
        "the app that owns it, or let the lower app publish an event the higher one connects to.\n"
        + result.stdout
        + result.stderr
    )


@pytest.fixture
def skeleton(tmp_path: Path) -> Path:
    """An empty copy of the project's packages (every app, every tradeops module) with its contracts."""
    for package in [*BASE_DIR.glob("apps/*/__init__.py"), BASE_DIR / "apps/__init__.py"]:
        target = tmp_path / package.relative_to(BASE_DIR)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.touch()
    (tmp_path / "tradeops").mkdir()
    for module in BASE_DIR.glob("tradeops/*.py"):
        (tmp_path / "tradeops" / module.name).touch()
    shutil.copy(BASE_DIR / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_the_empty_skeleton_keeps_every_contract(skeleton: Path) -> None:
    result = lint_imports(skeleton)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("importer", "imported", "complaint"),
    [
        ("apps.market.replay", "apps.exchanges.models", "apps.market is not allowed to import apps.exchanges"),
        ("apps.market.replay", "apps.signals.services", "apps.market is not allowed to import apps.signals"),
        ("apps.strategies.spec", "apps.signals.models", "apps.strategies is not allowed to import apps.signals"),
        ("apps.core.crud", "apps.secrets.schemas", "apps.core is not allowed to import apps.secrets"),
        ("apps.exchanges.views", "apps.traders.models", "apps.exchanges is not allowed to import apps.traders"),
        ("apps.signals.views", "apps.exchanges.models", "apps.signals is not allowed to import apps.exchanges"),
        ("apps.exchanges.views", "apps.strategies.models", "apps.exchanges is not allowed to import apps.strategies"),
        ("apps.traders.cycle", "apps.backtests.engine", "apps.traders is not allowed to import apps.backtests"),
        ("apps.backtests.views", "tradeops.urls", "apps.backtests is not allowed to import tradeops.urls"),
    ],
)
def test_a_new_wrong_arrow_fails_naming_the_import(
    skeleton: Path, importer: str, imported: str, complaint: str
) -> None:
    for module in (importer, imported):
        path = skeleton.joinpath(*module.split(".")).with_suffix(".py")
        path.write_text(f"from {imported} import thing\n" if module == importer else "thing = 1\n")

    result = lint_imports(skeleton)

    assert result.returncode == 1, result.stdout + result.stderr
    assert complaint in result.stdout
    assert f"{importer} -> {imported} (l.1)" in result.stdout
