"""What the operator's commands share: the acting user (`--user`, by default the only admin) and the
role it needs, `--json` output, aligned tables, and the exit codes.

Exit codes: 0 done; 1 refused or failed, the reason on stderr (a CommandError); 2 bad arguments
(argparse's own). A command acts as a user so that what it changes records who did it, and it is
refused what that user's role may not do, with the same rule and message as the API
(apps.core.roles, apps.core.auth).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Q

from apps.core.roles import NO_ROLE_MESSAGE, Role, has_role

NAMES_SHOWN = 10


def admins() -> list[Any]:
    """Active admins: superusers and members of the admin group."""
    users = get_user_model().objects.filter(is_active=True)
    found = users.filter(Q(is_superuser=True) | Q(groups__name=Role.ADMIN.value)).distinct().order_by("username")
    return list(found)


def acting_user(username: str | None, role: Role) -> Any:
    """The user a command acts as, holding at least `role`; CommandError (exit 1) otherwise."""
    if username:
        user = get_user_model().objects.filter(username=username).first()
        if user is None or not user.is_active:
            raise CommandError(f"no active user named {username!r}")
    else:
        found = admins()
        if len(found) != 1:
            names = ", ".join(user.get_username() for user in found[:NAMES_SHOWN])
            what = f"there are {len(found)} admins ({names})" if found else "there is no admin yet"
            raise CommandError(f"name the user to act as with --user: {what}")
        user = found[0]
    if not has_role(user, Role.VIEWER):
        raise CommandError(f"{user.get_username()}: {NO_ROLE_MESSAGE}")
    if not has_role(user, role):
        raise CommandError(f"{user.get_username()} may not do this: it needs the {role} role.")
    return user


def table(rows: Sequence[Mapping[str, str]]) -> list[str]:
    """Aligned columns named by the first row's keys, the last one unpadded (put the longest, a reason,
    last); no rows, no lines."""
    if not rows:
        return []
    names = list(rows[0])
    widths = {name: max(len(name), *(len(row[name]) for row in rows)) for name in names[:-1]}

    def line(cells: Mapping[str, str]) -> str:
        return "  ".join([*(cells[name].ljust(widths[name]) for name in names[:-1]), cells[names[-1]]]).rstrip()

    return [line({name: name for name in names}), *(line(row) for row in rows)]


def positive_decimal(text: str) -> Decimal:
    """An argparse type: a positive number, as a Decimal (a bad one is an argument error, exit 2)."""
    try:
        value = Decimal(text)
    except (InvalidOperation, ValueError):
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value.is_finite() or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, not {text}")
    return value


def to_json(data: Any) -> str:
    """One line of JSON; Decimals as strings (full precision), times in ISO 8601."""
    return json.dumps(data, cls=DjangoJSONEncoder)


def add_common_arguments(parser: CommandParser) -> None:
    """`--user` and `--json`, on a command's parser or on each of its subcommands' parsers."""
    parser.add_argument("--user", metavar="NAME", help="act as this user (default: the only admin, when there is one)")
    parser.add_argument("--json", action="store_true", help="print JSON for scripts instead of text for people")


class OperatorCommand(BaseCommand):
    """A command acting as a named user: `--user` and `--json`, and `self.act_as(role)`. Commands with
    subcommands call add_common_arguments on each subcommand's parser instead."""

    def add_arguments(self, parser: CommandParser) -> None:
        add_common_arguments(parser)

    def act_as(self, options: Mapping[str, Any], role: Role) -> Any:
        return acting_user(options.get("user"), role)

    def emit(
        self,
        options: Mapping[str, Any],
        *,
        data: Any,
        rows: Iterable[Mapping[str, Any]],
        empty: str = "",
    ) -> None:
        """`data` as one line of JSON with --json (full precision, for scripts), else `rows` as an
        aligned table (numbers already formatted for people), or `empty` when there are none."""
        if options.get("json"):
            self.stdout.write(to_json(data))
            return
        rows = list(rows)
        if not rows and empty:
            self.stdout.write(empty)
        for line in table([{name: _cell(value) for name, value in row.items()} for row in rows]):
            self.stdout.write(line)


def _cell(value: Any) -> str:
    if value is None or value == "":
        return "-"
    return str(value)
