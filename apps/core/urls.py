from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.urls import path

from apps.core import ops_views, views

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(template_name="core/login.html"), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("api-keys/", views.api_key_page, name="api_keys"),
    path("api-keys/new", views.api_key_new, name="api_key_new"),
    path("api-keys/<int:pk>/revoke", views.api_key_revoke_view, name="api_key_revoke"),
    path("metrics", ops_views.metrics, name="metrics"),
    path("health/live", ops_views.health_live, name="health_live"),
    path("health/ready", ops_views.health_ready, name="health_ready"),
]
