"""Rows for the integration screens' tests: runs made the way run_create numbers them."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from integrations.models import Integration
from runs.models import LineStatus, Run, RunLine, RunStatus, Trigger

MONDAY_NOON = timezone.make_aware(datetime(2026, 3, 2, 12, 0))


def make_runs(integration: Integration, count: int, **fields: Any) -> list[Run]:
    """``count`` finished runs, an hour apart from Monday noon, numbered on from the last."""
    first = integration.last_run_number + 1
    values: dict[str, Any] = {
        "trigger": Trigger.INTAKE,
        "status": RunStatus.FINISHED,
        "total": 10,
        "succeeded": 10,
        **fields,
    }
    moments = [MONDAY_NOON + timedelta(hours=number) for number in range(first, first + count)]
    active = values["status"] in (RunStatus.QUEUED, RunStatus.RUNNING)
    runs = Run.objects.bulk_create(
        Run(
            integration=integration,
            number=number,
            started_at=at,
            finished_at=None if active else at + timedelta(seconds=75),
            **values,
        )
        for number, at in zip(range(first, first + count), moments, strict=True)
    )
    # queued_at is auto_now_add: put the chosen moments back.
    for run, at in zip(runs, moments, strict=True):
        run.queued_at = at
    Run.objects.bulk_update(runs, ["queued_at"])
    integration.last_run_number = first + count - 1
    integration.save(update_fields=["last_run_number"])
    return list(Run.objects.filter(integration=integration, number__gte=first).order_by("number"))


def make_failed_lines(run: Run, count: int, **fields: Any) -> list[RunLine]:
    start = run.lines.count()
    return RunLine.objects.bulk_create(
        RunLine(
            run=run,
            integration=run.integration,
            position=start + i + 1,
            kind="customer",
            identifier=f"{10000 + start + i}",
            payload={"code": f"{10000 + start + i}"},
            status=LineStatus.FAILED,
            message="Naam is verplicht.",
            **fields,
        )
        for i in range(count)
    )
