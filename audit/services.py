"""Recording an audit event: one call at the place that does the act."""

from __future__ import annotations

from typing import Any

from audit.context import current_actor, current_address
from audit.models import Action, AuditEvent


def audit_record(
    *,
    action: Action,
    actor: Any = None,
    actor_name: str = "",
    company: Any = None,
    target: str = "",
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Store one event with the current request's client address (if any).

    ``actor`` and ``company`` are read for their id and name only, so the event outlives
    them. ``actor_name`` is for an attempt without a user (a failed login's username).
    Without either, the request's own user is taken, if there is one.
    """
    if actor is None and not actor_name:
        requester = current_actor.get()
        if requester is not None and requester.is_authenticated:
            actor = requester
    return AuditEvent.objects.create(
        action=action,
        actor_id=getattr(actor, "pk", None),
        actor_name=(actor.get_username() if actor is not None else actor_name)[:150],
        address=current_address.get(),
        company_id=getattr(company, "pk", None),
        company_name=str(getattr(company, "name", ""))[:200],
        target=target[:300],
        details=details or {},
    )
