"""Turning the engine's signals (runs/signals.py) into outbox rows, in the same transaction."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from notifications.services import mails_for_finished_run, mails_for_run_fault
from runs.models import Run
from runs.signals import run_finished, run_paused, run_stopped


@receiver(run_finished, dispatch_uid="notifications.run_finished")
def on_run_finished(sender: Any, *, run: Run, **kwargs: Any) -> None:
    mails_for_finished_run(run=run)


# A run-level fault that people must hear of at once: a stop, or the package's own long
# wait (its daily or error limit).
@receiver(run_stopped, dispatch_uid="notifications.run_stopped")
@receiver(run_paused, dispatch_uid="notifications.run_paused")
def on_run_fault(sender: Any, *, run: Run, reason: str, **kwargs: Any) -> None:
    mails_for_run_fault(run=run, reason=reason)
