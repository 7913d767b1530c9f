from __future__ import annotations

from django.urls import path

from apps.audit import views

app_name = "audit"
urlpatterns = [
    path("", views.decision_list, name="decision_list"),
    path("<int:pk>/", views.decision_detail, name="decision_detail"),
]
