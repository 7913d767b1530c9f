"""Rotate FIELD_ENCRYPTION_KEY without a moment where a stored secret has no readable key.

1. The env file is rewritten to list NEW,OLD before any row changes. A crash from then on
   leaves every row under a key that processes started from the file still hold.
2. One transaction re-encrypts every Secret under NEW and proves NEW alone opens each row
   before it commits; any failure rolls every row back to OLD, which the file still lists.
3. `drop_old`, once every process runs with NEW,OLD, proves NEW alone opens every row and only
   then removes the old keys from the file.

Keys are never printed or logged; the file is the one place they live.
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import transaction
from dotenv import dotenv_values

from apps.secrets import crypto
from apps.secrets.models import Secret
from tradeops import checks

ENV_NAME = "FIELD_ENCRYPTION_KEY"
REENCRYPT_REASON = "re-encrypted under a new FIELD_ENCRYPTION_KEY (value unchanged)"
_ENV_LINE = re.compile(rf"^(\s*(?:export\s+)?){ENV_NAME}\s*=.*$", re.MULTILINE)


class RotationError(Exception):
    """The rotation refused to run or stopped; the message says what state it left behind."""


@dataclass(frozen=True)
class RotationResult:
    reencrypted: int
    keys_listed: int


def new_key_problems(*, new_key: str, current_keys: list[str]) -> list[str]:
    problems = checks.field_encryption_key_problems([new_key])
    if new_key in current_keys:
        problems.append(f"the new key is already in {ENV_NAME}; a rotation needs a key that was never used.")
    if new_key == settings.SECRET_KEY:
        problems.append(f"the new key equals DJANGO_SECRET_KEY; {ENV_NAME} must be a different key.")
    return problems


def env_file_keys(path: Path) -> list[str] | None:
    """The key list `path` defines, split the way settings.py splits it; None when it has none."""
    if not path.is_file():
        return None
    raw = dotenv_values(path).get(ENV_NAME)
    if raw is None:
        return None
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_file_write_keys(*, path: Path, keys: list[str]) -> None:
    """Point the file's FIELD_ENCRYPTION_KEY at `keys`, keeping every other line.

    A temp file in the same directory (mkstemp creates it with mode 0600) replaces the old one
    in a single rename, so a crash leaves either the old file or the new one, never half of either.
    """
    text = path.read_text()
    line = f"{ENV_NAME}={','.join(keys)}"
    if _ENV_LINE.search(text):
        text = _ENV_LINE.sub(lambda match: match.group(1) + line, text)
    else:
        text = text + ("" if text.endswith("\n") or not text else "\n") + line + "\n"
    fd, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def secrets_unreadable(*, keys: list[str]) -> list[int]:
    """Ids of the Secret rows that `keys` alone cannot decrypt."""
    rows = Secret.objects.order_by("pk").values_list("pk", "ciphertext")
    return [pk for pk, token in rows.iterator() if not crypto.opens_with(token, keys)]


@transaction.atomic
def secrets_reencrypt() -> int:
    """Re-encrypt every Secret under the first configured key; all rows or none."""
    primary = settings.FIELD_ENCRYPTION_KEY[0]
    rows = list(Secret.objects.select_for_update().order_by("pk"))
    for secret in rows:
        secret.ciphertext = crypto.reencrypt(secret.ciphertext)
        secret._change_reason = REENCRYPT_REASON
        # updated_at stays: it tells operators when the value last changed, and it did not.
        secret.save(update_fields=["ciphertext"])
    # Read back what the database will commit, not what this loop believes it wrote.
    unreadable = secrets_unreadable(keys=[primary])
    if unreadable:
        raise RotationError(f"{len(unreadable)} secrets (ids {_ids(unreadable)}) do not open with the new key alone")
    return len(rows)


def _ids(pks: list[int], shown: int = 10) -> str:
    more = f" and {len(pks) - shown} more" if len(pks) > shown else ""
    return ", ".join(map(str, pks[:shown])) + more


def _require_env_file_matches(path: Path, current: list[str], *, managed_elsewhere: str) -> None:
    # settings.py loads the file with override=False: a FIELD_ENCRYPTION_KEY from the real
    # environment wins, and rewriting the file would then change nothing on restart.
    if env_file_keys(path) == current:
        return
    found = "does not exist" if not path.is_file() else f"does not define {ENV_NAME} as this process has it"
    raise RotationError(
        f"{path} {found}, so the keys come from the process environment and editing the file would "
        "not reach the restarted processes. Point --env-file at the file your processes load, or, "
        f"if {ENV_NAME} is managed elsewhere: {managed_elsewhere} Nothing was changed."
    )


def _write_keys(path: Path, keys: list[str]) -> None:
    try:
        env_file_write_keys(path=path, keys=keys)
    except OSError as exc:
        raise RotationError(f"could not update {path} ({exc}); no secret was changed.") from exc


def _require_all_readable(keys: list[str]) -> None:
    unreadable = secrets_unreadable(keys=keys)
    if unreadable:
        raise RotationError(
            f"{len(unreadable)} secrets (ids {_ids(unreadable)}) cannot be decrypted with the configured "
            f"{ENV_NAME}; add the key they were sealed with before rotating. Nothing was changed."
        )


def encryption_key_rotate(*, new_key: str, env_file: Path) -> RotationResult:
    current = list(settings.FIELD_ENCRYPTION_KEY)
    problems = new_key_problems(new_key=new_key, current_keys=current)
    if problems:
        raise RotationError("the new key is refused:\n  - " + "\n  - ".join(problems) + "\nNothing was changed.")
    _require_env_file_matches(
        env_file,
        current,
        managed_elsewhere="set it to NEW,OLD there, restart every process, then run "
        "`manage.py rotate_encryption_key --reencrypt-only`.",
    )
    _require_all_readable(current)

    keys = [new_key, *current]
    _write_keys(env_file, keys)
    settings.FIELD_ENCRYPTION_KEY = keys
    try:
        count = secrets_reencrypt()
    except Exception as exc:
        # The file keeps NEW,OLD even now: a failed COMMIT may still have landed, and then
        # removing NEW would strand every row. Keeping an unused key costs nothing.
        raise RotationError(
            f"re-encryption stopped ({type(exc).__name__}: {exc}) and was rolled back. Every secret is "
            f"still under its previous key, and {env_file} lists the new key first and the old keys "
            "after it, so all of them stay readable. Fix the cause, then run "
            "`manage.py rotate_encryption_key --reencrypt-only` to finish."
        ) from exc
    return RotationResult(reencrypted=count, keys_listed=len(keys))


def encryption_key_reencrypt() -> RotationResult:
    """Finish an interrupted rotation, or rotate keys managed outside the env file."""
    current = list(settings.FIELD_ENCRYPTION_KEY)
    _require_all_readable(current)
    return RotationResult(reencrypted=secrets_reencrypt(), keys_listed=len(current))


def encryption_key_drop_old(*, env_file: Path) -> int:
    """Remove every key but the first from the env file; returns how many were removed."""
    current = list(settings.FIELD_ENCRYPTION_KEY)
    unreadable = secrets_unreadable(keys=current[:1])
    if unreadable:
        elsewhere = "run `manage.py rotate_encryption_key --reencrypt-only` first, then remove the other keys there."
    else:
        elsewhere = "every secret opens with its first key alone, so remove the other keys there yourself."
    _require_env_file_matches(env_file, current, managed_elsewhere=elsewhere)
    if len(current) == 1:
        return 0
    if unreadable:
        raise RotationError(
            f"{len(unreadable)} secrets (ids {_ids(unreadable)}) still need an old key. Run "
            "`manage.py rotate_encryption_key --reencrypt-only` first. Nothing was changed."
        )
    _write_keys(env_file, current[:1])
    settings.FIELD_ENCRYPTION_KEY = current[:1]
    return len(current) - 1
