"""The trader pages, mounted at /traders/ (the halts of every trader are on /risk/)."""

from __future__ import annotations

from django.urls import path

from apps.traders import trader_views

app_name = "trader"
urlpatterns = [
    path("", trader_views.trader_list, name="list"),
    path("new/", trader_views.trader_create, name="create"),
    path("form-markets/", trader_views.trader_form_markets, name="form_markets"),
    path("<int:pk>/", trader_views.trader_detail, name="detail"),
    path("<int:pk>/edit/", trader_views.trader_edit, name="edit"),
    path("<int:pk>/prompt/", trader_views.trader_prompt, name="prompt"),
    path("<int:pk>/start/", trader_views.trader_start, name="start"),
    path("<int:pk>/stop/", trader_views.trader_stop, name="stop"),
]
