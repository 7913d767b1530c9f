from __future__ import annotations

from django.urls import path

from apps.news import views

app_name = "news"
urlpatterns = [path("", views.news_list, name="list")]
