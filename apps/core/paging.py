from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest


def paged(request: HttpRequest, rows: QuerySet | Sequence[Any], *, per_page: int) -> dict[str, Any]:
    """The page the request asks for, and the request's other query parameters (its filters) for
    the pager links in templates/_pagination.html."""
    filters = request.GET.copy()
    filters.pop("page", None)
    return {"page": Paginator(rows, per_page).get_page(request.GET.get("page")), "filter_query": filters.urlencode()}
