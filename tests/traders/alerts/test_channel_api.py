"""/api/v1/alert-channels: admins manage channels; the URL goes in and never comes out."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.traders.models import AlertChannel
from apps.traders.services.notify import alert_channel_create
from tests.dashboard.conftest import client_for

pytestmark = pytest.mark.django_db


def test_only_admins_create_change_and_test_channels(viewer, operator, admin_user, receiver) -> None:
    channel = alert_channel_create(name="ops", secrets={"url": receiver.url("ok")})
    body = {"name": "pager", "url": receiver.url("ok", "pager-token"), "min_level": "critical"}
    for user in (viewer, operator):
        client = client_for(user)
        assert client.get(reverse("api:alertchannel_list")).status_code == 200
        assert client.post(reverse("api:alertchannel_create"), body, content_type="application/json").status_code == 403
        assert client.post(reverse("api:alertchannel_test", kwargs={"row_id": channel.pk})).status_code == 403
    assert receiver.posts == [] and AlertChannel.objects.count() == 1

    admin = client_for(admin_user)
    created = admin.post(reverse("api:alertchannel_create"), body, content_type="application/json")
    assert created.status_code == 201 and created.json()["url"]["is_set"] is True
    assert "pager-token" not in created.content.decode()
    tested = admin.post(reverse("api:alertchannel_test", kwargs={"row_id": created.json()["id"]}))
    assert tested.json() == {"delivered": True, "error": ""}
    assert receiver.messages()[0]["title"] == "TradeOps test notification"


def test_a_channel_without_a_url_or_with_an_unknown_kind_is_refused(admin_user) -> None:
    client = client_for(admin_user)
    no_url = client.post(reverse("api:alertchannel_create"), {"name": "x"}, content_type="application/json")
    assert no_url.status_code == 422
    unknown = client.post(
        reverse("api:alertchannel_create"),
        {"name": "x", "url": "json://127.0.0.1:9/x", "kinds": ["everything"]},
        content_type="application/json",
    )
    assert unknown.status_code == 422 and "kinds" in unknown.content.decode()
    assert not AlertChannel.objects.exists()
