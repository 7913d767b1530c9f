from __future__ import annotations

from django.urls import path

from apps.ai import views

app_name = "ai"
urlpatterns = [
    path("", views.model_list, name="model_list"),
    path("<int:config_id>/", views.model_detail, name="model_detail"),
    path("<int:config_id>/test/", views.model_test, name="model_test"),
]
