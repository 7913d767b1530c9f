from __future__ import annotations

from django.urls import path

from apps.traders import views

app_name = "traders"
urlpatterns = [
    path("", views.kill_switch, name="kill_switch"),
    path("kill-switch/engage/", views.kill_switch_engage, name="kill_switch_engage"),
    path("kill-switch/release/", views.kill_switch_release, name="kill_switch_release"),
    path("traders/", views.trader_table, name="trader_table"),
    path("traders/<int:pk>/halt/", views.trader_halt, name="trader_halt"),
    path("traders/<int:pk>/reset/", views.trader_reset, name="trader_reset"),
    path("events/", views.halt_events, name="halt_events"),
]
