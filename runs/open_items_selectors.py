"""Reads of the open items snapshot: the ERP's API, its dbopen.csv, and the screen."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db.models import F, Q, QuerySet
from django.utils import timezone

from runs.models import OpenItem, Run, RunKind, RunStatus

if TYPE_CHECKING:
    from collections.abc import Iterator

    from integrations.models import Integration

# The columns of dbopen.csv, in order (docs/intake.md describes them).
CSV_COLUMNS = (
    "side",
    "relation_code",
    "invoice_number",
    "invoice_date",
    "due_date",
    "original_amount",
    "open_amount",
    "currency",
    "status",
    "package_id",
)


@dataclass(frozen=True)
class ItemsPage:
    items: list[OpenItem]
    as_of: int  # the import whose snapshot the pages show: the ERP's next cursor
    next_after: int | None  # the id to continue after, or None on the last page


def snapshot_cursor(*, integration: Integration) -> int:
    """The number of the last import that finished (0: none yet)."""
    last = (
        Run.objects.filter(
            integration=integration, kind=RunKind.OPEN_ITEMS, status=RunStatus.FINISHED
        )
        .order_by("-number")
        .values_list("number", flat=True)
        .first()
    )
    return last or 0


def _items(
    integration: Integration, *, as_of: int, changed_since: int | None
) -> QuerySet[OpenItem]:
    """Items as of import ``as_of``: everything still open, or what changed after the
    ERP's cursor (closed items included). A later import changing a row meanwhile moves
    it out of these pages and into the next ``changed_since``."""
    items = OpenItem.objects.filter(integration=integration, change__lte=as_of)
    if changed_since is None:
        return items.filter(closed_at__isnull=True)
    return items.filter(change__gt=changed_since)


def open_items_page(
    *,
    integration: Integration,
    changed_since: int | None,
    as_of: int | None,
    after: int,
    limit: int,
) -> ItemsPage:
    """One page in id order, keyset-paginated on id."""
    as_of = snapshot_cursor(integration=integration) if as_of is None else as_of
    items = list(
        _items(integration, as_of=as_of, changed_since=changed_since)
        .filter(id__gt=after)
        .order_by("id")[: limit + 1]
    )
    following = items[limit - 1].pk if len(items) > limit else None
    return ItemsPage(items=items[:limit], as_of=as_of, next_after=following)


def open_items_csv_rows(
    *, integration: Integration, changed_since: int | None, as_of: int
) -> Iterator[list[str]]:
    """The rows of dbopen.csv (header first), streamed from the database."""
    yield list(CSV_COLUMNS)
    items = _items(integration, as_of=as_of, changed_since=changed_since).order_by("id")
    for item in items.iterator(chunk_size=2000):
        yield [_csv_value(item, column) for column in CSV_COLUMNS]


def _csv_value(item: OpenItem, column: str) -> str:
    """Reflex 3000's conventions, as in its fmuta6.csv: dates DD-MM-YYYY, decimal commas."""
    if column == "status":
        return "closed" if item.closed_at else "open"
    value: Any = getattr(item, column)
    if value is None:
        return ""
    if isinstance(value, dt.date):
        return value.strftime("%d-%m-%Y")
    if column.endswith("_amount"):
        return f"{value:.2f}".replace(".", ",")
    return str(value)


def open_items_screen(
    *, integration: Integration, relation: str, after: tuple[str, int] | None, limit: int
) -> tuple[list[OpenItem], tuple[str, int] | None]:
    """Still-open items, overdue first (earliest due date first), optionally of one
    relation; keyset-paginated on (due date, id). Items without a due date come last."""
    items = OpenItem.objects.still_open().filter(integration=integration)
    if relation:
        items = items.filter(relation_code=relation.strip())
    if after is not None:
        due, last_id = after
        if due:
            items = items.filter(
                Q(due_date__gt=due) | Q(due_date=due, id__gt=last_id) | Q(due_date__isnull=True)
            )
        else:
            items = items.filter(due_date__isnull=True, id__gt=last_id)
    page = list(items.order_by(F("due_date").asc(nulls_last=True), "id")[: limit + 1])
    following = None
    if len(page) > limit:
        last = page[limit - 1]
        following = (last.due_date.isoformat() if last.due_date else "", last.pk)
    return page[:limit], following


def is_overdue(item: OpenItem) -> bool:
    return item.due_date is not None and item.due_date < timezone.localdate()
