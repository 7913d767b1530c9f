"""Failed logins (django-axes): after LOGIN_FAILURE_LIMIT wrong passwords a username is locked out from
that address, with a page that says until when; a success before then resets the count; an admin
unlocks by deleting the attempt in the admin."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from axes.models import AccessAttempt
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"  # UserFactory's
ADDRESS = "10.0.0.7"


@pytest.fixture(autouse=True)
def limits(settings) -> None:
    settings.AXES_FAILURE_LIMIT = 3
    settings.AXES_COOLOFF_TIME = timedelta(minutes=15)


def log_in(client: Client, username: str, password: str, address: str = ADDRESS):
    return client.post(reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=address)


def test_wrong_passwords_lock_the_username_out_with_a_clear_message(viewer) -> None:
    client = Client()
    for _ in range(2):
        answer = log_in(client, viewer.username, "wrong")
        assert answer.status_code == 200 and "did not match" in answer.content.decode()
    before = timezone.now().replace(microsecond=0)
    locked = log_in(client, viewer.username, "wrong")
    after = timezone.now()
    assert locked.status_code == 429
    assert locked["Retry-After"] == str(15 * 60)
    text = locked.content.decode()
    assert "Too many failed logins" in text and "in 15 minutes" in text
    shown = re.search(r"Try again after <strong>(\S+ \S+) UTC</strong>", text)
    assert shown, text
    retry_at = datetime.strptime(shown.group(1), "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    assert before + timedelta(minutes=15) <= retry_at <= after + timedelta(minutes=15)

    # Even the right password is refused while locked out, and no session starts.
    again = log_in(client, viewer.username, PASSWORD)
    assert again.status_code == 429 and "_auth_user_id" not in client.session


def test_the_lockout_is_per_username_and_address(viewer) -> None:
    for _ in range(3):
        log_in(Client(), viewer.username, "wrong")
    elsewhere = Client()
    assert log_in(elsewhere, viewer.username, PASSWORD, address="10.0.0.8").status_code == 302
    colleague = UserFactory(role="viewer")
    assert log_in(Client(), colleague.username, PASSWORD).status_code == 302


def test_a_successful_login_resets_the_count(viewer) -> None:
    for _ in range(2):
        log_in(Client(), viewer.username, "wrong")
    assert log_in(Client(), viewer.username, PASSWORD).status_code == 302
    for _ in range(2):
        assert log_in(Client(), viewer.username, "wrong").status_code == 200


def test_an_admin_unlocks_in_the_admin(viewer, admin_user) -> None:
    admin_client = Client()
    admin_client.force_login(admin_user)
    for _ in range(3):
        log_in(Client(), viewer.username, "wrong")
    assert log_in(Client(), viewer.username, PASSWORD).status_code == 429

    attempt = AccessAttempt.objects.get(username=viewer.username)
    changelist = reverse("admin:axes_accessattempt_changelist")
    assert viewer.username in admin_client.get(changelist, {"q": viewer.username}).content.decode()
    admin_client.post(reverse("admin:axes_accessattempt_delete", args=[attempt.pk]), {"post": "yes"})
    assert log_in(Client(), viewer.username, PASSWORD).status_code == 302
