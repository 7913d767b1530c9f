"""The alert channels over the API: /alert-channels. Any role reads (never the URL: its status and
fingerprint only); admins create, change, delete and test them."""

from __future__ import annotations

from datetime import datetime

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Field, Schema
from pydantic import SecretStr

from apps.core.auth import ADMIN
from apps.core.crud import CrudSpec, crud_router
from apps.core.schemas import InputSchema, RowId
from apps.secrets.schemas import SecretStatusOut, secret_inputs, secret_status_out
from apps.traders import selectors
from apps.traders.models import Alert, AlertChannel
from apps.traders.services import notify


class AlertChannelOut(Schema):
    id: int
    name: str
    enabled: bool
    min_level: Alert.Level
    kinds: list[Alert.Kind] = Field(description="The alert kinds sent here; empty sends every kind.")
    url: SecretStatusOut
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_url(obj: AlertChannel) -> SecretStatusOut:
        return secret_status_out(obj.url)


class AlertChannelIn(InputSchema):
    name: str = Field(min_length=1, max_length=100)
    enabled: bool = True
    min_level: Alert.Level = Alert.Level.WARNING
    kinds: list[Alert.Kind] = Field(default_factory=list, max_length=len(Alert.Kind.values))
    url: SecretStr = Field(description="An apprise URL (slack://, discord://, tgram://, mailto://, json://...).")


class AlertChannelPatch(InputSchema):
    """Fields left out stay as they are. The URL can be replaced, not removed: a channel needs one."""

    name: str | None = Field(None, min_length=1, max_length=100)
    enabled: bool | None = None
    min_level: Alert.Level | None = None
    kinds: list[Alert.Kind] | None = Field(None, max_length=len(Alert.Kind.values))
    url: SecretStr | None = None


class ChannelFilters(Schema):
    enabled: bool | None = None


class ChannelTestOut(Schema):
    delivered: bool
    error: str = Field(description="Why the test did not arrive (the receiver's address is never shown).")


router = crud_router(
    CrudSpec(
        model=AlertChannel,
        out=AlertChannelOut,
        create_in=AlertChannelIn,
        patch_in=AlertChannelPatch,
        filters=ChannelFilters,
        select=selectors.alert_channel_list,
        create=notify.alert_channel_create,
        update=lambda channel, **kwargs: notify.alert_channel_update(channel=channel, **kwargs),
        delete=lambda channel: notify.alert_channel_delete(channel=channel),
        secret_fields=AlertChannel.SECRET_FIELDS,
        read_secrets=secret_inputs,
    ),
    tags=["alert channels"],
)


@router.post("/{row_id}/test", response=ChannelTestOut, auth=ADMIN, url_name="alertchannel_test")
def channel_test(request: HttpRequest, row_id: RowId) -> dict[str, bool | str]:
    """Send a test notification to the channel now and say whether it arrived."""
    error = notify.alert_channel_test(channel=get_object_or_404(selectors.alert_channel_list(), pk=row_id))
    return {"delivered": error is None, "error": error or ""}
