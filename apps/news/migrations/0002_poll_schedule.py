"""The worker's schedule that polls the enabled news sources. As in signals' 0002_schedules, the
values are written out here, not imported: `manage.py setup_schedules` follows
apps.signals.services.SCHEDULES later (a test keeps the two in agreement)."""

from __future__ import annotations

from django.db import migrations

SCHEDULES = {
    "Poll news sources": {"func": "apps.news.tasks.poll_news_sources", "minutes": 1},
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
        ("news", "0001_initial"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [migrations.RunPython(create_schedules, remove_schedules)]
