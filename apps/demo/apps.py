from __future__ import annotations

from django.apps import AppConfig


class DemoConfig(AppConfig):
    """Demo data for a fresh install (`manage.py load_demo`).

    At the top of the import order, beside the dashboard: it writes through every domain app's
    services, and no app imports it.
    """

    name = "apps.demo"
    label = "demo"
