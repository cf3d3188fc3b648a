"""Sending the outbox: claim a row, render it, hand it to the mail server, record the outcome.

A row is claimed with a conditional update that must change exactly one row (pending
and due, or sending with its lease run out), so two workers never send the same mail.
A refusal for now (SMTP 4xx, no connection, a timeout) puts it back with a backoff; a
refusal for good (5xx) fails it. The one gap SMTP leaves: a worker killed after the
server took the mail but before the row says ``sent`` sends it again after the lease;
it carries the same Message-ID (see ``content.mail_message``).
"""

from __future__ import annotations

import logging
import random
import smtplib
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import F, Q
from django.utils import timezone

from notifications.content import mail_message
from notifications.models import Mail, MailState
from notifications.services import mail_queue

logger = logging.getLogger(__name__)

# Longest Celery countdown for a retry; later ones are left to the sweeper (beat, 30 s).
MAX_COUNTDOWN_SECONDS = 600
# What is kept of a server's answer in the mail log.
MAX_ERROR = 500


def _claimable(now: datetime) -> Q:
    return Q(state=MailState.PENDING, due_at__lte=now) | Q(
        state=MailState.SENDING, lease_until__lt=now
    )


def _claim(mail_id: int) -> bool:
    now = timezone.now()
    lease = now + timedelta(seconds=settings.MAIL_SEND_LEASE_SECONDS)
    claimed = Mail.objects.filter(_claimable(now), pk=mail_id).update(
        state=MailState.SENDING, lease_until=lease, attempts=F("attempts") + 1
    )
    return claimed == 1


def _is_transient(exc: Exception) -> bool:
    """Worth another try later: the server said 4xx, or could not be reached or finished."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(400 <= code < 500 for code, _message in exc.recipients.values())
    if isinstance(exc, smtplib.SMTPResponseException):
        return 400 <= exc.smtp_code < 500
    return isinstance(exc, smtplib.SMTPException | OSError)


def _backoff(attempt: int) -> float:
    """Full jitter on a capped exponential."""
    ceiling = min(
        settings.MAIL_RETRY_CAP_SECONDS, settings.MAIL_RETRY_BASE_SECONDS * 2 ** (attempt - 1)
    )
    return random.uniform(0, ceiling)


def _settle(mail_id: int, **fields: object) -> None:
    Mail.objects.filter(pk=mail_id, state=MailState.SENDING).update(lease_until=None, **fields)


def mail_send(*, mail_id: int) -> str | None:
    """Send one outbox mail if it is due and nobody else is on it; answer its new state."""
    if not _claim(mail_id):
        return None
    mail = Mail.objects.select_related("company", "integration__company").get(pk=mail_id)
    try:
        message = mail_message(mail=mail)
    except Exception as exc:  # a bug in rendering must not leave the row claimed forever
        logger.exception("mail %s could not be rendered", mail_id)
        _settle(mail_id, state=MailState.FAILED, last_error=f"{type(exc).__name__}: {exc}")
        return MailState.FAILED
    if message is None:
        _settle(mail_id, state=MailState.CANCELLED)
        return MailState.CANCELLED
    try:
        message.send()  # through MAILERS["default"]
    except Exception as exc:
        return _refused(mail, exc)
    _settle(
        mail_id,
        state=MailState.SENT,
        sent_at=timezone.now(),
        subject=message.subject[:300],
        last_error="",
    )
    return MailState.SENT


def _refused(mail: Mail, exc: Exception) -> str:
    error = f"{type(exc).__name__}: {exc}"[:MAX_ERROR]
    if not _is_transient(exc) or mail.attempts >= settings.MAIL_MAX_ATTEMPTS:
        logger.warning("mail %s to %s failed for good: %s", mail.pk, mail.to_address, error)
        _settle(mail.pk, state=MailState.FAILED, last_error=error)
        return MailState.FAILED
    wait = _backoff(mail.attempts)
    _settle(
        mail.pk,
        state=MailState.PENDING,
        due_at=timezone.now() + timedelta(seconds=wait),
        last_error=error,
    )
    if wait <= MAX_COUNTDOWN_SECONDS:
        mail_queue(mail.pk, countdown=wait)
    logger.info(
        "mail %s to %s refused for now (%s); again in %.0f s", mail.pk, mail.to_address, error, wait
    )
    return MailState.PENDING


def mails_sweep() -> int:
    """Queue every mail that is due and not being sent: after a window, a backoff, a crash."""
    ids = list(
        Mail.objects.filter(_claimable(timezone.now()))
        .order_by("due_at")
        .values_list("pk", flat=True)[:500]
    )
    for mail_id in ids:
        mail_queue(mail_id)
    return len(ids)
