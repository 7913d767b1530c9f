"""What the benchmark scripts share: running a measurement in a child process (its own
database, a clean memory baseline) and printing an aligned table."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def json_from_child(argv: Sequence[str], *, database_url: str | None = None, what: str) -> dict:
    """Run `python *argv` from the project root; its last output line is the JSON result."""
    env = dict(os.environ, DEBUG="false")
    if database_url is not None:
        env["DATABASE_URL"] = database_url
    completed = subprocess.run(
        [sys.executable, *argv], env=env, cwd=PROJECT_ROOT, capture_output=True, text=True, check=False
    )
    if completed.returncode != 0:
        sys.exit(f"{what} failed:\n{completed.stderr}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def print_table(headers: Sequence[str], rows: Sequence[Sequence[str]], *, left: Sequence[int] = (0,)) -> None:
    """Columns padded to their widest cell; the `left` columns are left-aligned, numbers right."""
    widths = [max(len(row[i]) for row in (headers, *rows)) for i in range(len(headers))]
    print()
    for row in (headers, *rows):
        cells = zip(row, widths, strict=True)
        print("  ".join(cell.ljust(width) if i in left else cell.rjust(width) for i, (cell, width) in enumerate(cells)))
