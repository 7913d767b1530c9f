"""API keys: shown once and stored hashed; a scope mirrors a role and never exceeds the owner's (at
creation and at each use); expired and revoked keys get 401; each use records when and from where;
the page lists, creates and revokes keys (admins: everyone's), and the admin finds and revokes them."""

from __future__ import annotations

import hashlib
import logging
from datetime import timedelta

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from apps.core.api_keys import api_key_create
from apps.core.errors import ServiceValidationError
from apps.core.models import ApiKey
from apps.traders.models import TradePlan
from tests.core.api_key_helpers import api_client, bearer, new_key
from tests.factories import TraderFactory, UserFactory
from tests.traders.conftest import trade_plan_for

pytestmark = pytest.mark.django_db

TRADERS = "/api/v1/traders"


def cancel_url(plan: TradePlan) -> str:
    return f"/api/v1/trade/plans/{plan.pk}/cancel"


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def set_role(user, role: str) -> None:
    user.groups.set([Group.objects.get(name=role)])


# Creation: shown once, only the hash kept ----------------------------------------------------


def test_the_page_shows_a_new_key_once_and_stores_only_its_hash(operator, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    client = logged_in(operator)
    response = client.post(reverse("api_key_new"), {"name": "rebalancer", "scope": "trade", "expires_in_days": 30})
    assert response.status_code == 201
    assert "no-store" in response["Cache-Control"]
    key = response.context["created"].key
    assert key in response.content.decode() and key.startswith("tops_")

    row = ApiKey.objects.get()
    assert (row.user, row.name, row.scope) == (operator, "rebalancer", "trade")
    assert row.key_hash == hashlib.sha256(key.encode()).hexdigest()  # hashlib: the independent reference
    assert key.startswith(row.prefix) and len(key) > len(row.prefix) + 40
    stored = [str(value) for value in ApiKey.objects.values_list().get()]
    assert not any(key in value for value in stored), "only the prefix and the hash are stored"
    assert 29 <= (row.expires_at - timezone.now()).days <= 30

    again = client.get(reverse("api_keys"))
    assert row.prefix in again.content.decode() and key not in again.content.decode()
    assert key not in caplog.text


def test_every_page_and_admin_view_hides_the_key(admin_user, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    key = new_key(admin_user, scope="admin")
    assert api_client().get(TRADERS, headers=bearer(key)).status_code == 200
    row = ApiKey.objects.get()
    client = logged_in(admin_user)
    pages = [
        reverse("api_keys"),
        reverse("api_key_revoke", args=[row.pk]),
        reverse("admin:core_apikey_changelist"),
        reverse("admin:core_apikey_change", args=[row.pk]),
    ]
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        text = response.content.decode()
        assert row.prefix in text, url
        assert key not in text and row.key_hash not in text, url
    assert key not in caplog.text and row.key_hash not in caplog.text


def test_a_scope_beyond_the_owners_role_is_refused(viewer, operator) -> None:
    with pytest.raises(ServiceValidationError) as refused:
        api_key_create(user=viewer, name="too much", scope="trade", expires_in_days=30)
    assert refused.value.field == "scope" and "beyond your role (viewer)" in refused.value.message
    with pytest.raises(ServiceValidationError):
        api_key_create(user=operator, name="too much", scope="admin", expires_in_days=30)

    response = logged_in(viewer).post(reverse("api_key_new"), {"name": "x", "scope": "trade", "expires_in_days": 30})
    assert response.status_code == 422
    assert "trade is not one of the available choices" in response.content.decode()
    assert [value for value, _label in response.context["form"].fields["scope"].choices] == ["read"]
    assert not ApiKey.objects.exists()


@pytest.mark.parametrize(
    ("field", "values", "message"),
    [
        ("name", {"name": "  "}, "Give the key a name"),
        ("scope", {"scope": "root"}, "must be one of read, trade, admin"),
        ("expires_in_days", {"expires_in_days": 3650}, "must be one of 7, 30, 90, 365 days"),
    ],
)
def test_bad_input_names_the_field(admin_user, field, values, message) -> None:
    with pytest.raises(ServiceValidationError) as refused:
        api_key_create(**{"user": admin_user, "name": "ok", "scope": "read", "expires_in_days": 30, **values})
    assert refused.value.field == field and message in refused.value.message
    assert not ApiKey.objects.exists()


# Use: scope, demotion, expiry, revocation, last use -------------------------------------------


def test_a_read_key_reads_but_cannot_trade(operator) -> None:
    plan = trade_plan_for(TraderFactory())
    read, trade = new_key(operator, "read"), new_key(operator, "trade")
    client = api_client()

    assert client.get(TRADERS, headers=bearer(read)).status_code == 200
    refused = client.post(cancel_url(plan), headers=bearer(read))
    assert refused.status_code == 403 and "trade scope" in refused.json()["detail"]
    plan.refresh_from_db()
    assert plan.status == TradePlan.Status.PREVIEWED

    # The same owner's trade key does (and, as a script, without any CSRF token).
    done = client.post(cancel_url(plan), headers=bearer(trade))
    assert done.status_code == 200, done.content
    plan.refresh_from_db()
    assert plan.status == TradePlan.Status.CANCELLED


def test_a_key_whose_owner_was_demoted_is_limited_at_use(operator) -> None:
    plan = trade_plan_for(TraderFactory())
    key = new_key(operator, "trade")
    set_role(operator, "viewer")
    client = api_client()
    assert client.post(cancel_url(plan), headers=bearer(key)).status_code == 403
    assert client.get(TRADERS, headers=bearer(key)).status_code == 200

    operator.groups.clear()  # no role at all: the key reads nothing either
    answer = client.get(TRADERS, headers=bearer(key))
    assert answer.status_code == 403 and "no role" in answer.json()["detail"]
    plan.refresh_from_db()
    assert plan.status == TradePlan.Status.PREVIEWED


def expire(row: ApiKey) -> None:
    row.created_at = timezone.now() - timedelta(days=2)
    row.expires_at = timezone.now() - timedelta(seconds=1)


@pytest.mark.parametrize(
    "spoil",
    [
        pytest.param(lambda row: expire(row), id="expired"),
        pytest.param(lambda row: setattr(row, "revoked_at", timezone.now()), id="revoked"),
        pytest.param(lambda row: setattr(row.user, "is_active", False) or row.user.save(), id="owner-deactivated"),
    ],
)
def test_an_expired_or_revoked_key_gets_401(viewer, spoil) -> None:
    key = new_key(viewer)
    client = api_client()
    assert client.get(TRADERS, headers=bearer(key)).status_code == 200
    row = ApiKey.objects.get()
    spoil(row)
    row.save()
    assert client.get(TRADERS, headers=bearer(key)).status_code == 401


@pytest.mark.parametrize(
    "presented",
    ["", "tops_", "not-a-key", "tops_00000000_" + "x" * 43, "Basic abc"],
)
def test_unknown_or_malformed_keys_get_401(viewer, presented) -> None:
    key = new_key(viewer)
    refused = api_client().get(TRADERS, headers={"Authorization": f"Bearer {presented}"})
    assert refused.status_code == 401
    if presented.startswith("tops_"):
        assert refused.json() == {"detail": "The API key is unknown, revoked or expired."}
    assert api_client().get(TRADERS, headers=bearer(key[:-1] + ("A" if key[-1] != "A" else "B"))).status_code == 401


def test_each_use_records_when_and_from_where(viewer) -> None:
    key = new_key(viewer)
    row = ApiKey.objects.get()
    assert row.last_used_at is None
    before = timezone.now()
    api_client().get(TRADERS, headers=bearer(key), REMOTE_ADDR="10.1.2.3")
    row.refresh_from_db()
    assert row.last_used_ip == "10.1.2.3" and before <= row.last_used_at <= timezone.now()

    api_client().get(TRADERS, headers=bearer(key), REMOTE_ADDR="10.9.9.9")
    row.refresh_from_db()
    assert row.last_used_ip == "10.9.9.9", "a new address is recorded at once"

    page = logged_in(viewer).get(reverse("api_keys")).content.decode()
    assert "from 10.9.9.9" in page


def test_session_login_keeps_working_for_the_api(viewer) -> None:
    session = logged_in(viewer)
    assert session.get(TRADERS).status_code == 200
    assert Client().get(TRADERS).status_code == 401
    # A revoked key is refused even when a valid session comes with it.
    key = new_key(viewer)
    ApiKey.objects.update(revoked_at=timezone.now())
    assert session.get(TRADERS, headers=bearer(key)).status_code == 401


# Revocation: the page and the admin ----------------------------------------------------------


def test_the_owner_revokes_after_confirming(viewer) -> None:
    key = new_key(viewer)
    row = ApiKey.objects.get()
    client = logged_in(viewer)
    confirm = client.get(reverse("api_key_revoke", args=[row.pk]))
    assert "stops working at once" in confirm.content.decode()
    assert api_client().get(TRADERS, headers=bearer(key)).status_code == 200, "asking is not revoking"

    assert client.post(reverse("api_key_revoke", args=[row.pk]), {"confirm": "yes"}).status_code == 302
    row.refresh_from_db()
    assert row.revoked_by == viewer and row.revoked_at is not None
    assert api_client().get(TRADERS, headers=bearer(key)).status_code == 401


def test_others_keys_are_hidden_from_users_and_revocable_by_admins(viewer, operator, admin_user) -> None:
    new_key(operator, name="operator's")
    row = ApiKey.objects.get()
    url = reverse("api_key_revoke", args=[row.pk])

    assert "operator&#x27;s" not in logged_in(viewer).get(reverse("api_keys")).content.decode()
    assert logged_in(viewer).post(url, {"confirm": "yes"}).status_code == 404
    row.refresh_from_db()
    assert row.revoked_at is None

    admin_page = logged_in(admin_user).get(reverse("api_keys")).content.decode()
    assert "operator&#x27;s" in admin_page and operator.username in admin_page
    logged_in(admin_user).post(url, {"confirm": "yes"})
    row.refresh_from_db()
    assert row.revoked_by == admin_user


def test_the_admin_searches_and_revokes(operator, admin_user) -> None:
    new_key(operator, name="nightly export")
    new_key(admin_user, name="other", scope="admin")
    client = logged_in(admin_user)
    changelist = reverse("admin:core_apikey_changelist")
    found = client.get(changelist, {"q": "nightly"})
    assert [row.name for row in found.context["cl"].result_list] == ["nightly export"]
    found = client.get(changelist, {"q": operator.username})
    assert [row.name for row in found.context["cl"].result_list] == ["nightly export"]

    target = ApiKey.objects.get(name="nightly export")
    client.post(changelist, {"action": "revoke", "_selected_action": [target.pk]})
    target.refresh_from_db()
    assert target.revoked_by == admin_user
    assert ApiKey.objects.get(name="other").revoked_at is None


def test_a_viewer_on_the_admin_cannot_revoke(operator) -> None:
    new_key(operator)
    response = logged_in(UserFactory(role="viewer")).get(reverse("admin:core_apikey_changelist"))
    assert response.status_code == 200
    assert "revoke" not in admin.site._registry[ApiKey].get_actions(response.wsgi_request)
    admin_request = logged_in(UserFactory(role="admin")).get(reverse("admin:core_apikey_changelist")).wsgi_request
    assert "revoke" in admin.site._registry[ApiKey].get_actions(admin_request)
