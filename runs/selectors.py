"""Reads behind the run, line, Integrations and History screens.

Callers pass rows already scoped to a company; each read answers with a fixed number of
queries however many integrations, runs or lines there are.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache, cached_property
from typing import TYPE_CHECKING, Any

from django.db import connections
from django.db.models import (
    Count,
    F,
    IntegerField,
    Model,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    Window,
)
from django.db.models.functions import Coalesce, RowNumber
from django.utils import timezone

from integrations.models import Integration
from runs.models import (
    DeliveryAttempt,
    Kind,
    LineEdit,
    LineStatus,
    Pruning,
    Run,
    RunLine,
    RunStatus,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

    from portal.models import Company

# A record's earlier attempts shown on the line page; older ones are rarely of interest.
HISTORY_LIMIT = 50


@dataclass(frozen=True)
class LinesPage:
    # In position order: LINE_ROW_FIELDS and then the number of the run the line was
    # re-offered in, per line. Tuples, not models, as History's rows are: a row already
    # rendered needs no model built (runs/views/rows.py).
    rows: Sequence[tuple[Any, ...]]
    # The position to continue after, or None on the last page.
    next_after: int | None

    @cached_property
    def lines(self) -> list[RunLine]:
        return [line_row(row) for row in self.rows]

    @property
    def any_open(self) -> bool:
        """Whether a line on the page is an open failure (one a person may select)."""
        return any(_row_open(row) for row in self.rows)


@dataclass(frozen=True)
class LineHistory:
    other_lines: list[RunLine]
    attempts: QuerySet[DeliveryAttempt]
    edits: QuerySet[LineEdit]


LINE_ROW_FIELDS = (
    "id",
    "run_id",
    "position",
    "identifier",
    "kind",
    "status",
    "message",
    "reoffer",
    "reoffered_in_id",
    "resolved_at",
)


def run_lines_page(
    *, run: Run, only_failed: bool, search: str, after_position: int | None, limit: int
) -> LinesPage:
    """One page of the run's lines in position order, keyset-paginated on position.

    Fetches one row more than ``limit`` to know whether a next page exists, so no
    page ever needs a COUNT and the deepest page costs what the first does.
    """
    lines = RunLine.objects.filter(run=run)
    if only_failed:
        # A line in doubt needs a person as much as a failed one does (booked or not?);
        # hiding it behind the filter that is ticked for them would lose it.
        lines = lines.filter(status__in=(LineStatus.FAILED, LineStatus.IN_DOUBT))
    if search:
        lines = lines.filter(identifier__icontains=search)
    if after_position is not None:
        lines = lines.filter(position__gt=after_position)
    rows = list(
        # What a row of run details shows (runs/_line_row.html), and no more: the tuple
        # is the row's cache key (runs/views/rows.py).
        lines.values_list(*LINE_ROW_FIELDS, "reoffered_in__number").order_by("position")[
            : limit + 1
        ]
    )
    if len(rows) > limit:
        return LinesPage(rows=rows[:limit], next_after=rows[limit - 1][_LINE_POSITION])
    return LinesPage(rows=rows, next_after=None)


_LINE_POSITION = LINE_ROW_FIELDS.index("position")
_LINE_STATUS = LINE_ROW_FIELDS.index("status")
_LINE_REOFFERED_IN = LINE_ROW_FIELDS.index("reoffered_in_id")
_LINE_RESOLVED_AT = LINE_ROW_FIELDS.index("resolved_at")


def _row_open(row: Sequence[Any]) -> bool:
    """``RunLine.is_open_failure`` of the line a run-details row was read from."""
    return (
        row[_LINE_STATUS] == LineStatus.FAILED
        and row[_LINE_REOFFERED_IN] is None
        and row[_LINE_RESOLVED_AT] is None
    )


@cache
def _field_order(model: type[Model], fields: tuple[str, ...]) -> tuple[list[str], list[int]]:
    attnames = [field.attname for field in model._meta.concrete_fields if field.attname in fields]
    return attnames, [fields.index(name) for name in attnames]


def _from_row[M: Model](model: type[M], fields: tuple[str, ...], row: Sequence[Any]) -> M:
    """``model`` from a row of ``values_list(*fields, …)``: ``from_db`` takes the values
    in the model's field order, which ``fields`` need not follow."""
    attnames, indexes = _field_order(model, fields)
    return model.from_db(model._default_manager.db, attnames, [row[index] for index in indexes])


def line_row(row: Sequence[Any]) -> RunLine:
    """The RunLine a run-details row was read from, with the fields the row shows."""
    line = _from_row(RunLine, LINE_ROW_FIELDS, row)
    if line.reoffered_in_id is not None:
        line.reoffered_in = Run(pk=line.reoffered_in_id, number=row[-1])
    return line


def line_history(*, line: RunLine) -> LineHistory:
    """The same record (integration, kind, identifier) in other runs, newest first, with
    this line's delivery attempts and its edit history."""
    other_lines = list(
        RunLine.objects.filter(
            integration_id=line.integration_id, kind=line.kind, identifier=line.identifier
        )
        .exclude(pk=line.pk)
        .select_related("run")
        .only("id", "status", "message", "run__id", "run__number", "run__queued_at", "run__status")
        .order_by("-run__number")[:HISTORY_LIMIT]
    )
    return LineHistory(
        other_lines=other_lines,
        attempts=line.delivery_attempts.order_by("number"),
        edits=line.edits.select_related("user").order_by("-at", "-id"),
    )


# --- records across runs and open failures (integration-wide screens) ----------------------

# A search lists at most this many records, each with its latest offers.
RECORDS_SHOWN = 50
OFFERS_PER_RECORD = 10
# Runs listed with lines ready for Retry; more than this is a sign of work left undone.
MARKED_RUNS_SHOWN = 50
# Lines in doubt listed on Open failed lines; the rest are counted (they are rare).
IN_DOUBT_SHOWN = 50


@dataclass(frozen=True)
class RecordOffers:
    """One source record (kind + identifier) and the lines that offered it, newest run first."""

    kind: str
    identifier: str
    lines: list[RunLine]
    # In how many runs the record was offered in all; ``lines`` holds the latest few.
    offered: int

    @property
    def kind_label(self) -> str:
        return str(Kind(self.kind).label)

    @property
    def more(self) -> int:
        return self.offered - len(self.lines)


@dataclass(frozen=True)
class RecordSearch:
    records: list[RecordOffers]
    # More records match than are listed: the user should type more of the identifier.
    capped: bool


@dataclass(frozen=True)
class OpenFailuresPage:
    lines: list[RunLine]
    # (run number, position) to continue after, or None on the last page.
    next_after: tuple[int, int] | None


@dataclass(frozen=True)
class MarkedRun:
    run_id: int
    number: int
    count: int


def record_search(
    *,
    integration: Integration,
    query: str,
    limit: int = RECORDS_SHOWN,
    offers_per_record: int = OFFERS_PER_RECORD,
) -> RecordSearch:
    """The integration's records whose identifier is ``query`` or starts with it, in any
    case: two queries.

    The first finds the records by a prefix seek on ``line_identity_folded`` (integration,
    kind, upper-cased identifier; pattern operator classes, so any collation will do); the
    second their latest ``offers_per_record`` lines with the total per record, by window
    functions over ``line_identity``.
    """
    matching = RunLine.objects.filter(
        integration=integration, kind__in=Kind.values, identifier__istartswith=query
    )
    keys = list(
        matching.order_by("kind", "identifier")
        .values_list("kind", "identifier")
        .distinct()[: limit + 1]
    )
    capped = len(keys) > limit
    keys = keys[:limit]
    if not keys:
        return RecordSearch(records=[], capped=False)
    wanted = Q()
    for kind, identifier in keys:
        wanted |= Q(kind=kind, identifier=identifier)
    record = [F("kind"), F("identifier")]
    lines = (
        RunLine.objects.filter(wanted, integration=integration)
        .annotate(
            recency=Window(RowNumber(), partition_by=record, order_by=F("run__number").desc()),
            offered=Window(Count("pk"), partition_by=record),
        )
        .filter(recency__lte=offers_per_record)
        .select_related("run", "reoffered_in")
        .defer("payload", "correction", "field_errors", "run__error", "run__idempotency_key")
        .order_by("kind", "identifier", "-run__number")
    )
    grouped: dict[tuple[str, str], list[RunLine]] = {key: [] for key in keys}
    for line in lines:
        grouped[line.kind, line.identifier].append(line)
    return RecordSearch(
        records=[
            RecordOffers(kind, identifier, found, found[0].offered)  # type: ignore[attr-defined]
            for (kind, identifier), found in grouped.items()
            if found
        ],
        capped=capped,
    )


def open_failures_page(
    *,
    integration: Integration,
    after: tuple[int, int] | None,
    limit: int,
    assigned_to: AbstractBaseUser | AnonymousUser | None = None,
) -> OpenFailuresPage:
    """Open failed lines of every run (of ``assigned_to``'s if given), oldest run first,
    keyset-paginated on (run number, position): one query however deep the page."""
    lines = RunLine.objects.open_failures(integration=integration)
    if assigned_to is not None:
        lines = lines.filter(assigned_to_id=assigned_to.pk)
    if after is not None:
        number, position = after
        lines = lines.filter(
            Q(run__number__gt=number) | Q(run__number=number, position__gt=position)
        )
    rows = list(
        lines.select_related("run")
        .defer("payload", "correction", "field_errors", "run__error", "run__idempotency_key")
        .order_by("run__number", "position")[: limit + 1]
    )
    if len(rows) > limit:
        last = rows[limit - 1]
        return OpenFailuresPage(lines=rows[:limit], next_after=(last.run.number, last.position))
    return OpenFailuresPage(lines=rows, next_after=None)


@dataclass(frozen=True)
class LinesInDoubt:
    lines: list[RunLine]  # the first IN_DOUBT_SHOWN, oldest run first
    count: int


def lines_in_doubt_of(
    *,
    integration: Integration,
    limit: int = IN_DOUBT_SHOWN,
    assigned_to: AbstractBaseUser | AnonymousUser | None = None,
) -> LinesInDoubt:
    """The integration's lines in doubt (``assigned_to``'s if given), oldest run first:
    each waits for a person to look in the package. Read through the few runs that have
    any (``run_in_doubt``), then each run's lines of that status (``line_run_status``)."""
    runs = Run.objects.filter(integration=integration, in_doubt__gt=0).values("pk")
    doubtful = RunLine.objects.in_doubt(integration=integration).filter(run__in=runs)
    if assigned_to is not None:
        doubtful = doubtful.filter(assigned_to_id=assigned_to.pk)
    lines = list(
        doubtful.select_related("run", "assigned_to")
        .only(
            "id",
            "run_id",
            "run__number",
            "position",
            "kind",
            "identifier",
            "message",
            "assigned_to__username",
        )
        .order_by("run__number", "position")[:limit]
    )
    count = len(lines) if len(lines) < limit else doubtful.count()
    return LinesInDoubt(lines=lines, count=count)


def runs_with_marked_lines(
    *, integration: Integration, limit: int = MARKED_RUNS_SHOWN
) -> list[MarkedRun]:
    """Runs whose open failed lines are marked for re-offer, oldest first: what Retry takes.

    Retry makes one new run per old run, so the screen offers it run by run.
    """
    rows = (
        RunLine.objects.open_failures(integration=integration)
        .filter(reoffer=True)
        .values("run_id", "run__number")
        .annotate(count=Count("pk"))
        .order_by("run__number")[:limit]
    )
    return [MarkedRun(row["run_id"], row["run__number"], row["count"]) for row in rows]


def run_lines_read_back(*, run: Run, after: int, limit: int) -> Iterator[Mapping[str, Any]]:
    """A page of the run's lines in position order, for the ERP to read back."""
    rows = (
        run.lines.filter(position__gt=after)
        .order_by("position")
        .values(
            "position", "kind", "identifier", "status", "message", "field_errors", "external_id"
        )[:limit]
    )
    yield from rows


# --- Integrations and History: an integration's runs ----------------------------------
# Runs drawn in an integration's chart.
CHART_RUNS = 20
HISTORY_PAGE_SIZE = 50
# Retention passes named under History: the latest few say enough.
PRUNINGS_SHOWN = 3
ACTIVE_STATUSES = (RunStatus.QUEUED, RunStatus.RUNNING)


class HistoryFilter:
    """Values of the History's status filter."""

    ALL = ""
    ERRORS = "errors"
    RUNNING = "running"
    VALUES = (ALL, ERRORS, RUNNING)


@dataclass
class IntegrationSummary:
    integration: Integration
    open_failures: int
    # Lines that may or may not be booked: a person decides each (docs/delivery.md).
    in_doubt: int
    # Oldest first, as the chart draws them; the last one is the latest run.
    recent_runs: list[Run] = field(default_factory=list)

    @property
    def last_run(self) -> Run | None:
        return self.recent_runs[-1] if self.recent_runs else None


# What a History row shows (integrations/_run_row.html and the filters it calls), and
# nothing else: a row is read as a plain tuple of these and "retry_of_number", and that
# tuple is its cache key (runs/views/rows.py), so a field the row does not show (the
# heartbeat an active run writes every few seconds) must not be among them.
HISTORY_FIELDS = (
    "id",
    "number",
    "kind",
    "trigger",
    "status",
    "total",
    "succeeded",
    "failed",
    "skipped",
    "in_doubt",
    "items_read",
    "items_changed",
    "items_closed",
    "queued_at",
    "started_at",
    "finished_at",
    "error",
    "paused_reason",
)
_HISTORY_STATUS = HISTORY_FIELDS.index("status")
_HISTORY_NUMBER = HISTORY_FIELDS.index("number")


def history_row_active(row: Sequence[Any]) -> bool:
    """Whether a History row's run is queued or running (its elapsed time moves)."""
    return row[_HISTORY_STATUS] in ACTIVE_STATUSES


def history_run(row: Sequence[Any]) -> Run:
    """The Run a History row was read from, with the fields the row shows."""
    run = _from_row(Run, HISTORY_FIELDS, row)
    run.retry_of_number = row[-1]  # type: ignore[attr-defined]
    return run


@dataclass(frozen=True)
class HistoryPage:
    # Newest first: HISTORY_FIELDS and then the number of the run retried, per run.
    # Tuples, not models: a row already rendered needs no model built (runs/views/rows.py).
    rows: Sequence[tuple[Any, ...]]
    # Pass as ``before`` to get the next (older) page; None on the last page.
    older_before: int | None
    is_newest: bool

    @cached_property
    def runs(self) -> list[Run]:
        return [history_run(row) for row in self.rows]

    @property
    def any_active(self) -> bool:
        return any(history_row_active(row) for row in self.rows)


def lines_in_doubt(*, integration: OuterRef) -> Coalesce:
    """The integration's lines in doubt, as a subquery: the sum of its runs' counters,
    read from the few runs that have any (the ``run_in_doubt`` partial index)."""
    counted = (
        Run.objects.filter(integration=integration, in_doubt__gt=0)
        .order_by()
        .values("integration")
        .annotate(n=Sum("in_doubt"))
        .values("n")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def integration_summaries(*, company: Company) -> list[IntegrationSummary]:
    """The company's integrations with their open failures and latest runs: two queries."""
    open_count = (
        RunLine.objects.open_failures(integration=OuterRef("pk"))
        .order_by()
        .values("integration")
        .annotate(n=Count("pk"))
        .values("n")
    )
    integrations = list(
        Integration.objects.filter(company=company)
        .annotate(
            open_failures=Coalesce(Subquery(open_count, output_field=IntegerField()), Value(0)),
            in_doubt=lines_in_doubt(integration=OuterRef("pk")),
        )
        .order_by("name", "pk")
    )
    summaries = {
        integration.pk: IntegrationSummary(
            integration, integration.open_failures, integration.in_doubt
        )
        for integration in integrations
    }
    if not summaries:
        return []
    # Run numbers count up per integration (run_create hands them out under a row
    # lock), so "the last N runs" is a range seek on (integration, number).
    recent = (
        Run.objects.filter(
            integration__company=company,
            number__gt=F("integration__last_run_number") - CHART_RUNS,
        )
        .defer("error", "idempotency_key", "body_hash")
        .order_by("integration_id", "number")
    )
    for run in recent:
        summaries[run.integration_id].recent_runs.append(run)
    return list(summaries.values())


def run_history(
    *,
    integration: Integration,
    status: str = HistoryFilter.ALL,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    before: int | None = None,
    page_size: int = HISTORY_PAGE_SIZE,
) -> HistoryPage:
    """One page of an integration's runs, newest first, by keyset on the run number.

    One query whatever the depth: no OFFSET, no COUNT(*). It reads one row more than
    it shows to know whether there is an older page.
    """
    rows = list(
        _history_runs(integration, status, date_from, date_to, before)
        .annotate(retry_of_number=F("retry_of__number"))
        .order_by("-number")
        .values_list(*HISTORY_FIELDS, "retry_of_number")[: page_size + 1]
    )
    older = rows[page_size - 1][_HISTORY_NUMBER] if len(rows) > page_size else None
    return HistoryPage(rows=rows[:page_size], older_before=older, is_newest=before is None)


# A row version's place and the transaction that wrote it. Any write to a row makes a
# new version with a new ctid (a HOT update included), and a version's xmin is the
# transaction that wrote it, so (ctid, xmin) names one committed state of a row: another
# transaction never sees a state in between. Read from PostgreSQL's system columns, they
# cost no column, index or trigger of our own.
_ROW_VERSION = "ctid::text || ':' || xmin::text"


def history_versions(
    *,
    integration: Integration,
    status: str = HistoryFilter.ALL,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    before: int | None = None,
    page_size: int = HISTORY_PAGE_SIZE,
) -> tuple[Any, ...] | None:
    """What History's page is drawn from, as a small value that changes whenever the page
    would: the version of each run on the page (and of the next one, which decides the
    Older link), whether it is active, and the version of each pruning shown. None where
    the database keeps no row versions (SQLite).

    One statement, written out rather than built by the ORM: it is read on every visit
    to History, and building it costs more than running it. It selects the same runs
    as ``run_history`` (``_history_runs``); tests/integrations/test_views_history.py
    holds the two to the same rows for every filter.
    """
    connection = connections[Run.objects.db]
    if connection.vendor != "postgresql":
        return None
    conditions = ["integration_id = %s"]
    params: list[Any] = [integration.pk]
    if status == HistoryFilter.ERRORS:
        conditions.append("(failed > 0 OR in_doubt > 0 OR status = %s)")
        params.append(RunStatus.FAILED)
    elif status == HistoryFilter.RUNNING:
        conditions.append("status = ANY(%s)")
        params.append(list(ACTIVE_STATUSES))
    if date_from is not None:
        conditions.append("queued_at >= %s")
        params.append(_start_of(date_from))
    if date_to is not None:
        conditions.append("queued_at < %s")
        params.append(_start_of(date_to + dt.timedelta(days=1)))
    if before is not None:
        conditions.append("number < %s")
        params.append(before)
    sql = (
        f"(SELECT 'run', id, {_ROW_VERSION}, status = ANY(%s) FROM {Run._meta.db_table}"  # noqa: S608 - our own fragments; every value is a parameter
        f" WHERE {' AND '.join(conditions)} ORDER BY number DESC LIMIT %s)"
        f" UNION ALL (SELECT 'pruning', id, {_ROW_VERSION}, false FROM {Pruning._meta.db_table}"
        " WHERE integration_id = %s AND lines > 0 ORDER BY pruned_at DESC LIMIT %s)"
    )
    params = [list(ACTIVE_STATUSES), *params, page_size + 1, integration.pk, PRUNINGS_SHOWN]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return tuple(sorted(cursor.fetchall()))


def _history_runs(
    integration: Integration,
    status: str,
    date_from: dt.date | None,
    date_to: dt.date | None,
    before: int | None,
) -> QuerySet[Run]:
    runs = Run.objects.filter(integration=integration)
    if status == HistoryFilter.ERRORS:
        # Lines in doubt wait for a person as failed ones do.
        runs = runs.filter(Q(failed__gt=0) | Q(in_doubt__gt=0) | Q(status=RunStatus.FAILED))
    elif status == HistoryFilter.RUNNING:
        runs = runs.filter(status__in=ACTIVE_STATUSES)
    if date_from is not None:
        runs = runs.filter(queued_at__gte=_start_of(date_from))
    if date_to is not None:
        runs = runs.filter(queued_at__lt=_start_of(date_to + dt.timedelta(days=1)))
    if before is not None:
        runs = runs.filter(number__lt=before)
    return runs


def prunings_of(*, integration: Integration) -> list[Pruning]:
    """The latest retention passes that removed details of this integration's lines."""
    return list(_prunings(integration)[:PRUNINGS_SHOWN])


def _prunings(integration: Integration) -> QuerySet[Pruning]:
    return Pruning.objects.filter(integration=integration, lines__gt=0).order_by("-pruned_at")


def _start_of(day: dt.date) -> dt.datetime:
    """Midnight at the start of ``day`` in the portal's time zone."""
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))
