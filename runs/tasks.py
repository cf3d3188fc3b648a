"""Celery tasks: thin interfaces that take ids, load rows and call one service."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="runs.tasks.run_execute")
def run_execute(run_id: int) -> None:
    from runs.services.export import run_execute as execute

    execute(run_id=run_id, share=True)


@shared_task(name="runs.tasks.sweep")
def sweep() -> None:
    from runs.services.export import runs_sweep

    runs_sweep()


@shared_task(name="runs.tasks.prune")
def prune() -> None:
    from runs.services.retention import lines_prune

    lines_prune()


@shared_task(name="runs.tasks.open_items_import")
def open_items_import(run_id: int) -> None:
    from runs.services.open_items import open_items_import as execute

    execute(run_id=run_id)


@shared_task(name="runs.tasks.open_items_schedule")
def open_items_schedule() -> None:
    from runs.services.open_items import open_items_schedule as tick

    tick()
