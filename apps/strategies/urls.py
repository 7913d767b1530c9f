from __future__ import annotations

from django.urls import path

from apps.strategies import views

app_name = "strategies"
urlpatterns = [
    path("", views.strategy_list, name="list"),
    path("new/", views.strategy_create, name="create"),
    path("validate/", views.strategy_validate, name="validate"),
    path("<int:pk>/", views.strategy_detail, name="detail"),
    path("<int:pk>/edit/", views.strategy_edit, name="edit"),
    path("<int:pk>/delete/", views.strategy_delete, name="delete"),
    path("<int:pk>/toggle/", views.strategy_toggle, name="toggle"),
]
