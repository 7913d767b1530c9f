from __future__ import annotations

from django.apps import AppConfig


class NewsConfig(AppConfig):
    name = "apps.news"
    label = "news"
    verbose_name = "News"
