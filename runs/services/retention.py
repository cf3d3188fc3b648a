"""Retention: booked lines lose their details after RETENTION_DAYS; failures never do.

What goes: a succeeded line's offered data, its correction and field errors, and its
delivery attempts (which hold the exchanges with the package). What stays: every run
and its counters, and each line's identity, status, id in the package and booking
time, so "already booked" and record search keep working. Failed, in-doubt, skipped
and pending lines are never touched, whatever their age.

A pass walks the lines by primary-key ranges, one short transaction per range, so no
lock is held for long and History (which reads runs only) never waits. Lines another
transaction holds are skipped (``SKIP LOCKED``) and taken by the next pass. Each batch
adds its count to the pass's ``Pruning`` row in the same transaction.
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Max, Min
from django.utils import timezone

from runs.models import DeliveryAttempt, LineStatus, Pruning, RunLine

log = logging.getLogger(__name__)


def lines_prune(*, now: datetime | None = None, batch_size: int | None = None) -> int:
    """Prune the details of lines booked before RETENTION_DAYS ago; answers how many."""
    now = now or timezone.now()
    before = now - timedelta(days=settings.RETENTION_DAYS)
    step = batch_size or settings.RETENTION_BATCH_SIZE
    bounds = RunLine.objects.aggregate(low=Min("pk"), high=Max("pk"))
    if bounds["low"] is None:
        return 0
    pruned = 0
    for start in range(bounds["low"], bounds["high"] + 1, step):
        pruned += _batch_prune(start, start + step, before=before, now=now)
    log.info("Pruned the details of %d lines booked before %s", pruned, before.isoformat())
    return pruned


def _batch_prune(start: int, end: int, *, before: datetime, now: datetime) -> int:
    with transaction.atomic():
        picked = list(
            RunLine.objects.filter(
                pk__gte=start,
                pk__lt=end,
                status=LineStatus.SUCCEEDED,
                finished_at__lt=before,
                pruned_at__isnull=True,
            )
            .select_for_update(skip_locked=True)
            .values_list("pk", "integration_id")
        )
        if not picked:
            return 0
        ids = [pk for pk, _ in picked]
        RunLine.objects.filter(pk__in=ids).update(
            payload={}, correction=None, field_errors={}, pruned_at=now
        )
        DeliveryAttempt.objects.filter(line_id__in=ids).delete()
        _pruning_count(Counter(integration for _, integration in picked), before, now)
    return len(ids)


def _pruning_count(per_integration: Counter[int], before: datetime, now: datetime) -> None:
    for integration_id, count in per_integration.items():
        row, _ = Pruning.objects.get_or_create(
            integration_id=integration_id, pruned_at=now, defaults={"before": before}
        )
        Pruning.objects.filter(pk=row.pk).update(lines=F("lines") + count)
