"""Celery tasks: thin interfaces that take ids and call one service."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="notifications.tasks.mail_send")
def mail_send(mail_id: int) -> None:
    from notifications.sending import mail_send as send

    send(mail_id=mail_id)


@shared_task(name="notifications.tasks.sweep")
def sweep() -> None:
    from notifications.sending import mails_sweep

    mails_sweep()


@shared_task(name="notifications.tasks.daily")
def daily() -> None:
    from notifications.services import mails_daily_queue

    mails_daily_queue()
