"""Sending through a real Celery worker: a kill -9 in the middle loses no mail, sends none twice."""

from __future__ import annotations

import time

import pytest

from notifications.models import Mail, MailState
from notifications.sending import mails_sweep
from notifications.services import mail_test_queue

pytestmark = pytest.mark.worker

LEASE_SECONDS = 2


@pytest.fixture
def short_lease(monkeypatch, settings):
    """Workers started after this see a claim's lease run out in two seconds."""
    monkeypatch.setenv("MAIL_SEND_LEASE_SECONDS", str(LEASE_SECONDS))
    settings.MAIL_SEND_LEASE_SECONDS = LEASE_SECONDS


def _wait_for_state(mail: Mail, state: str, timeout: float = 30) -> Mail:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        mail.refresh_from_db()
        if mail.state == state:
            return mail
        time.sleep(0.1)
    raise AssertionError(f"mail {mail.pk} stayed {mail.state}, expected {state}")


def test_a_worker_killed_before_sending_leaves_the_mail_to_be_sent_once(
    smtp, short_lease, worker_factory, integration, editor
):
    editor.email = "e@example.com"
    editor.save()
    smtp.hold.set()  # the server stalls at MAIL FROM: the worker is inside the send
    worker = worker_factory()
    mail = mail_test_queue(integration=integration, user=editor)

    assert smtp.holding.wait(60), worker.output()
    _wait_for_state(mail, MailState.SENDING)
    worker.kill()
    smtp.hold.clear()
    assert smtp.messages == []

    time.sleep(LEASE_SECONDS + 0.5)  # the dead worker's claim runs out
    worker_factory()
    assert mails_sweep() == 1

    mail = _wait_for_state(mail, MailState.SENT)
    time.sleep(1)  # a redelivered task, if any, finds the mail sent
    assert len(smtp.messages) == 1
    assert mail.attempts == 2
