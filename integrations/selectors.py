"""Reads for the integration screens: the company's integrations and a run history.

Every function takes the company (or an integration already looked up through it),
never an id from the request, and answers with a fixed number of queries however
many integrations, runs or lines there are.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.db.models import Count, F, IntegerField, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from integrations.models import Integration
from portal.models import Company
from runs.models import Pruning, Run, RunLine, RunStatus

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
    # Oldest first, as the chart draws them; the last one is the latest run.
    recent_runs: list[Run] = field(default_factory=list)

    @property
    def last_run(self) -> Run | None:
        return self.recent_runs[-1] if self.recent_runs else None


@dataclass(frozen=True)
class HistoryPage:
    runs: Sequence[Run]
    # Pass as ``before`` to get the next (older) page; None on the last page.
    older_before: int | None
    is_newest: bool

    @property
    def any_active(self) -> bool:
        return any(run.is_active for run in self.runs)


def open_failures(*, integration_ref: OuterRef | int) -> QuerySet[RunLine]:
    """Failed lines nobody re-offered or resolved yet (served by ``line_open_failures``)."""
    return RunLine.objects.open_failures().filter(integration=integration_ref)


def integration_summaries(*, company: Company) -> list[IntegrationSummary]:
    """The company's integrations with their open failures and latest runs: two queries."""
    open_count = (
        open_failures(integration_ref=OuterRef("pk"))
        .order_by()
        .values("integration")
        .annotate(n=Count("pk"))
        .values("n")
    )
    integrations = list(
        Integration.objects.filter(company=company)
        .annotate(
            open_failures=Coalesce(Subquery(open_count, output_field=IntegerField()), Value(0))
        )
        .order_by("name", "pk")
    )
    summaries = {
        integration.pk: IntegrationSummary(integration, integration.open_failures)
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
    runs = Run.objects.filter(integration=integration)
    if status == HistoryFilter.ERRORS:
        runs = runs.filter(Q(failed__gt=0) | Q(status=RunStatus.FAILED))
    elif status == HistoryFilter.RUNNING:
        runs = runs.filter(status__in=ACTIVE_STATUSES)
    if date_from is not None:
        runs = runs.filter(queued_at__gte=_start_of(date_from))
    if date_to is not None:
        runs = runs.filter(queued_at__lt=_start_of(date_to + dt.timedelta(days=1)))
    if before is not None:
        runs = runs.filter(number__lt=before)
    rows = list(
        runs.annotate(retry_of_number=F("retry_of__number"))
        .defer("idempotency_key", "body_hash")
        .order_by("-number")[: page_size + 1]
    )
    older = rows[page_size - 1].number if len(rows) > page_size else None
    return HistoryPage(runs=rows[:page_size], older_before=older, is_newest=before is None)


def prunings_of(*, integration: Integration) -> list[Pruning]:
    """The latest retention passes that removed details of this integration's lines."""
    return list(
        Pruning.objects.filter(integration=integration, lines__gt=0).order_by("-pruned_at")[
            :PRUNINGS_SHOWN
        ]
    )


def _start_of(day: dt.date) -> dt.datetime:
    """Midnight at the start of ``day`` in the portal's time zone."""
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))
