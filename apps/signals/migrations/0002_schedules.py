"""The worker's periodic tasks, so that every deployment (`make run`, the compose `migrate`
service) collects market data and evaluates strategies without a further step. The values are
written out here, not imported: apps.signals.services.SCHEDULES may change later, and then
`manage.py setup_schedules` updates the rows (a test keeps the two in agreement)."""

from __future__ import annotations

from django.db import migrations

SCHEDULES = {
    "Collect market data": {"func": "apps.market.tasks.collect_market_data", "minutes": 1},
    "Evaluate lagging strategies": {"func": "apps.signals.tasks.evaluate_strategies", "minutes": 5},
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
        ("signals", "0001_initial"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [migrations.RunPython(create_schedules, remove_schedules)]
