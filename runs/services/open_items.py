"""Open items imports: the package's open receivables and payables, back for the ERP.

An import is a run of kind ``open_items`` beside the export runs (same numbering, same
History). It reads the package's lists page by page through the integration's own
connector, so every call passes the same shared rate limiter, error budget and daily
cap as the exports' calls; it makes one call at a time, so an export running beside it
waits at most one call per page it reads. Nothing is written until the whole list is
read: the new snapshot is stored in one transaction at the end, so a fault, an
unreadable answer or a killed worker leaves the previous snapshot current.

One import at a time per integration: starting one takes the integration's row lock
and looks for an active one, and a partial unique index on ``Run`` makes a second
impossible whatever happens.
"""

from __future__ import annotations

import logging
import random
import time
from datetime import timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max, Q
from django.utils import timezone

from integrations.connectors.base import DeliveryError, Fault, UnreadableAnswer
from integrations.credentials import connector_for
from integrations.http import CallsHeld
from integrations.models import Integration
from runs import wording
from runs.models import OpenItem, Run, RunKind, RunStatus, Trigger

if TYPE_CHECKING:
    import datetime as dt

    from django.contrib.auth.models import User

    from integrations.connectors.base import Connector, OpenItemRow

logger = logging.getLogger(__name__)

ACTIVE = (RunStatus.QUEUED, RunStatus.RUNNING)
# The fields an import compares: a change in any of them is a change for the ERP.
_COMPARED = (
    "relation_code",
    "invoice_number",
    "invoice_date",
    "due_date",
    "original_amount",
    "open_amount",
    "currency",
)


class ImportFailed(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def offers_open_items(integration: Integration) -> bool:
    """Whether the integration's package has documented open-item calls."""
    return integration.offers_open_items


# --- starting ------------------------------------------------------------------------


def open_items_import_start(
    *, integration: Integration, trigger: Trigger, created_by: User | None = None
) -> Run | None:
    """Queue an import; None when one is queued or running already (never two at once)."""
    if not offers_open_items(integration):
        return None
    try:
        with transaction.atomic():
            locked = Integration.objects.select_for_update().get(pk=integration.pk)
            if Run.objects.filter(
                integration=locked, kind=RunKind.OPEN_ITEMS, status__in=ACTIVE
            ).exists():
                return None
            locked.last_run_number += 1
            locked.save(update_fields=["last_run_number"])
            run = Run.objects.create(
                integration=locked,
                number=locked.last_run_number,
                kind=RunKind.OPEN_ITEMS,
                trigger=trigger,
                created_by=created_by,
            )
            _queue(run.pk)
    except IntegrityError:
        return None  # another start won the race (the partial unique index)
    return run


def open_items_schedule(*, now: dt.datetime | None = None) -> list[Run]:
    """Start every import that is due; answer them. Beat calls this every minute.

    Due: the integration is enabled, connected, its package offers open items, an
    interval is set, and its last import was queued at least that long ago.
    """
    now = now or timezone.now()
    _imports_sweep(now)
    candidates = Integration.objects.filter(enabled=True, open_items_interval__gt=0).annotate(
        last_import=Max("runs__queued_at", filter=Q(runs__kind=RunKind.OPEN_ITEMS))
    )
    started = []
    for integration in candidates:
        interval = timedelta(minutes=integration.open_items_interval or 0)
        if integration.last_import is not None and integration.last_import > now - interval:
            continue
        if not (offers_open_items(integration) and integration.is_connected):
            continue
        run = open_items_import_start(integration=integration, trigger=Trigger.SCHEDULE)
        if run is not None:
            started.append(run)
    return started


def _imports_sweep(now: dt.datetime) -> None:
    """An import whose worker died fails (the previous snapshot stays current); one
    whose task was lost is queued again."""
    stale = now - timedelta(seconds=settings.RUN_HEARTBEAT_STALE_SECONDS)
    grace = now - timedelta(seconds=settings.RUN_QUEUED_GRACE_SECONDS)
    imports = Run.objects.filter(kind=RunKind.OPEN_ITEMS)
    for run in imports.filter(status=RunStatus.RUNNING, heartbeat_at__lte=stale):
        _fail(run, wording.IMPORT_INTERRUPTED())
    for run_id in imports.filter(status=RunStatus.QUEUED, queued_at__lte=grace).values_list(
        "pk", flat=True
    ):
        _queue(run_id)


def _queue(run_id: int) -> None:
    from runs.tasks import open_items_import as task

    transaction.on_commit(lambda: task.delay(run_id), robust=True)


# --- importing -----------------------------------------------------------------------


def open_items_import(*, run_id: int) -> None:
    """Read the package's open items and store them as the new snapshot."""
    run = _claim(run_id)
    if run is None:
        return
    connector = connector_for(run.integration)
    try:
        rows = _read(run, connector)
    except ImportFailed as failed:
        _fail(run, failed.reason)
        return
    finally:
        connector.client.close()
    _store(run, rows)


def _claim(run_id: int) -> Run | None:
    """Take a queued import for this worker (a conditional update: exactly one wins)."""
    now = timezone.now()
    taken = Run.objects.filter(pk=run_id, kind=RunKind.OPEN_ITEMS, status=RunStatus.QUEUED).update(
        status=RunStatus.RUNNING, started_at=now, heartbeat_at=now
    )
    if not taken:
        return None
    run = Run.objects.select_related("integration__company").get(pk=run_id)
    if not run.integration.enabled:
        _fail(run, wording.INTEGRATION_DISABLED(name=run.integration.name))
        return None
    return run


def _read(run: Run, connector: Connector) -> dict[tuple[str, str], OpenItemRow]:
    """Every open item, keyed by side and the package's id; tries again on passing faults."""
    tries = settings.OPEN_ITEMS_TRIES
    for attempt in range(1, tries + 1):
        try:
            return _read_once(run, connector)
        except DeliveryError as error:
            if error.fault is not Fault.TRANSIENT or attempt == tries:
                raise ImportFailed(_reason(error.message)) from None
            wait = error.retry_after or settings.RUN_RETRY_BASE_SECONDS * 2**attempt
        except CallsHeld as held:
            if held.seconds > settings.LIMITER_MAX_WAIT_SECONDS or attempt == tries:
                raise ImportFailed(
                    _reason(
                        f"{connector.label} allows no calls now ({held.hold.value}, "
                        f"{held.seconds:.0f} s); the next import tries again"
                    )
                ) from None
            wait = held.seconds
        except UnreadableAnswer as unreadable:
            raise ImportFailed(
                _reason(f"{connector.label} answered what the portal cannot read: {unreadable}")
            ) from None
        logger.info("open items import %s: try %s failed, again in %.1f s", run.pk, attempt, wait)
        _nap(run, min(wait, settings.RUN_RETRY_CAP_SECONDS) * random.uniform(0.8, 1.0))
    raise AssertionError("unreachable")  # pragma: no cover


def _nap(run: Run, seconds: float) -> None:
    """Wait, keeping the heartbeat fresh, so the sweep does not take a wait for a death."""
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        time.sleep(min(left, settings.RUN_HEARTBEAT_SECONDS))
        Run.objects.filter(pk=run.pk).update(heartbeat_at=timezone.now())


def _read_once(run: Run, connector: Connector) -> dict[tuple[str, str], OpenItemRow]:
    rows: dict[tuple[str, str], OpenItemRow] = {}
    for page in connector.open_items():
        for row in page:
            rows[row.side, row.package_id] = row
        # The heartbeat says a worker is on it (the sweep fails an import without one).
        Run.objects.filter(pk=run.pk).update(heartbeat_at=timezone.now(), items_read=len(rows))
    return rows


def _reason(text: str) -> str:
    return f"{text.rstrip('.')}. The previous open items stay current."


def _fail(run: Run, reason: str) -> None:
    Run.objects.filter(pk=run.pk, status__in=ACTIVE).update(
        status=RunStatus.FAILED, error=reason, finished_at=timezone.now(), heartbeat_at=None
    )
    logger.warning("open items import %s failed: %s", run.pk, reason)


def _store(run: Run, rows: dict[tuple[str, str], OpenItemRow]) -> None:
    """The new snapshot, in one transaction: new items, changed ones, closed ones."""
    now = timezone.now()
    with transaction.atomic():
        # Serialises snapshots of one integration (an import that outlived its sweep).
        Integration.objects.select_for_update().filter(pk=run.integration_id).first()
        if not Run.objects.filter(pk=run.pk, status=RunStatus.RUNNING).exists():
            return  # failed by the sweep meanwhile: its result is not current any more
        current = {
            (item.side, item.package_id): item
            for item in OpenItem.objects.filter(integration_id=run.integration_id)
        }
        new, changed = [], []
        for key, row in rows.items():
            item = current.get(key)
            if item is None:
                new.append(_new_item(run, row, now))
            elif _differs(item, row) or item.closed_at is not None:
                for name in _COMPARED:
                    setattr(item, name, getattr(row, name))
                item.closed_at, item.changed_at, item.change = None, now, run.number
                changed.append(item)
        closed = [item for key, item in current.items() if key not in rows and not item.closed_at]
        for item in closed:
            item.closed_at, item.changed_at, item.change = now, now, run.number
        OpenItem.objects.bulk_create(new, batch_size=1000)
        OpenItem.objects.bulk_update(
            changed + closed, [*_COMPARED, "closed_at", "changed_at", "change"], batch_size=1000
        )
        Run.objects.filter(pk=run.pk).update(
            status=RunStatus.FINISHED,
            finished_at=now,
            heartbeat_at=None,
            items_read=len(rows),
            items_changed=len(new) + len(changed),
            items_closed=len(closed),
        )


def _new_item(run: Run, row: OpenItemRow, now: dt.datetime) -> OpenItem:
    return OpenItem(
        integration_id=run.integration_id,
        side=row.side,
        package_id=row.package_id,
        **{name: getattr(row, name) for name in _COMPARED},
        first_seen_at=now,
        changed_at=now,
        change=run.number,
    )


def _differs(item: OpenItem, row: OpenItemRow) -> bool:
    return any(getattr(item, name) != getattr(row, name) for name in _COMPARED)


def open_items_interval_set(*, integration: Integration, minutes: int | None) -> None:
    """How often the schedule fetches open items for this integration (None: never)."""
    Integration.objects.filter(pk=integration.pk).update(open_items_interval=minutes or None)
    integration.open_items_interval = minutes or None
