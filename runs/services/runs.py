"""Creating and queueing runs: shared by intake, Retry and the manual start."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, NamedTuple

from django.db import connections, router, transaction
from django.db.models.expressions import DatabaseDefault

from integrations.models import Integration
from runs.models import LineStatus, Run, RunLine, RunStatus, Trigger
from runs.services.columns import column

if TYPE_CHECKING:
    from django.contrib.auth.models import User

# Rows per INSERT (where there is no COPY): large enough to amortise round trips, small
# enough for SQLite's variable limit and to keep memory flat on a 100,000-line batch.
BULK_BATCH_SIZE = 1000
# What differs from one new line to the next; every other column is the same for all
# lines of a run (the model's defaults, the run, the integration).
_PER_LINE = ("position", "kind", "identifier", "payload", "source_line")


class NewLine(NamedTuple):
    # A NamedTuple rather than a frozen dataclass: intake makes one per record, and a
    # frozen dataclass's __init__ (object.__setattr__ per field) costs several times more.
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
        if connections[router.db_for_write(RunLine)].vendor == "postgresql":
            total = _copy_lines(run, lines)
        else:
            total = _insert_lines(run, lines)
        run.total = total
        run.save(update_fields=["total"])
        run_queue(run=run)
    return run


def _line(run: Run, position: int, new: NewLine) -> RunLine:
    return RunLine(
        run=run,
        integration_id=run.integration_id,
        position=position,
        kind=new.kind,
        identifier=new.identifier,
        payload=new.payload,
        status=LineStatus.PENDING,
        source_line_id=new.source_line_id,
    )


def _insert_lines(run: Run, lines: Iterable[NewLine]) -> int:
    total = 0
    batch: list[RunLine] = []
    for total, new in enumerate(lines, start=1):
        batch.append(_line(run, total, new))
        if len(batch) >= BULK_BATCH_SIZE:
            RunLine.objects.bulk_create(batch)
            batch = []
    if batch:
        RunLine.objects.bulk_create(batch)
    return total


def _copy_lines(run: Run, lines: Iterable[NewLine]) -> int:
    """Write the lines with PostgreSQL's COPY, streamed: a fifth of bulk_create's time.

    bulk_create prepares every column of every line through its field (21 times 10,000
    calls for a batch) and binds a 21,000-parameter INSERT per thousand lines. Here one
    template line goes through the model's fields once (``pre_save`` and
    ``get_db_prep_save``, as an INSERT would), so every column gets the value Django
    would write, a field added later included; per line only the ``_PER_LINE`` columns
    change. Rows go to the server as they come, so memory stays flat; the caller's
    transaction makes the run and its lines one unit (an exception here, or in the
    ``lines`` generator, aborts the COPY and rolls everything back).
    """
    connection = connections[router.db_for_write(RunLine)]
    fields = [field for field in RunLine._meta.concrete_fields if not field.primary_key]
    template = _line(run, 0, NewLine(kind="", identifier="", payload={}))
    columns: list[str] = []
    row: list[Any] = []
    for field in fields:
        value = field.pre_save(template, add=True)
        if isinstance(value, DatabaseDefault):
            continue  # a db_default: left out, so the server fills it in
        value = field.get_db_prep_save(value, connection)
        if hasattr(value, "obj"):
            # JSON columns: psycopg's Jsonb wraps parameters; COPY takes the text.
            value = json.dumps(value.obj, cls=getattr(field, "encoder", None))
        assert field.column is not None  # a concrete field always has one
        columns.append(field.column)
        row.append(value)
    at = {name: columns.index(column(RunLine, name)) for name in _PER_LINE}
    payload_field = RunLine._meta.get_field("payload")
    # A payload is written with plain json.dumps below: an encoder set on the field
    # would have to be used there too.
    assert payload_field.encoder is None, "RunLine.payload has an encoder; use it in COPY"
    position_at, kind_at, identifier_at = at["position"], at["kind"], at["identifier"]
    payload_at, source_at = at["payload"], at["source_line"]
    dumps = json.dumps
    total = 0
    sql = f"COPY {RunLine._meta.db_table} ({', '.join(map(connection.ops.quote_name, columns))}) FROM STDIN"
    refused: Exception | None = None
    with connection.cursor() as cursor, cursor.copy(sql) as copy:
        new_lines = iter(lines)
        while True:
            try:
                new = next(new_lines)
            except StopIteration:
                break
            except Exception as exc:
                # The lines' source gave up (intake refusing the batch). An exception
                # raised inside the COPY makes psycopg abort it and lose the connection;
                # end it normally and raise after, so the transaction rolls back.
                refused = exc
                break
            total += 1
            row[position_at] = total
            row[kind_at] = new.kind
            row[identifier_at] = new.identifier
            row[payload_at] = dumps(new.payload)
            row[source_at] = new.source_line_id
            copy.write_row(row)
    if refused is not None:
        raise refused
    return total


def run_queue(*, run: Run) -> None:
    """Wake a worker for this run once the surrounding transaction commits."""
    from runs.tasks import run_execute

    run_execute.delay_on_commit(run.pk)
