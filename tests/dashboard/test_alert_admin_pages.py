"""The alert history, rules and channels pages: who may do what, and what they show (never a URL)."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from apps.secrets.services import secret_reveal
from apps.traders.models import Alert, AlertChannel, AlertDelivery, AlertRule
from apps.traders.services.notify import alert_channel_create
from tests.dashboard.conftest import alert, client_for
from tests.traders.alerts.receiver import receiver_running

pytestmark = pytest.mark.django_db
URL = "json://127.0.0.1:9/hooks/t0ken-never-shown"


def make_channel(name: str = "ops") -> AlertChannel:
    return alert_channel_create(name=name, secrets={"url": URL})


@pytest.mark.parametrize(
    ("method", "name", "args"),
    [
        ("get", "alert_channel_list", ()),
        ("get", "alert_channel_create", ()),
        ("post", "alert_channel_create", ()),
        ("get", "alert_channel_edit", ("pk",)),
        ("post", "alert_channel_delete", ("pk",)),
        ("post", "alert_channel_test", ("pk",)),
        ("post", "alert_rule_edit", ("daily_loss",)),
    ],
)
def test_only_admins_manage_channels_and_rules(viewer, operator, admin_user, method, name, args) -> None:
    channel = make_channel()
    url = reverse(name, args=[channel.pk if arg == "pk" else arg for arg in args])
    for user in (viewer, operator):
        assert getattr(client_for(user), method)(url).status_code == 403, (user, url)
    assert AlertChannel.objects.count() == 1 and not AlertRule.objects.exists()


def test_anyone_signed_in_reads_the_history_and_the_rules(viewer) -> None:
    client = client_for(viewer)
    rules = client.get(reverse("alert_rules")).content.decode()
    assert "Daily loss threshold reached" in rules and "Changing a rule needs the admin role." in rules
    assert 'action="/alerts/rules/' not in rules
    assert client.get(reverse("alert_history")).status_code == 200


def test_an_admin_adds_a_channel_and_its_url_is_never_shown(admin_user) -> None:
    client = client_for(admin_user)
    response = client.post(
        reverse("alert_channel_create"),
        {"name": "desk slack", "url": URL, "enabled": "on", "min_level": "critical", "kinds": ["kill_switch"]},
    )
    assert response.status_code == 302
    channel = AlertChannel.objects.get(name="desk slack")
    assert (channel.min_level, channel.kinds, channel.enabled) == ("critical", ["kill_switch"], True)
    assert secret_reveal(secret=channel.url, purpose="test") == URL
    for page in (reverse("alert_channel_list"), reverse("alert_channel_edit", args=[channel.pk])):
        text = client.get(page).content.decode()
        assert channel.url.fingerprint in text
        assert "t0ken-never-shown" not in text and "127.0.0.1" not in text


def test_a_url_apprise_does_not_know_is_refused_without_echoing_it(admin_user) -> None:
    response = client_for(admin_user).post(
        reverse("alert_channel_create"), {"name": "typo", "url": "htps//hooks/s3cret-typo", "min_level": "warning"}
    )
    assert response.status_code == 422
    text = response.content.decode()
    assert "is not a notification URL apprise understands" in text and "s3cret-typo" not in text
    assert not AlertChannel.objects.exists()


def test_editing_a_channel_keeps_its_url_unless_a_new_one_is_given(admin_user) -> None:
    channel = make_channel()
    fingerprint = channel.url.fingerprint
    response = client_for(admin_user).post(
        reverse("alert_channel_edit", args=[channel.pk]), {"name": "ops", "min_level": "info", "url": ""}
    )
    assert response.status_code == 302
    channel.refresh_from_db()
    assert (channel.min_level, channel.enabled, channel.url.fingerprint) == ("info", False, fingerprint)


def test_the_test_button_reports_what_the_receiver_said(admin_user) -> None:
    client = client_for(admin_user)
    with receiver_running() as receiver:
        ok = alert_channel_create(name="works", secrets={"url": receiver.url("ok")})
        broken = alert_channel_create(name="broken", secrets={"url": receiver.url("fail")})
        sent = client.post(reverse("alert_channel_test", args=[ok.pk])).content.decode()
        failed = client.post(reverse("alert_channel_test", args=[broken.pk])).content.decode()
    assert "Test notification sent to works." in sent
    assert "The test notification to broken did not arrive" in failed and "error=500" in failed
    assert [body["title"] for body in receiver.messages()] == ["TradeOps test notification"] * 2
    assert "tok3n" not in failed and str(receiver.port) not in failed


def test_an_admin_changes_a_rule_and_a_bad_threshold_is_refused(admin_user) -> None:
    client = client_for(admin_user)
    url = reverse("alert_rule_edit", args=["daily_loss"])
    refused = client.post(url, {"enabled": "on", "level": "critical", "cooldown_minutes": "60", "threshold": ""})
    assert refused.status_code == 422
    assert "must be a positive number: percent of the UTC day&#x27;s starting equity lost" in refused.content.decode()
    assert not AlertRule.objects.exists()

    saved = client.post(url, {"level": "critical", "cooldown_minutes": "60", "threshold": "1.5"})
    assert saved.status_code == 302
    rule = AlertRule.objects.get(kind="daily_loss")
    assert (rule.enabled, rule.level, rule.cooldown_minutes, str(rule.threshold)) == (False, "critical", 60, "1.50")


def history(client, **filters: str) -> str:
    """The history page's table (the banner above it lists open alerts too)."""
    page = client.get(reverse("alert_history"), filters).content.decode()
    match = re.search(r'<table id="alert-history">.*?</table>', page, re.S)
    return match.group(0) if match else ""


def test_the_history_filters_and_shows_each_delivery(viewer) -> None:
    channel = make_channel()
    failed = alert("critical", "stop-loss refused on BTC")
    AlertDelivery.objects.create(
        alert=failed, channel=channel, channel_name="ops", status="failed", attempts=3, last_error="error=500."
    )
    alert("warning", "drift on ETH", acknowledged_at=failed.created_at)
    client = client_for(viewer)

    everything = history(client)
    assert "stop-loss refused on BTC" in everything and "drift on ETH" in everything
    assert "ops: failed (3 attempts)" in everything and "error=500." in everything

    only_failed = history(client, delivery="failed")
    assert "stop-loss refused on BTC" in only_failed and "drift on ETH" not in only_failed
    acknowledged = history(client, state="acknowledged", level="warning")
    assert "drift on ETH" in acknowledged and "stop-loss" not in acknowledged
    assert "drift on ETH" in history(client, kind="no-such-kind"), "an unknown filter value filters nothing"


def test_the_history_pages_by_fifty(viewer) -> None:
    Alert.objects.bulk_create(
        Alert(level="info", kind="orphan_cancelled", message=f"orphan {n}", subject=f"account:{n}") for n in range(51)
    )
    page = client_for(viewer).get(reverse("alert_history")).content.decode()
    assert "page 1 of 2 (51 alerts)" in page
    table = history(client_for(viewer))
    assert "orphan 50" in table and not re.search(r"orphan 0\b", table), "the oldest is on page 2"
