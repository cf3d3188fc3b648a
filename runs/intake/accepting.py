"""Accepting a batch: one queued run, or the run an Idempotency-Key already made."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError
from django.utils.translation import gettext as _

from integrations.models import Integration
from runs.intake.checking import BatchCheck
from runs.intake.problems import IntakeError
from runs.models import Run, Trigger
from runs.services.runs import run_create

if TYPE_CHECKING:
    from django.contrib.auth.models import User


@dataclass(frozen=True)
class IntakeResult:
    run: Run
    created: bool  # False: the Idempotency-Key named an earlier run


def intake_accept(
    *,
    integration: Integration,
    records: Iterable[tuple[int, Any]],
    idempotency_key: str | None,
    digest: str,
    trigger: Trigger = Trigger.INTAKE,
    created_by: User | None = None,
) -> IntakeResult:
    """Store a valid batch as one queued run, or answer the run the key already made.

    ``records`` may be lazy (``records_from_json_stream``): each record is checked and
    written as it is read, within the run's transaction, and a refusal raised on the
    way (400/413 from the reader, 422 from the check) rolls back the run and every line
    written before it. So the batch is still taken whole or not at all, without ever
    holding it whole.

    ``trigger`` and ``created_by`` tell a consultant's upload (``manual``) from the ERP's.
    """
    if idempotency_key:
        earlier = _earlier(integration, idempotency_key, digest)
        if earlier is not None:
            return IntakeResult(earlier, created=False)
    check = BatchCheck()
    try:
        run = run_create(
            integration=integration,
            trigger=trigger,
            created_by=created_by,
            lines=check.lines(records),
            idempotency_key=idempotency_key or None,
            body_hash=digest,
        )
    except IntegrityError:
        # The same key, sent twice at once: the other request stored it first.
        earlier = _earlier(integration, idempotency_key or "", digest)
        if earlier is None:
            raise
        return IntakeResult(earlier, created=False)
    return IntakeResult(run, created=True)


def _earlier(integration: Integration, key: str, digest: str) -> Run | None:
    run = Run.objects.filter(integration=integration, idempotency_key=key).first()
    if run is not None and run.body_hash != digest:
        raise IntakeError(
            409,
            _(
                "The Idempotency-Key %(key)r was used for a different batch (run #%(number)d). "
                "Send a new key with a new batch."
            )
            % {"key": key, "number": run.number},
        )
    return run
