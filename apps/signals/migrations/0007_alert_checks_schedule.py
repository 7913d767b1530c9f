"""The worker's minute check of the alert conditions (stale heartbeats, overdue schedules, retries). As in 0002,
the values are written out here, not imported: `manage.py setup_schedules` follows
apps.signals.services.SCHEDULES later (a test keeps the two in agreement)."""

from __future__ import annotations

from django.db import migrations

SCHEDULES = {
    "Check alert conditions": {"func": "apps.traders.tasks.check_alerts", "minutes": 1},
}
MINUTES = "I"


def create_schedules(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    for name, fields in SCHEDULES.items():
        Schedule.objects.update_or_create(
            name=name, defaults={**fields, "schedule_type": MINUTES, "repeats": -1, "args": None, "kwargs": None}
        )


def remove_schedules(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name__in=SCHEDULES).delete()


class Migration(migrations.Migration):
    dependencies = [("signals", "0006_market_rules_schedule")]

    operations = [migrations.RunPython(create_schedules, remove_schedules)]
