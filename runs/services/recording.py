"""Writing what became of a batch of offered lines: one transaction, a handful of statements.

Per batch: the lines (bulk update), their attempts (bulk insert), the run's counters and
heartbeat (one update), and earlier failures of the records that now succeeded
(one update per kind). Never a statement per line.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from typing import TYPE_CHECKING

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from runs.models import DeliveryAttempt, LineStatus, Run, RunLine

if TYPE_CHECKING:
    from runs.services.offering import Offered, RetryPolicy

_LINE_FIELDS = [
    "status",
    "message",
    "field_errors",
    "external_id",
    "attempts",
    "lease_until",
    "next_attempt_at",
    "finished_at",
]


def unavailable_message(label: str, detail: str) -> str:
    return f"{label} was unavailable ({detail}); the data was not refused. Re-offer it later."


def results_record(
    *,
    run: Run,
    results: list[Offered],
    policy: RetryPolicy,
    label: str,
    lease_ids: list[int],
    lease_seconds: float,
) -> None:
    """Store a batch of outcomes, move the run's counters on and renew its heartbeat.

    ``lease_ids`` are the lines still claimed by this worker (buffered or in flight):
    their lease is renewed in the same go, so a slow batch never looks abandoned.
    """
    now = timezone.now()
    lines: list[RunLine] = []
    attempts: list[DeliveryAttempt] = []
    counts: dict[str, int] = defaultdict(int)
    booked: dict[str, list[str]] = defaultdict(list)
    for result in results:
        line = _line_from(result, policy, label, now)
        lines.append(line)
        counts[line.status] += 1
        if line.status == LineStatus.SUCCEEDED:
            booked[result.job.kind].append(result.job.identifier)
        first = line.attempts - len(result.tries) + 1
        attempts.extend(
            DeliveryAttempt(
                line_id=line.pk,
                number=max(first + i, 1),
                started_at=attempt.started_at,
                duration_ms=attempt.duration_ms,
                outcome=attempt.outcome,
                message=attempt.message,
                exchanges=attempt.exchanges,
            )
            for i, attempt in enumerate(result.tries)
        )
    with transaction.atomic():
        if lines:
            RunLine.objects.bulk_update(lines, _LINE_FIELDS, batch_size=500)
        if attempts:
            DeliveryAttempt.objects.bulk_create(attempts, batch_size=500)
        Run.objects.filter(pk=run.pk).update(
            succeeded=F("succeeded") + counts[LineStatus.SUCCEEDED],
            failed=F("failed") + counts[LineStatus.FAILED],
            skipped=F("skipped") + counts[LineStatus.SKIPPED],
            heartbeat_at=now,
        )
        if lease_ids:
            RunLine.objects.filter(id__in=lease_ids, status=LineStatus.DELIVERING).update(
                lease_until=now + timedelta(seconds=lease_seconds)
            )
        for kind, identifiers in booked.items():
            _resolve_earlier_failures(run, kind, identifiers, now)


def _line_from(result: Offered, policy: RetryPolicy, label: str, now) -> RunLine:  # type: ignore[no-untyped-def]
    job = result.job
    attempts = job.attempts - 1 + result.offers
    line = RunLine(
        pk=job.line_id,
        status=result.status or LineStatus.PENDING,
        message=result.message,
        field_errors=result.field_errors,
        external_id=result.external_id,
        attempts=attempts,
        lease_until=None,
        next_attempt_at=None,
        finished_at=now if result.status else None,
    )
    if result.status is None and result.retry_in is not None and result.offers:
        if attempts >= policy.max_attempts:
            line.status, line.finished_at = LineStatus.FAILED, now
            line.message = unavailable_message(label, result.detail or result.message)
        elif result.in_doubt:
            # Stays delivering: when this lease runs out, the next claim sees it in doubt
            # and looks the record up before offering it again.
            line.status = LineStatus.DELIVERING
            line.lease_until = now + timedelta(seconds=result.retry_in)
        else:
            line.next_attempt_at = now + timedelta(seconds=result.retry_in)
    elif result.status is None and result.retry_in is not None:
        # Held back by the rate limit before anything was sent.
        line.next_attempt_at = now + timedelta(seconds=result.retry_in)
    return line


def _resolve_earlier_failures(run: Run, kind: str, identifiers: list[str], now) -> None:  # type: ignore[no-untyped-def]
    """The record is booked now: its open failures in earlier runs are no longer open."""
    RunLine.objects.filter(
        integration_id=run.integration_id,
        kind=kind,
        identifier__in=identifiers,
        status=LineStatus.FAILED,
        resolved_at__isnull=True,
        reoffered_in__isnull=True,
        run__number__lt=run.number,
    ).update(resolved_at=now, resolution=f"Booked in run #{run.number}")
