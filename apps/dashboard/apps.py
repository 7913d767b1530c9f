from __future__ import annotations

from django.apps import AppConfig


class DashboardConfig(AppConfig):
    """The operator's pages that read across apps: the overview and the open alerts.

    It sits at the top of the import order, so it may read every domain app and none of them
    imports it.
    """

    name = "apps.dashboard"
    label = "dashboard"
