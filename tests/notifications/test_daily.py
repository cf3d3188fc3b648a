"""The daily summary: once a day per viewer, only when their company had failures
or lines in doubt."""

from __future__ import annotations

import pytest
from django.utils import timezone

from notifications.models import Mail, MailKind, MailState
from notifications.sending import mail_send
from notifications.services import mails_daily_queue
from tests.notifications.conftest import failed_run

pytestmark = pytest.mark.django_db


def test_viewers_get_one_summary_a_day_of_their_companys_failures(
    integration, other_integration, viewer, editor, mailoutbox
):
    viewer.email, editor.email = "v@example.com", "e@example.com"
    viewer.save()
    editor.save()
    failed_run(integration, ["10010", "10011"])
    failed_run(other_integration, ["99999"])

    assert mails_daily_queue() == 1
    assert mails_daily_queue() == 0  # beat twice on one day: still one summary
    mail = Mail.objects.get()
    assert (mail.kind, mail.to_address) == (MailKind.DAILY, "v@example.com")
    assert mail_send(mail_id=mail.pk) == MailState.SENT

    (message,) = mailoutbox
    assert message.subject == "Daily summary: 2 lines failed — Bakkerij De Vries BV"
    assert "Klant '…' bestaat niet. (2 lines)" in message.body
    assert "99999" not in message.body


def test_no_summary_when_every_failure_was_fixed_before_it_went_out(
    integration, viewer, mailoutbox
):
    viewer.email = "v@example.com"
    viewer.save()
    run = failed_run(integration, ["10010"])
    mails_daily_queue()
    run.lines.update(resolved_at=timezone.now())

    mail = Mail.objects.get()
    assert mail_send(mail_id=mail.pk) == MailState.CANCELLED
    assert mailoutbox == []


def test_a_day_whose_only_trouble_is_a_line_in_doubt_is_summed_up_too(
    integration, viewer, mailoutbox
):
    """Nothing failed, but the package never said whether it booked one line: a person
    has to look, so the viewer hears of it."""
    from runs.models import LineStatus

    viewer.email = "v@example.com"
    viewer.save()
    run = failed_run(integration, ["10010"])
    run.lines.update(status=LineStatus.IN_DOUBT, message="In doubt — check in Multivers Online")
    run.__class__.objects.filter(pk=run.pk).update(failed=0, in_doubt=1)

    assert mails_daily_queue() == 1
    mail = Mail.objects.get()
    assert mail_send(mail_id=mail.pk) == MailState.SENT
    (message,) = mailoutbox
    assert message.subject == "Daily summary: 1 line in doubt — Bakkerij De Vries BV"
    assert "1 line in doubt: booked or not?" in message.body
    assert "- 10010: http://" in message.body


def test_no_summary_when_the_line_in_doubt_was_decided_before_it_went_out(
    integration, viewer, mailoutbox
):
    from runs.models import LineStatus

    viewer.email = "v@example.com"
    viewer.save()
    run = failed_run(integration, ["10010"])
    run.lines.update(status=LineStatus.IN_DOUBT)
    run.__class__.objects.filter(pk=run.pk).update(failed=0, in_doubt=1)
    mails_daily_queue()
    run.lines.update(status=LineStatus.SUCCEEDED)  # a person marked it as booked

    assert mail_send(mail_id=Mail.objects.get().pk) == MailState.CANCELLED
    assert mailoutbox == []
