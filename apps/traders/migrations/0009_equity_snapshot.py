"""Equity snapshots, and the worker's 5-minute schedule that takes them. As in apps/signals/migrations/0002,
the schedule's values are written out here, not imported: `manage.py setup_schedules` follows
apps.signals.services.SCHEDULES later (a test keeps the two in agreement)."""

import django.db.models.deletion
from django.db import migrations, models

SCHEDULES = {
    "Take equity snapshots": {"func": "apps.traders.tasks.take_equity_snapshots", "minutes": 5},
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
        ("exchanges", "0005_replay_is_paper_only"),
        ("traders", "0008_alert_rules_channels_deliveries"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [
        migrations.CreateModel(
            name="EquitySnapshot",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("time", models.DateTimeField()),
                ("source", models.CharField(choices=[("fill", "A fill"), ("schedule", "The schedule")], max_length=8)),
                (
                    "equity",
                    models.DecimalField(decimal_places=8, help_text="Balance plus unrealised PnL.", max_digits=28),
                ),
                (
                    "balance",
                    models.DecimalField(
                        decimal_places=8, help_text="Starting balance plus realised PnL less fees.", max_digits=28
                    ),
                ),
                (
                    "realised",
                    models.DecimalField(
                        decimal_places=8, help_text="Gross PnL of the closed quantities, before fees.", max_digits=28
                    ),
                ),
                (
                    "unrealised",
                    models.DecimalField(decimal_places=8, help_text="Open positions at the mark price.", max_digits=28),
                ),
                (
                    "fees",
                    models.DecimalField(
                        decimal_places=8, help_text="Every fee paid, in the quote currency.", max_digits=28
                    ),
                ),
                (
                    "account",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="equity_snapshots",
                        to="exchanges.exchangeaccount",
                    ),
                ),
                (
                    "trader",
                    models.ForeignKey(
                        blank=True,
                        help_text="Empty: the whole account.",
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="equity_snapshots",
                        to="traders.trader",
                    ),
                ),
            ],
            options={
                "ordering": ["time", "id"],
                "indexes": [
                    models.Index(fields=["trader", "time"], name="equity_snapshot_trader_time"),
                    models.Index(
                        condition=models.Q(("trader__isnull", True)),
                        fields=["account", "time"],
                        name="equity_snapshot_account_time",
                    ),
                    models.Index(fields=["time"], name="equity_snapshot_time"),
                ],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("fees__gte", 0)), name="equity_snapshot_fees_non_negative"
                    ),
                ],
            },
        ),
        migrations.RunPython(create_schedules, remove_schedules),
    ]
