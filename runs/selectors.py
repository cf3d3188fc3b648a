"""Reads behind the run and line screens. Callers pass rows already scoped to a company."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db.models import Count, F, Q, QuerySet, Window
from django.db.models.functions import RowNumber

from runs.models import DeliveryAttempt, Kind, LineEdit, LineStatus, Run, RunLine

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

    from integrations.models import Integration

# A record's earlier attempts shown on the line page; older ones are rarely of interest.
HISTORY_LIMIT = 50


@dataclass(frozen=True)
class LinesPage:
    lines: list[RunLine]
    # The position to continue after, or None on the last page.
    next_after: int | None


@dataclass(frozen=True)
class LineHistory:
    other_lines: list[RunLine]
    attempts: QuerySet[DeliveryAttempt]
    edits: QuerySet[LineEdit]


def run_lines_page(
    *, run: Run, only_failed: bool, search: str, after_position: int | None, limit: int
) -> LinesPage:
    """One page of the run's lines in position order, keyset-paginated on position.

    Fetches one row more than ``limit`` to know whether a next page exists, so no
    page ever needs a COUNT and the deepest page costs what the first does.
    """
    lines = RunLine.objects.filter(run=run)
    if only_failed:
        lines = lines.filter(status=LineStatus.FAILED)
    if search:
        lines = lines.filter(identifier__icontains=search)
    if after_position is not None:
        lines = lines.filter(position__gt=after_position)
    rows = list(
        lines.select_related("reoffered_in")
        .defer("payload", "correction", "field_errors")
        .order_by("position")[: limit + 1]
    )
    if len(rows) > limit:
        return LinesPage(lines=rows[:limit], next_after=rows[limit - 1].position)
    return LinesPage(lines=rows, next_after=None)


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


def run_marked_count(*, run: Run) -> int:
    """How many open failed lines of the run are marked for re-offer (what Retry would take)."""
    return RunLine.objects.open_failures().filter(run=run, reoffer=True).count()


def run_open_failed_count(*, run: Run) -> int:
    """Failed lines neither re-offered nor resolved: what still needs attention."""
    return RunLine.objects.open_failures().filter(run=run).count()


# --- records across runs and open failures (integration-wide screens) ----------------------

# A search lists at most this many records, each with its latest offers.
RECORDS_SHOWN = 50
OFFERS_PER_RECORD = 10
# Runs listed with lines ready for Retry; more than this is a sign of work left undone.
MARKED_RUNS_SHOWN = 50


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
    """The integration's records whose identifier is ``query`` or starts with it: two queries.

    The first finds the records by a prefix seek on ``line_identity`` (integration, kind,
    identifier; pattern operator classes, so any collation will do); the second their latest ``offers_per_record`` lines with the
    total per record, by window functions over the same index.
    """
    matching = RunLine.objects.filter(
        integration=integration, kind__in=Kind.values, identifier__startswith=query
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


def _open_failures(integration: Integration) -> QuerySet[RunLine]:
    return RunLine.objects.open_failures().filter(integration=integration)


def open_failures_page(
    *,
    integration: Integration,
    after: tuple[int, int] | None,
    limit: int,
    assigned_to: AbstractBaseUser | AnonymousUser | None = None,
) -> OpenFailuresPage:
    """Open failed lines of every run (of ``assigned_to``'s if given), oldest run first,
    keyset-paginated on (run number, position): one query however deep the page."""
    lines = _open_failures(integration)
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


def open_failures_count(*, integration: Integration) -> int:
    return _open_failures(integration).count()


def runs_with_marked_lines(
    *, integration: Integration, limit: int = MARKED_RUNS_SHOWN
) -> list[MarkedRun]:
    """Runs whose open failed lines are marked for re-offer, oldest first: what Retry takes.

    Retry makes one new run per old run, so the screen offers it run by run.
    """
    rows = (
        _open_failures(integration)
        .filter(reoffer=True)
        .values("run_id", "run__number")
        .annotate(count=Count("pk"))
        .order_by("run__number")[:limit]
    )
    return [MarkedRun(row["run_id"], row["run__number"], row["count"]) for row in rows]
