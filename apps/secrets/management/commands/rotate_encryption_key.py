from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.secrets.rotation import (
    RotationError,
    encryption_key_drop_old,
    encryption_key_reencrypt,
    encryption_key_rotate,
)
from tradeops.keygen import new_field_encryption_key

RESTART = (
    "Restart every web (daphne) and worker (qcluster) process now, on every host, so they load the "
    "new list: until a process restarts it cannot read the re-encrypted secrets."
)


class Command(BaseCommand):
    help = (
        "Re-encrypt every stored secret under a new FIELD_ENCRYPTION_KEY. Step 1 (default): add a new "
        "key in front of the old ones in the env file, then re-encrypt all secrets in one transaction. "
        "Step 2 (--drop-old), after every process has restarted: remove the old keys."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        mode = parser.add_mutually_exclusive_group()
        mode.add_argument(
            "--new-key",
            help="a Fernet key to rotate to, written --new-key=KEY (a key may start with '-'); default: "
            "generate one, which keeps it out of shell history and the process list",
        )
        mode.add_argument(
            "--drop-old",
            action="store_true",
            help="step 2: check that the first key alone opens every secret, then remove the others from the env file",
        )
        mode.add_argument(
            "--reencrypt-only",
            action="store_true",
            help="re-encrypt under the first configured key without touching the env file: finishes an "
            "interrupted rotation, or rotates a FIELD_ENCRYPTION_KEY managed outside the env file",
        )
        parser.add_argument(
            "--env-file",
            type=Path,
            default=None,
            help="the env file the processes load (default: BASE_DIR/.env)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        env_file: Path = options["env_file"] or Path(settings.BASE_DIR) / ".env"
        try:
            if options["drop_old"]:
                self._drop_old(env_file)
            elif options["reencrypt_only"]:
                self._reencrypt_only()
            else:
                self._rotate(options["new_key"] or new_field_encryption_key(), env_file)
        except RotationError as exc:
            raise CommandError(f"Key rotation: {exc}") from exc

    def _rotate(self, new_key: str, env_file: Path) -> None:
        result = encryption_key_rotate(new_key=new_key, env_file=env_file)
        old = result.keys_listed - 1
        self.stdout.write(
            self.style.SUCCESS(
                f"Re-encrypted {result.reencrypted} secrets under a new FIELD_ENCRYPTION_KEY in one transaction; "
                "the new key alone opens every one."
            )
        )
        self.stdout.write(
            f"{env_file} now lists {result.keys_listed} keys: the new key first (encrypts), then {old} old "
            f"key{'s' if old != 1 else ''} (still decrypt)."
        )
        self.stdout.write("Next steps:")
        self.stdout.write(f"  1. {RESTART}")
        self.stdout.write("     Hosts with their own copy of the env file need the new FIELD_ENCRYPTION_KEY line.")
        self.stdout.write("  2. Back up the env file: a lost key makes the secrets sealed with it unreadable.")
        self.stdout.write("  3. Once everything has restarted: python manage.py rotate_encryption_key --drop-old")

    def _reencrypt_only(self) -> None:
        result = encryption_key_reencrypt()
        self.stdout.write(
            self.style.SUCCESS(
                f"Re-encrypted {result.reencrypted} secrets under the first of the {result.keys_listed} "
                "configured keys in one transaction; that key alone opens every one."
            )
        )
        self.stdout.write("Next steps:")
        self.stdout.write(f"  1. {RESTART}")
        self.stdout.write("  2. Then remove the old keys: python manage.py rotate_encryption_key --drop-old")

    def _drop_old(self, env_file: Path) -> None:
        dropped = encryption_key_drop_old(env_file=env_file)
        if not dropped:
            self.stdout.write("FIELD_ENCRYPTION_KEY lists one key; there is no old key to remove.")
            return
        self.stdout.write(
            self.style.SUCCESS(
                f"Every secret opens with the first key alone; removed {dropped} old "
                f"key{'s' if dropped != 1 else ''} from {env_file}."
            )
        )
        self.stdout.write(
            "Next step: restart every web and worker process so none keeps the old key in memory, and "
            "delete backups that still hold it."
        )
