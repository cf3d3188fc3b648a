"""Reads behind the run and line screens. Callers pass rows already scoped to a company."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet

from runs.models import DeliveryAttempt, LineEdit, LineStatus, Run, RunLine

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
    return RunLine.objects.filter(
        run=run,
        status=LineStatus.FAILED,
        reoffer=True,
        reoffered_in__isnull=True,
        resolved_at__isnull=True,
    ).count()


def run_open_failed_count(*, run: Run) -> int:
    """Failed lines neither re-offered nor resolved: what still needs attention."""
    return RunLine.objects.filter(
        run=run, status=LineStatus.FAILED, reoffered_in__isnull=True, resolved_at__isnull=True
    ).count()
