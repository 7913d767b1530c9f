from __future__ import annotations

from django.urls import path

from apps.backtests import views

app_name = "backtests"
urlpatterns = [
    path("", views.run_list, name="list"),
    path("new/<int:strategy_pk>/", views.run_start, name="start"),
    path("<int:pk>/", views.run_detail, name="detail"),
    path("<int:pk>/progress/", views.run_progress, name="progress"),
    path("<int:pk>/files/<slug:kind>/", views.run_file, name="file"),
]
