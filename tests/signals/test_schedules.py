from __future__ import annotations

import pytest
from django.core.management import call_command
from django_q.models import Schedule

from apps.signals.services import SCHEDULES

pytestmark = pytest.mark.django_db


def schedule_rows() -> dict[str, tuple]:
    return {
        schedule.name: (schedule.func, schedule.schedule_type, schedule.minutes, schedule.repeats)
        for schedule in Schedule.objects.filter(name__in=SCHEDULES)
    }


EXPECTED = {name: (fields["func"], Schedule.MINUTES, fields["minutes"], -1) for name, fields in SCHEDULES.items()}


def test_migrate_creates_the_schedules_the_code_declares() -> None:
    """The worker `make run` starts collects and evaluates with no further step (migration 0002)."""
    assert schedule_rows() == EXPECTED


def test_setup_schedules_restores_them_and_is_idempotent(capsys) -> None:
    Schedule.objects.filter(name="Collect market data").delete()
    Schedule.objects.filter(name="Evaluate lagging strategies").update(minutes=60)

    call_command("setup_schedules")
    call_command("setup_schedules")

    assert schedule_rows() == EXPECTED
    assert Schedule.objects.filter(name__in=SCHEDULES).count() == len(SCHEDULES)
    assert "Created schedule 'Collect market data'" in capsys.readouterr().out


def test_scheduled_functions_exist() -> None:
    from django.utils.module_loading import import_string

    for fields in SCHEDULES.values():
        assert callable(import_string(fields["func"]))
