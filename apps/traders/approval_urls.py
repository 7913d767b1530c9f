from __future__ import annotations

from django.urls import path

from apps.traders import approval_views

app_name = "approvals"
urlpatterns = [
    path("", approval_views.approval_list, name="list"),
    path("<int:pk>/cancel/", approval_views.approval_cancel, name="cancel"),
    path("<int:pk>/<str:action>/", approval_views.approval_decide, name="decide"),
]
