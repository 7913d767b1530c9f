"""The trade pages, mounted at /trade/: the ticket, the plans list and each plan's detail."""

from __future__ import annotations

from django.urls import path

from apps.traders import trade_views

app_name = "trade"
urlpatterns = [
    path("", trade_views.trade_ticket, name="ticket"),
    path("symbols/", trade_views.trade_symbols, name="symbols"),
    path("price/", trade_views.trade_price, name="price"),
    path("preview/", trade_views.trade_preview, name="preview"),
    path("plans/", trade_views.plan_list, name="plan_list"),
    path("plans/<int:plan_id>/", trade_views.plan_detail, name="plan_detail"),
    path("plans/<int:plan_id>/timeline/", trade_views.plan_timeline, name="plan_timeline"),
    path("plans/<int:plan_id>/execute/", trade_views.plan_execute, name="plan_execute"),
    path("plans/<int:plan_id>/cancel/", trade_views.plan_cancel, name="plan_cancel"),
    path("plans/<int:plan_id>/close/", trade_views.plan_close, name="plan_close"),
]
