"""Creating and queueing runs: shared by intake, Retry and the manual start."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db import transaction

from integrations.models import Integration
from runs.models import LineStatus, Run, RunLine, RunStatus, Trigger

if TYPE_CHECKING:
    from django.contrib.auth.models import User

# Rows per INSERT: large enough to amortise round trips, small enough for SQLite's
# variable limit and to keep memory flat on a 100,000-line batch.
BULK_BATCH_SIZE = 1000


@dataclass(frozen=True)
class NewLine:
    kind: str
    identifier: str
    payload: dict[str, Any]
    source_line_id: int | None = None


def run_create(
    *,
    integration: Integration,
    trigger: Trigger,
    lines: Iterable[NewLine],
    created_by: User | None = None,
    retry_of: Run | None = None,
    idempotency_key: str | None = None,
    body_hash: str = "",
) -> Run:
    """Store one queued run with its lines, atomically, and queue it after commit.

    The run number is handed out under a row lock on the integration, so two
    concurrent intakes never get the same number. ``lines`` may be a generator:
    rows are written in batches and never all held at once.
    """
    with transaction.atomic():
        locked = Integration.objects.select_for_update().get(pk=integration.pk)
        locked.last_run_number += 1
        locked.save(update_fields=["last_run_number"])
        run = Run.objects.create(
            integration=locked,
            number=locked.last_run_number,
            trigger=trigger,
            retry_of=retry_of,
            status=RunStatus.QUEUED,
            created_by=created_by,
            idempotency_key=idempotency_key,
            body_hash=body_hash,
        )
        total = 0
        batch: list[RunLine] = []
        for new in lines:
            total += 1
            batch.append(
                RunLine(
                    run=run,
                    integration_id=locked.pk,
                    position=total,
                    kind=new.kind,
                    identifier=new.identifier,
                    payload=new.payload,
                    status=LineStatus.PENDING,
                    source_line_id=new.source_line_id,
                )
            )
            if len(batch) >= BULK_BATCH_SIZE:
                RunLine.objects.bulk_create(batch)
                batch = []
        if batch:
            RunLine.objects.bulk_create(batch)
        run.total = total
        run.save(update_fields=["total"])
        run_queue(run=run)
    return run


def run_queue(*, run: Run) -> None:
    """Wake a worker for this run once the surrounding transaction commits."""
    from runs.tasks import run_execute

    run_execute.delay_on_commit(run.pk)
