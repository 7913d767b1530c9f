from __future__ import annotations

from django.urls import path

from apps.dashboard import alert_views, views

# No namespace: `home` is the site's root, which LOGIN_REDIRECT_URL and every page link to.
urlpatterns = [
    path("", views.home, name="home"),
    path("panels/<slug:name>/", views.panel, name="dashboard_panel"),
    path("alerts/", views.alert_list, name="alert_list"),
    path("alerts/<int:pk>/acknowledge/", views.alert_acknowledge, name="alert_acknowledge"),
    path("alerts/history/", alert_views.alert_history, name="alert_history"),
    path("alerts/rules/", alert_views.alert_rules, name="alert_rules"),
    path("alerts/rules/<slug:kind>/", alert_views.alert_rule_edit, name="alert_rule_edit"),
    path("alerts/channels/", alert_views.alert_channel_list, name="alert_channel_list"),
    path("alerts/channels/new/", alert_views.alert_channel_create, name="alert_channel_create"),
    path("alerts/channels/<int:pk>/edit/", alert_views.alert_channel_edit, name="alert_channel_edit"),
    path("alerts/channels/<int:pk>/delete/", alert_views.alert_channel_delete, name="alert_channel_delete"),
    path("alerts/channels/<int:pk>/test/", alert_views.alert_channel_test, name="alert_channel_test"),
]
