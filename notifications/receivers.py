"""Turning the engine's signals (runs/signals.py) into outbox rows, in the same transaction."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.dispatch import receiver

from integrations.models import Integration
from notifications.services import (
    mail_for_assignment,
    mails_for_finished_run,
    mails_for_run_fault,
)
from runs.models import Run
from runs.signals import lines_assigned, run_finished, run_paused, run_stopped


@receiver(run_finished, dispatch_uid="notifications.run_finished")
def on_run_finished(sender: Any, *, run: Run, **kwargs: Any) -> None:
    mails_for_finished_run(run=run)


# A run-level fault that people must hear of at once: a stop, or the package's own long
# wait (its daily or error limit).
@receiver(run_stopped, dispatch_uid="notifications.run_stopped")
@receiver(run_paused, dispatch_uid="notifications.run_paused")
def on_run_fault(sender: Any, *, run: Run, reason: str, **kwargs: Any) -> None:
    mails_for_run_fault(run=run, reason=reason)


@receiver(lines_assigned, dispatch_uid="notifications.lines_assigned")
def on_lines_assigned(
    sender: Any,
    *,
    integration: Integration,
    assignee: AbstractBaseUser,
    by: AbstractBaseUser,
    line_ids: list[int],
    **kwargs: Any,
) -> None:
    mail_for_assignment(integration=integration, assignee=assignee, by=by, line_ids=line_ids)
