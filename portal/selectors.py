"""Reads across the companies of one user: the consultant's overview and My company.

Every integration the user can see (through a membership, never a request value),
with its health in one row. A page is two queries whatever the number of companies:
one for the integrations with every count as a subquery on an index, one for their
last runs. Pages are keyset pages on the sort's columns.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db.models import (
    Count,
    DateTimeField,
    F,
    IntegerField,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from integrations.models import Integration
from portal.models import Membership
from runs.models import LineStatus, Run, RunLine, RunStatus
from runs.selectors import lines_in_doubt

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

OVERVIEW_PAGE_SIZE = 50
# A run queued this long without starting, or running without a heartbeat this long
# (a paused run has none on purpose), is stuck: the sweeper should have moved it.
STUCK_AFTER = dt.timedelta(minutes=15)
# Exact Online lets a refresh token lapse when it is not used for about a month; an
# integration whose tokens were not refreshed for this long will soon need reconnecting.
CREDENTIALS_IDLE_WARNING = dt.timedelta(days=25)
_FAR_PAST = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_FAR_FUTURE = dt.datetime(9999, 1, 1, tzinfo=dt.UTC)


@dataclass(frozen=True)
class Sort:
    """Columns of a sort, each (annotation or field, descending); the last is unique."""

    columns: tuple[tuple[str, bool], ...]
    datetimes: frozenset[str] = frozenset()


SORTS: dict[str, Sort] = {
    "company": Sort((("company__name", False), ("name", False), ("pk", False))),
    "failures": Sort((("open_failures", True), ("pk", True))),
    "oldest": Sort((("oldest_sort", False), ("pk", False)), frozenset({"oldest_sort"})),
    "last_run": Sort((("last_run_sort", True), ("pk", True)), frozenset({"last_run_sort"})),
}


@dataclass(frozen=True)
class OverviewFilter:
    attention: bool = False
    package: str = ""
    search: str = ""
    assigned_to_me: bool = False


@dataclass
class OverviewRow:
    integration: Integration
    last_run: Run | None
    now: dt.datetime

    @property
    def company(self) -> Any:
        return self.integration.company

    @property
    def open_failures(self) -> int:
        return self.integration.open_failures  # type: ignore[attr-defined]

    @property
    def oldest_failure_age(self) -> dt.timedelta | None:
        oldest = self.integration.oldest_failure  # type: ignore[attr-defined]
        return self.now - oldest if oldest else None

    @property
    def last_run_age(self) -> dt.timedelta | None:
        if self.last_run is None:
            return None
        return self.now - (self.last_run.finished_at or self.last_run.queued_at)

    @property
    def connection(self) -> str:
        """refused, not_connected, disabled, idle (tokens may lapse soon) or ok."""
        integration = self.integration
        if integration.connection_error:
            return "refused"
        if integration.connected_at is None:
            return "not_connected"
        if not integration.enabled:
            return "disabled"
        refreshed = integration.token_refreshed_at or integration.connected_at
        if self.now - refreshed > CREDENTIALS_IDLE_WARNING:
            return "idle"
        return "ok"

    @property
    def needs_attention(self) -> bool:
        integration: Any = self.integration
        return bool(
            self.connection != "ok"
            or integration.open_failures
            or integration.in_doubt
            or integration.stuck_runs
            or integration.paused_runs
        )


@dataclass(frozen=True)
class OverviewPage:
    rows: Sequence[OverviewRow]
    # Pass as ``after`` for the next page; None on the last page.
    next_after: str | None


def visible_integrations(*, user: AbstractBaseUser) -> QuerySet[Integration]:
    """Integrations of every company the user is a member of."""
    return Integration.objects.filter(
        company__in=Membership.objects.filter(user_id=user.pk).values("company_id")
    )


def _open(integration_ref: OuterRef) -> QuerySet[RunLine]:
    return RunLine.objects.open_failures(integration=integration_ref).order_by()


def _count(queryset: QuerySet[Any]) -> Coalesce:
    counted = queryset.values("integration").annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def _annotated(user: AbstractBaseUser, now: dt.datetime) -> QuerySet[Integration]:
    here = OuterRef("pk")
    stuck = Q(status=RunStatus.QUEUED, queued_at__lt=now - STUCK_AFTER) | Q(
        status=RunStatus.RUNNING, heartbeat_at__lt=now - STUCK_AFTER
    )
    runs = Run.objects.filter(integration=here).order_by()
    paused = runs.filter(status=RunStatus.RUNNING, heartbeat_at__isnull=True)
    waiting = RunLine.objects.filter(
        run=OuterRef("paused_run"), status=LineStatus.PENDING, next_attempt_at__isnull=False
    ).exclude(message="")
    return (
        visible_integrations(user=user)
        .select_related("company")
        .defer("credentials", "settings")
        .annotate(
            open_failures=_count(_open(here)),
            in_doubt=lines_in_doubt(integration=here),
            # Lines in doubt are assigned too: someone has to look them up in the package.
            assigned_to_me=_count(
                RunLine.objects.awaiting_a_person(integration=here)
                .order_by()
                .filter(assigned_to_id=user.pk)
            ),
            oldest_failure=Subquery(
                _open(here).values("integration").annotate(m=Min("finished_at")).values("m"),
                output_field=DateTimeField(),
            ),
            stuck_runs=_count(runs.filter(stuck)),
            paused_runs=_count(paused),
            paused_run=Subquery(paused.order_by("number").values("pk")[:1]),
            paused_reason=Subquery(waiting.order_by("position").values("message")[:1]),
            last_run_id=Subquery(
                Run.objects.filter(integration=here, number=OuterRef("last_run_number")).values(
                    "pk"
                )[:1]
            ),
            last_run_sort=Coalesce(
                Subquery(
                    Run.objects.filter(integration=here, number=OuterRef("last_run_number")).values(
                        "queued_at"
                    )[:1]
                ),
                Value(_FAR_PAST),
                output_field=DateTimeField(),
            ),
            oldest_sort=Coalesce(F("oldest_failure"), Value(_FAR_FUTURE)),
        )
    )


def _filtered(integrations: QuerySet[Integration], wanted: OverviewFilter) -> QuerySet[Integration]:
    if wanted.package:
        integrations = integrations.filter(connector=wanted.package)
    if wanted.search:
        integrations = integrations.filter(
            Q(company__name__icontains=wanted.search) | Q(name__icontains=wanted.search)
        )
    if wanted.assigned_to_me:
        integrations = integrations.filter(Q(assigned_to_me__gt=0))
    if wanted.attention:
        integrations = integrations.filter(
            Q(connection_error__gt="")
            | Q(connected_at__isnull=True)
            | Q(open_failures__gt=0)
            | Q(in_doubt__gt=0)
            | Q(stuck_runs__gt=0)
            | Q(paused_runs__gt=0)
        )
    return integrations


def _cursor(sort: Sort, integration: Integration) -> str:
    values = []
    for name, _descending in sort.columns:
        value: Any = integration
        for part in name.split("__"):
            value = getattr(value, part)
        values.append(value.isoformat() if isinstance(value, dt.datetime) else value)
    return json.dumps(values, separators=(",", ":"))


def _after(sort: Sort, after: str | None) -> Q | None:
    """The keyset condition "after this row" in the sort's order, or None if unreadable.

    The first column also gets a plain ``>=`` (or ``<=``), so the database can seek.
    """
    if not after:
        return None
    try:
        values = json.loads(after)
        if not isinstance(values, list) or len(values) != len(sort.columns):
            return None
        values = [
            dt.datetime.fromisoformat(value) if name in sort.datetimes else value
            for (name, _descending), value in zip(sort.columns, values, strict=True)
        ]
    except (ValueError, TypeError):
        return None
    condition = Q()
    for index, (name, descending) in enumerate(sort.columns):
        equal = {column: values[i] for i, (column, _d) in enumerate(sort.columns[:index])}
        condition |= Q(**equal, **{f"{name}__{'lt' if descending else 'gt'}": values[index]})
    first, descending = sort.columns[0]
    return condition & Q(**{f"{first}__{'lte' if descending else 'gte'}": values[0]})


def overview_page(
    *,
    user: AbstractBaseUser,
    sort: str = "company",
    wanted: OverviewFilter | None = None,
    after: str | None = None,
    limit: int = OVERVIEW_PAGE_SIZE,
) -> OverviewPage:
    """One page of the user's integrations with their health: two queries."""
    now = timezone.now()
    order = SORTS.get(sort, SORTS["company"])
    integrations = _filtered(_annotated(user, now), wanted or OverviewFilter())
    condition = _after(order, after)
    if condition is not None:
        integrations = integrations.filter(condition)
    rows = list(
        integrations.order_by(
            *[f"-{name}" if descending else name for name, descending in order.columns]
        )[: limit + 1]
    )
    next_after = _cursor(order, rows[limit - 1]) if len(rows) > limit else None
    rows = rows[:limit]
    last_runs = Run.objects.filter(
        pk__in=[row.last_run_id for row in rows if row.last_run_id]  # type: ignore[attr-defined]
    ).defer("idempotency_key", "body_hash")
    by_id = {run.pk: run for run in last_runs} if rows else {}
    return OverviewPage(
        rows=[
            OverviewRow(row, by_id.get(row.last_run_id), now)  # type: ignore[attr-defined]
            for row in rows
        ],
        next_after=next_after,
    )


def membership_count(*, user: AbstractBaseUser) -> int:
    return Membership.objects.filter(user_id=user.pk).count()
