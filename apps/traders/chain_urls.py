"""The audit trail pages, mounted at /chains/."""

from __future__ import annotations

from django.urls import path

from apps.traders import chain_views

app_name = "chains"
urlpatterns = [
    path("", chain_views.chain_list, name="list"),
    path("<str:kind>/<int:chain_id>/", chain_views.chain_detail, name="detail"),
    path("<str:kind>/<int:chain_id>/what-if/", chain_views.chain_what_if, name="what_if"),
]
