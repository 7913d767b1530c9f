"""The one place the news app turns a stored secret into its clear value: an X source's bearer
token, handed straight to apps.news.x_search for the Authorization header (safety invariant 1)."""

from __future__ import annotations

from apps.news.models import NewsSource
from apps.secrets.services import secret_reveal


def x_bearer_token(source: NewsSource) -> str:
    return secret_reveal(secret=source.bearer_token, purpose=f"news source {source.name!r} ({source.pk}) bearer token")
