from __future__ import annotations

from django.urls import path

from apps.exchanges import views

app_name = "exchanges"
urlpatterns = [
    path("", views.account_list, name="account_list"),
    path("<int:account_id>/", views.account_detail, name="account_detail"),
    path("<int:account_id>/balance/", views.account_balance, name="account_balance"),
    path("<int:account_id>/positions/", views.account_positions, name="account_positions"),
    path("<int:account_id>/orders/", views.account_orders, name="account_orders"),
    path("<int:account_id>/orders/<str:order_id>/cancel/", views.order_cancel, name="order_cancel"),
    path(
        "<int:account_id>/orders/<str:order_id>/cancel/confirm/",
        views.order_cancel_confirm,
        name="order_cancel_confirm",
    ),
]
