from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Field, Schema
from ninja.conf import settings as ninja_settings
from ninja.pagination import LimitOffsetPagination

from apps.core.schemas import MAX_DB_INT


def paged(request: HttpRequest, rows: QuerySet | Sequence[Any], *, per_page: int) -> dict[str, Any]:
    """The page the request asks for, and the request's other query parameters (its filters) for
    the pager links in templates/_pagination.html."""
    filters = request.GET.copy()
    filters.pop("page", None)
    return {"page": Paginator(rows, per_page).get_page(request.GET.get("page")), "filter_query": filters.urlencode()}


class Pagination(LimitOffsetPagination):
    """ninja's limit/offset pagination with both numbers bounded: an offset past the database's
    integers answers 422 naming `offset`, not a 500 from the driver."""

    class Input(Schema):
        limit: int = Field(ninja_settings.PAGINATION_PER_PAGE, ge=1, le=ninja_settings.PAGINATION_MAX_LIMIT)
        offset: int = Field(0, ge=0, le=MAX_DB_INT)
