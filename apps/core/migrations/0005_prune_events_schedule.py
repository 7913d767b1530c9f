"""The worker's hourly prune of live events older than EVENT_RETENTION_HOURS. As in signals 0002, the values are
written out here, not imported: `manage.py setup_schedules` follows apps.signals.services.SCHEDULES later (a test
keeps the two in agreement)."""

from __future__ import annotations

from django.db import migrations

SCHEDULES = {
    "Prune live events": {"func": "apps.core.tasks.prune_events", "minutes": 60},
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
    dependencies = [
        ("core", "0004_api_key"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [migrations.RunPython(create_schedules, remove_schedules)]
