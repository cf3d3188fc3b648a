"""Writing what became of a batch of offered lines: one transaction, a handful of statements.

Per batch: the lines (one ``UPDATE … FROM (VALUES …)`` on PostgreSQL, ``bulk_update``
elsewhere), their attempts (bulk insert), the run's counters and heartbeat (one update),
and earlier failures of the records that now succeeded (one update per kind). Never a
statement per line.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from runs import wording
from runs.models import DeliveryAttempt, LineStatus, Run, RunLine
from runs.services.columns import column, concrete_field

if TYPE_CHECKING:
    from runs.services.attempts import Attempted, RetryPolicy

_LINE_FIELDS = [
    "status",
    "message",
    "field_errors",
    "external_id",
    "attempts",
    "lease_until",
    "next_attempt_at",
    "in_doubt",
    "finished_at",
]


def unavailable_message(label: str, detail: str) -> str:
    return wording.UNAVAILABLE(label=label, detail=detail)


def out_of_tries_in_doubt_message(label: str, detail: str) -> str:
    return wording.IN_DOUBT_OUT_OF_TRIES(label=label, detail=detail)


def results_record(
    *,
    run: Run,
    results: list[Attempted],
    policy: RetryPolicy,
    label: str,
    lease_ids: list[int],
    lease_seconds: float,
    resolve_earlier: bool = True,
) -> None:
    """Store a batch of outcomes, move the run's counters on and renew its heartbeat.

    ``lease_ids`` are the lines still claimed by this worker (buffered or in flight):
    their lease is renewed in the same go, so a slow batch never looks abandoned.
    ``resolve_earlier`` False: ``earlier_failures_open`` said there are none to resolve.
    """
    now = timezone.now()
    # Plain dicts, not model instances: ``Model.__init__`` (with its signals) for every
    # line and attempt was a tenth of this thread's time.
    lines: list[dict[str, Any]] = []
    attempts: list[dict[str, Any]] = []
    counts: dict[str, int] = defaultdict(int)
    booked: dict[str, list[str]] = defaultdict(list)
    for result in results:
        line = _line_from(result, policy, label, now)
        lines.append(line)
        counts[line["status"]] += 1
        if line["status"] == LineStatus.SUCCEEDED:
            booked[result.job.kind].append(result.job.identifier)
        first = line["attempts"] - len(result.tries) + 1
        attempts.extend(
            {
                "line_id": line["id"],
                "number": max(first + i, 1),
                "started_at": attempt.started_at,
                "duration_ms": attempt.duration_ms,
                "outcome": attempt.outcome,
                "message": attempt.message,
                "exchanges": attempt.exchanges,
            }
            for i, attempt in enumerate(result.tries)
        )
    with transaction.atomic():
        if lines:
            _lines_update(lines)
        if attempts:
            _attempts_insert(attempts)
        Run.objects.filter(pk=run.pk).update(
            succeeded=F("succeeded") + counts[LineStatus.SUCCEEDED],
            failed=F("failed") + counts[LineStatus.FAILED],
            skipped=F("skipped") + counts[LineStatus.SKIPPED],
            in_doubt=F("in_doubt") + counts[LineStatus.IN_DOUBT],
            heartbeat_at=now,
        )
        if lease_ids:
            RunLine.objects.filter(id__in=lease_ids, status=LineStatus.DELIVERING).update(
                lease_until=now + timedelta(seconds=lease_seconds)
            )
        for kind, identifiers in (booked if resolve_earlier else {}).items():
            _resolve_earlier_failures(run, kind, identifiers, now)


def _lines_update(lines: list[dict[str, Any]]) -> None:
    """Write ``_LINE_FIELDS`` of ``lines`` back: on PostgreSQL in one statement.

    ``bulk_update`` builds a ``CASE WHEN id = … THEN …`` per field per row (800 ``When``
    objects per 100 lines, deep-copied and compiled): it was ~40 % of a run's wall time
    on the engine's thread, during which the pool starved. On PostgreSQL one
    ``UPDATE … FROM`` a set of typed rows does the same. The rows go as one JSON
    parameter unpacked by ``jsonb_to_recordset`` with the columns' own types
    (``field.db_type``), not as ``VALUES (%s::bigint, …)`` with nine parameters a line:
    psycopg parses a query with 900 placeholders in Python on every call, which cost as
    much as the statement itself. Other databases keep ``bulk_update``.
    """
    if connection.vendor != "postgresql":
        instances = [RunLine(pk=line["id"], **{f: line[f] for f in _LINE_FIELDS}) for line in lines]
        RunLine.objects.bulk_update(instances, _LINE_FIELDS, batch_size=500)
        return
    fields = [RunLine._meta.pk] + [concrete_field(RunLine, name) for name in _LINE_FIELDS]
    typed = ", ".join(f"{field.column} {field.db_type(connection)}" for field in fields)
    assignments = ", ".join(f"{field.column} = v.{field.column}" for field in fields[1:])
    rows = json.dumps(lines, default=_isoformat)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {RunLine._meta.db_table} AS t SET {assignments} "  # noqa: S608 - names from the model
            f"FROM jsonb_to_recordset(%s::jsonb) AS v({typed}) WHERE t.id = v.id",
            [rows],
        )


def _isoformat(value: datetime) -> str:
    return value.isoformat()


_ATTEMPT_FIELDS = [
    "line_id",
    "number",
    "started_at",
    "duration_ms",
    "outcome",
    "message",
    "exchanges",
]


def _attempts_insert(attempts: list[dict[str, Any]]) -> None:
    """Insert the attempts: ``COPY`` on PostgreSQL, ``bulk_create`` elsewhere.

    On PostgreSQL ``bulk_create`` sends ``UNNEST`` arrays, which psycopg's client-side
    binding quotes element by element in Python, JSON included: the largest single cost
    of writing a chunk's outcomes once the lines were one ``UPDATE``. ``COPY`` dumps the
    rows in psycopg's C code. The exchanges go as JSON text, which jsonb parses.
    """
    if connection.vendor != "postgresql":
        DeliveryAttempt.objects.bulk_create(
            [DeliveryAttempt(**attempt) for attempt in attempts], batch_size=500
        )
        return
    columns = ", ".join(column(DeliveryAttempt, name) for name in _ATTEMPT_FIELDS)
    sql = f"COPY {DeliveryAttempt._meta.db_table} ({columns}) FROM STDIN"
    with connection.cursor() as cursor, cursor.copy(sql) as copy:
        for attempt in attempts:
            row = [attempt[name] for name in _ATTEMPT_FIELDS]
            row[-1] = json.dumps(row[-1])  # exchanges
            copy.write_row(row)


def _line_from(result: Attempted, policy: RetryPolicy, label: str, now: datetime) -> dict[str, Any]:
    """The line's ``_LINE_FIELDS`` (and ``id``) after this outcome.

    A line that goes back to ``pending`` keeps its doubt (``in_doubt``): the next claim
    looks it up before anything is posted. Out of tries while in doubt, it ends
    ``in_doubt`` (a person checks), never ``failed``: it may be booked.
    """
    job = result.job
    attempts = job.attempts - 1 + result.counted
    line = {
        "id": job.line_id,
        "status": result.status or LineStatus.PENDING,
        "message": result.message,
        "field_errors": result.field_errors,
        "external_id": result.external_id,
        "attempts": attempts,
        "lease_until": None,
        "next_attempt_at": None,
        "in_doubt": result.status is None and result.in_doubt,
        "finished_at": now if result.status else None,
    }
    if result.status is not None or result.retry_in is None:
        return line
    if result.counted and attempts >= policy.max_attempts:
        detail = result.detail or result.message
        line["in_doubt"], line["finished_at"] = False, now
        if result.in_doubt:
            line["status"] = LineStatus.IN_DOUBT
            line["message"] = out_of_tries_in_doubt_message(label, detail)
        else:
            line["status"] = LineStatus.FAILED
            line["message"] = unavailable_message(label, detail)
    else:
        # A fault to retry, or held back before anything was sent (no attempt counted).
        line["next_attempt_at"] = now + timedelta(seconds=result.retry_in)
    return line


def earlier_failures_open(run: Run) -> bool:
    """Whether earlier runs of the integration left failures open, for ``resolve_earlier``.

    One cheap query (the partial index of open failures) instead of an ``UPDATE`` per
    kind per batch that usually finds nothing. The answer holds for a whole execution:
    while this run runs, no other run of its integration does, and runs created
    meanwhile come later, so the open failures of earlier runs can only become fewer.
    """
    return (
        RunLine.objects.open_failures()
        .filter(integration_id=run.integration_id, run__number__lt=run.number)
        .exists()
    )


def _resolve_earlier_failures(run: Run, kind: str, identifiers: list[str], now: datetime) -> None:
    """The record is booked now: its open failures in earlier runs are no longer open."""
    RunLine.objects.open_failures().filter(
        integration_id=run.integration_id,
        kind=kind,
        identifier__in=identifiers,
        run__number__lt=run.number,
    ).update(resolved_at=now, resolution=wording.BOOKED_IN_RUN(number=run.number))
