"""Celery tasks: thin interfaces that take ids, load rows and call one service."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="runs.tasks.run_execute")
def run_execute(run_id: int) -> None:
    from runs.services.export import run_execute as execute

    execute(run_id=run_id)


@shared_task(name="runs.tasks.sweep")
def sweep() -> None:
    from runs.services.export import runs_sweep

    runs_sweep()
