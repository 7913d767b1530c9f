from __future__ import annotations

from django.urls import path

from apps.signals import views

app_name = "signals"
urlpatterns = [
    path("", views.signal_list, name="list"),
    path("<int:pk>/", views.signal_detail, name="detail"),
]
