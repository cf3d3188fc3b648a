"""Turning the engine's signals (runs/signals.py) into outbox rows, in the same transaction."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from notifications.services import mails_for_finished_run, mails_for_run_fault
from runs.models import Run
from runs.signals import run_finished, run_stopped


@receiver(run_finished, dispatch_uid="notifications.run_finished")
def on_run_finished(sender: Any, *, run: Run, **kwargs: Any) -> None:
    mails_for_finished_run(run=run)


# Any run-level fault that people must hear of at once has this shape (run, reason):
# connect further signals of that shape here (e.g. a pause on the package's daily limit).
@receiver(run_stopped, dispatch_uid="notifications.run_stopped")
def on_run_fault(sender: Any, *, run: Run, reason: str, **kwargs: Any) -> None:
    mails_for_run_fault(run=run, reason=reason)
