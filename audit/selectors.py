"""Reading the audit log."""

from __future__ import annotations

from django.db.models import QuerySet

from audit.models import AuditEvent

PAGE_SIZE = 50


def audit_events_of_company(*, company_id: int, before: int | None = None) -> list[AuditEvent]:
    """A page of a company's events, newest first, by keyset on the id (one index scan)."""
    events: QuerySet[AuditEvent] = AuditEvent.objects.filter(company_id=company_id)
    if before is not None:
        events = events.filter(id__lt=before)
    return list(events.order_by("-id")[: PAGE_SIZE + 1])
