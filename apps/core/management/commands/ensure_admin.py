"""Create the first admin user with a random password, printed once. Does nothing if it exists."""

from __future__ import annotations

import secrets
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Create the 'admin' superuser with a random password shown once (no-op when it exists)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--username", default="admin")

    def handle(self, *args: Any, username: str, **options: Any) -> None:
        users = get_user_model().objects
        if users.filter(username=username).exists():
            self.stdout.write(f"Admin user '{username}' already exists; its password is unchanged.")
            return
        password = secrets.token_urlsafe(12)
        users.create_superuser(username=username, password=password)
        self.stdout.write(
            self.style.SUCCESS(f"Created admin user '{username}' with password: {password}\n")
            + "This is the only time the password is shown. Change it in the admin after logging in."
        )
