"""Running the operator's commands in tests: call_command with captured output, as a terminal would see it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import TestCase


@dataclass
class Ran:
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)

    def json_lines(self) -> list[Any]:
        return [json.loads(line) for line in self.out.splitlines() if line.strip()]


def run(*args: str) -> Ran:
    """The command's stdout and stderr; a CommandError (exit 1) propagates. What the command hands to
    the worker after its commit (a plan's task) runs at that commit, as django-q2 does synchronously in
    tests: the test's transaction never commits, so its on-commit callbacks are run here."""
    out, err = StringIO(), StringIO()
    with TestCase.captureOnCommitCallbacks(execute=True):
        call_command(*args, stdout=out, stderr=err)
    return Ran(out.getvalue(), err.getvalue())


def refused(*args: str, match: str) -> CommandError:
    """The command fails with exit code 1 and a reason matching `match`."""
    with pytest.raises(CommandError, match=match) as caught:
        run(*args)
    assert caught.value.returncode == 1
    return caught.value
