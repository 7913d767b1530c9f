from __future__ import annotations

from django.urls import path

from apps.dashboard import views

# No namespace: `home` is the site's root, which LOGIN_REDIRECT_URL and every page link to.
urlpatterns = [
    path("", views.home, name="home"),
    path("alerts/", views.alert_list, name="alert_list"),
    path("alerts/<int:pk>/acknowledge/", views.alert_acknowledge, name="alert_acknowledge"),
]
