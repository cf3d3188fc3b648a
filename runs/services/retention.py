"""Retention: booked lines lose their details after RETENTION_DAYS; failures never do.

What goes: a succeeded line's offered data, its correction and field errors, and its
delivery attempts (which hold the exchanges with the package). What stays: every run
and its counters, and each line's identity, status, id in the package and booking
time, so "already booked" and record search keep working. Failed, in-doubt, skipped
and pending lines are never touched, whatever their age.

A pass walks the lines in primary-key order, taking up to a batch of candidates at a
time, one short transaction per batch, so no lock is held for long and History (which
reads runs only) never waits. Lines another transaction holds are skipped
(``SKIP LOCKED``) and taken by the next pass. Each batch adds its count to the pass's
``Pruning`` row in the same transaction.
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from runs.models import DeliveryAttempt, LineStatus, Pruning, RunLine

log = logging.getLogger(__name__)


def lines_prune(*, now: datetime | None = None, batch_size: int | None = None) -> int:
    """Prune the details of lines booked before RETENTION_DAYS ago; answers how many."""
    now = now or timezone.now()
    before = now - timedelta(days=settings.RETENTION_DAYS)
    size = batch_size or settings.RETENTION_BATCH_SIZE
    batch = _batch_prune if connection.vendor == "postgresql" else _batch_prune_portable
    pruned, after = 0, 0
    while True:
        count, last = batch(after, size, before=before, now=now)
        if not count:
            break
        pruned, after = pruned + count, last
    log.info("Pruned the details of %d lines booked before %s", pruned, before.isoformat())
    return pruned


# One statement per batch: pick up to %(size)s candidates after the last batch's line,
# clear their details, delete their attempts and add their count per integration to
# the pass's Pruning row. The pick walks the primary key, so each batch starts where the
# last ended instead of scanning ranges that hold no candidates, and nothing goes back
# and forth between Python and the database. Both deletes and the count see exactly
# the lines the UPDATE changed (its RETURNING), so they cannot disagree.
_BATCH = """
WITH picked AS (
    SELECT id FROM runs_runline
    WHERE id > %(after)s AND status = %(succeeded)s AND finished_at < %(before)s
      AND pruned_at IS NULL
    ORDER BY id
    LIMIT %(size)s
    FOR UPDATE SKIP LOCKED
), pruned AS (
    UPDATE runs_runline
    SET payload = '{}', correction = NULL, field_errors = '{}', pruned_at = %(now)s
    WHERE id IN (SELECT id FROM picked)
    RETURNING id, integration_id
), attempts AS (
    DELETE FROM runs_deliveryattempt WHERE line_id IN (SELECT id FROM pruned)
), counted AS (
    INSERT INTO runs_pruning (integration_id, pruned_at, before, lines)
    SELECT integration_id, %(now)s, %(before)s, count(*) FROM pruned GROUP BY integration_id
    ON CONFLICT (integration_id, pruned_at)
    DO UPDATE SET lines = runs_pruning.lines + EXCLUDED.lines
)
SELECT count(*), max(id) FROM pruned
"""


def _batch_prune(after: int, size: int, *, before: datetime, now: datetime) -> tuple[int, int]:
    """Prune up to ``size`` candidates with an id above ``after``: (how many, the last id)."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            _BATCH,
            {
                "after": after,
                "size": size,
                "succeeded": LineStatus.SUCCEEDED,
                "before": before,
                "now": now,
            },
        )
        count, last = cursor.fetchone()
    return count, last or after


def _batch_prune_portable(
    after: int, size: int, *, before: datetime, now: datetime
) -> tuple[int, int]:
    """The same batch through the ORM, for SQLite (development)."""
    with transaction.atomic():
        picked = list(
            RunLine.objects.filter(
                pk__gt=after,
                status=LineStatus.SUCCEEDED,
                finished_at__lt=before,
                pruned_at__isnull=True,
            )
            .order_by("pk")
            .select_for_update(skip_locked=True)
            .values_list("pk", "integration_id")[:size]
        )
        if not picked:
            return 0, after
        ids = [pk for pk, _ in picked]
        RunLine.objects.filter(pk__in=ids).update(
            payload={}, correction=None, field_errors={}, pruned_at=now
        )
        DeliveryAttempt.objects.filter(line_id__in=ids).delete()
        _pruning_count(Counter(integration for _, integration in picked), before, now)
    return len(ids), ids[-1]


def _pruning_count(per_integration: Counter[int], before: datetime, now: datetime) -> None:
    for integration_id, count in per_integration.items():
        row, _ = Pruning.objects.get_or_create(
            integration_id=integration_id, pruned_at=now, defaults={"before": before}
        )
        Pruning.objects.filter(pk=row.pk).update(lines=F("lines") + count)
