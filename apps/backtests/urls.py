from __future__ import annotations

from django.urls import path

from apps.backtests import views

app_name = "backtests"
urlpatterns = [
    path("", views.run_list, name="list"),
    path("<int:pk>/", views.run_detail, name="detail"),
    path("<int:pk>/files/<slug:kind>/", views.run_file, name="file"),
]
