"""The nav badge of pending change requests (four-eyes), shown to admins only."""

from __future__ import annotations

from typing import Any

from django import template
from django.urls import reverse
from django.utils.html import format_html

from apps.core.roles import Role, has_role
from apps.traders.models import ChangeRequest
from apps.traders.selectors import change_request_list, change_request_pending_count

register = template.Library()


@register.simple_tag(takes_context=True)
def approvals_nav(context: Any) -> str:
    """The "Approvals" nav link, with the pending count for admins (who decide them)."""
    user = context.get("user")
    if not has_role(user, Role.VIEWER):
        return ""
    count = change_request_pending_count() if has_role(user, Role.ADMIN) else 0
    badge = format_html(
        ' <mark class="badge warning" id="approvals-badge" title="waiting for a second admin">{}</mark>', count
    )
    return format_html('<li><a href="{}">Approvals{}</a></li>', reverse("approvals:list"), badge if count else "")


@register.inclusion_tag("traders/_waiting_approval.html")
def waiting_approvals(target_type: str, target_id: int, kind: str = "") -> dict[str, Any]:
    """The pending change requests of one target (a trader, the kill switch ...): "waiting for a second admin"."""
    requests = change_request_list(status=ChangeRequest.Status.PENDING).filter(
        target_type=target_type, target_id=target_id
    )
    return {"waiting": list(requests.filter(kind=kind) if kind else requests)}
