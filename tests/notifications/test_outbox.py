"""The outbox: what a run's finish writes, and what unsubscribing does to it."""

from __future__ import annotations

import pytest

from notifications.models import ExtraRecipient, Mail, MailKind, MailState
from notifications.services import mails_for_finished_run, unsubscribe_token
from tests.notifications.conftest import failed_run

pytestmark = pytest.mark.django_db


def test_a_run_announced_twice_is_gathered_once(integration, editor):
    editor.email = "e@example.com"
    editor.save()
    run = failed_run(integration, ["10010"])

    assert mails_for_finished_run(run=run) == 1
    assert mails_for_finished_run(run=run) == 0  # a repeated finish adds nothing
    digest = Mail.objects.get()
    assert (digest.kind, list(digest.runs.all())) == (MailKind.FAILURES, [run])


def test_one_click_unsubscribe_removes_an_extra_address(client, integration):
    extra = ExtraRecipient.objects.create(integration=integration, email="b@example.com")
    run = failed_run(integration, ["10010"])
    mails_for_finished_run(run=run)
    digest = Mail.objects.get(to_address="b@example.com")
    token = unsubscribe_token(mail=digest)

    response = client.post(f"/mail/unsubscribe/{token}/", {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    assert not ExtraRecipient.objects.filter(pk=extra.pk).exists()
    digest.refresh_from_db()
    assert digest.state == MailState.CANCELLED
