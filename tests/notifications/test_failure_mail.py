"""Failure mails end to end: a real run against the simulator, a real SMTP server."""

from __future__ import annotations

import re
import time

import pytest

from integrations.canonical import identifier_of
from notifications.models import Frequency, Mail, MailPreference, MailState, Subscription
from runs.models import LineStatus, Trigger
from runs.services.runs import NewLine, run_create
from tests.notifications.conftest import part
from tests.runs.conftest import record as example_record

pytestmark = pytest.mark.usefixtures("fast_engine", "shared_state")


def line(kind: str, data: dict) -> NewLine:
    return NewLine(kind=kind, identifier=identifier_of(kind, data), payload=data)


def failing_batch() -> list[NewLine]:
    """Two customers booked, four invoices of unknown customers, one customer without a name."""
    lines = [line("customer", example_record("customer", n)) for n in range(2)]
    lines += [line("sales_invoice", example_record("sales_invoice", n)) for n in range(10, 14)]
    nameless = example_record("customer", 5)
    del nameless["short_name"]
    lines.append(line("customer", nameless))
    return lines


@pytest.fixture
def people(editor, viewer, consultant):
    editor.email, consultant.email, viewer.email = "e@example.com", "c@example.com", "v@example.com"
    for user in (editor, viewer, consultant):
        user.save()
    MailPreference.objects.create(user=editor, language="nl")
    return {"editor": editor, "viewer": viewer, "consultant": consultant}


def _links(text: str) -> list[str]:
    return re.findall(r"http://[^\s\"<>]+", text)


def _path(url: str) -> str:
    return url.removeprefix("http://127.0.0.1:8000")


def test_a_failing_run_mails_each_subscriber_grouped_by_reason(
    connected, multivers, eager, smtp, mail_now, people, client
):
    run_create(integration=connected, trigger=Trigger.INTAKE, lines=failing_batch())

    messages = smtp.wait_for(2)
    # Editor and consultant by default; the viewer gets the daily summary instead.
    assert sorted(m["To"] for m in messages) == ["c@example.com", "e@example.com"]
    english = smtp.to("c@example.com")[0]
    assert (
        english["Subject"] == "5 lines failed in run #1 of Accounting link — Bakkerij De Vries BV"
    )
    text, html = part(english, "plain"), part(english, "html")
    assert "Klant '…' bestaat niet. (4 lines)" in text
    assert "ShortName is verplicht. (1 line)" in text
    assert "Field: relation_code" in text
    assert "VF2025-000011" in text and "VF2025-000011" in html
    assert "<script" not in html and "<img" not in html
    assert english["List-Unsubscribe"].startswith("<http://127.0.0.1:8000/mail/unsubscribe/")
    assert english["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    dutch = smtp.to("e@example.com")[0]
    assert (
        dutch["Subject"] == "5 regels mislukt in run #1 van Accounting link — Bakkerij De Vries BV"
    )
    assert "(4 regels)" in part(dutch, "plain")

    client.force_login(people["consultant"])
    run_link = next(u for u in _links(text) if "/runs/" in u)
    page = client.get(_path(run_link))
    assert page.status_code == 200
    assert page.context["only_failed"] is True
    assert {line.status for line in page.context["page"].lines} == {LineStatus.FAILED}
    line_link = next(u for u in _links(text) if "/lines/" in u)
    line_page = client.get(_path(line_link))
    assert line_page.status_code == 200
    assert line_page.context["line"].identifier == "VF2025-000011"


def test_the_unsubscribe_link_works_without_login_and_refuses_a_tampered_one(
    connected, multivers, eager, smtp, mail_now, people, client
):
    run_create(integration=connected, trigger=Trigger.INTAKE, lines=failing_batch())
    message = smtp.wait_for(2) and smtp.to("c@example.com")[0]
    link = _path(message["List-Unsubscribe"].strip("<>"))

    tampered = link.replace("/mail/unsubscribe/ey", "/mail/unsubscribe/ez")
    assert client.post(tampered).status_code == 400
    assert not Subscription.objects.exists()

    assert client.get(link).status_code == 200  # a link checker's GET changes nothing
    assert not Subscription.objects.exists()
    assert client.post(link, {"List-Unsubscribe": "One-Click"}).status_code == 200
    subscription = Subscription.objects.get(user=people["consultant"])
    assert subscription.frequency == Frequency.NOTHING

    run_create(integration=connected, trigger=Trigger.INTAKE, lines=failing_batch()[2:4])
    smtp.wait_for(3)
    assert [m["To"] for m in smtp.messages].count("c@example.com") == 1


def test_three_failing_runs_in_the_window_make_one_digest(
    connected, multivers, eager, smtp, people, settings
):
    from notifications.sending import mail_send

    settings.MAIL_DIGEST_WINDOW_SECONDS = 1800
    batch = failing_batch()
    for part_of_batch in (batch[2:3], batch[3:4], batch[4:5]):
        run_create(integration=connected, trigger=Trigger.INTAKE, lines=part_of_batch)

    assert smtp.messages == []  # the window is still open
    digests = Mail.objects.filter(to_address="c@example.com")
    assert digests.count() == 1
    digest = digests.get()
    assert digest.runs.count() == 3
    Mail.objects.update(due_at=digest.created_at)  # the window closes
    for mail in Mail.objects.all():
        mail_send(mail_id=mail.pk)

    (message,) = smtp.to("c@example.com")
    assert (
        message["Subject"] == "3 lines failed in 3 runs of Accounting link — Bakkerij De Vries BV"
    )
    text = part(message, "plain")
    assert "Run #1:" in text and "Run #2:" in text and "Run #3:" in text
    assert "Klant '…' bestaat niet. (3 lines)" in text
    assert Mail.objects.get(pk=digest.pk).state == MailState.SENT


def test_a_mail_never_names_another_companys_lines_and_unsubscribed_users_get_nothing(
    connected, multivers, eager, smtp, mail_now, people, other_integration, outsider
):
    from tests.runs.conftest import connect

    outsider.email = "o@example.com"
    outsider.save()
    Subscription.objects.create(
        user=people["editor"], company=connected.company, frequency=Frequency.NOTHING
    )
    foreign = connect(other_integration, multivers)
    foreign.connector = "multivers"
    foreign.settings = connected.settings
    foreign.save()
    foreign_lines = [line("sales_invoice", example_record("sales_invoice", 40))]
    run_create(integration=foreign, trigger=Trigger.INTAKE, lines=foreign_lines)
    run_create(integration=connected, trigger=Trigger.INTAKE, lines=failing_batch())

    smtp.wait_for(3)
    # The consultant belongs to both companies: one mail each. The editor unsubscribed.
    assert sorted(m["To"] for m in smtp.messages) == [
        "c@example.com",
        "c@example.com",
        "o@example.com",
    ]
    for message in smtp.messages:
        text = part(message, "plain")
        if "Jansen Transport BV" in message["Subject"]:
            assert "VF2025-000041" in text and "VF2025-000011" not in text
        else:
            assert "VF2025-000011" in text and "VF2025-000041" not in text


def test_an_smtp_refusal_for_now_is_retried_and_the_mail_arrives_once(
    integration, editor, smtp, settings
):
    from notifications.sending import mail_send
    from notifications.services import mail_test_queue

    settings.MAIL_RETRY_BASE_SECONDS = 0
    editor.email = "e@example.com"
    editor.save()
    smtp.refusals = ["451 4.3.0 Mailbox busy, try again later"]
    mail = mail_test_queue(integration=integration, user=editor)

    assert mail_send(mail_id=mail.pk) == MailState.PENDING
    mail.refresh_from_db()
    assert mail.attempts == 1 and "451" in mail.last_error
    assert smtp.messages == []
    assert mail_send(mail_id=mail.pk) == MailState.SENT
    assert mail_send(mail_id=mail.pk) is None  # sent: nobody claims it again
    assert len(smtp.messages) == 1
    mail.refresh_from_db()
    assert (mail.state, mail.attempts, mail.last_error) == (MailState.SENT, 2, "")


def test_a_permanent_refusal_fails_the_mail_without_retries(integration, editor, smtp):
    from notifications.sending import mail_send
    from notifications.services import mail_test_queue

    editor.email = "e@example.com"
    editor.save()
    smtp.refusals = ["554 5.7.1 Rejected"]
    mail = mail_test_queue(integration=integration, user=editor)

    assert mail_send(mail_id=mail.pk) == MailState.FAILED
    mail.refresh_from_db()
    assert mail.state == MailState.FAILED and "554" in mail.last_error


def test_a_stopped_run_is_mailed_at_once_to_editors_and_consultants(
    connected, multivers, eager, smtp, people, settings
):
    settings.MAIL_DIGEST_WINDOW_SECONDS = 1800  # run faults do not wait for a window
    multivers.set_faults(revoke_tokens=True)
    run_create(integration=connected, trigger=Trigger.INTAKE, lines=failing_batch())

    smtp.wait_for(2)
    assert sorted(m["To"] for m in smtp.messages) == ["c@example.com", "e@example.com"]
    message = smtp.to("c@example.com")[0]
    assert message["Subject"] == "Run #1 of Accounting link stopped — Bakkerij De Vries BV"
    assert "Multivers Online refused the login" in part(message, "plain")


def test_a_run_waiting_for_the_packages_daily_limit_is_mailed_once(
    connected, multivers, smtp, people, settings, monkeypatch
):
    from integrations.connectors.multivers.connector import MultiversConnector
    from notifications.sending import mail_send
    from runs.services.export import run_execute

    settings.MAIL_DIGEST_WINDOW_SECONDS = 1800  # run faults do not wait for a window
    reset_at = time.time() + 3600
    answers = []

    def daily_limit_state(self, response):
        answers.append(response.status_code)
        return (0, reset_at) if len(answers) >= 2 else (5, reset_at)

    monkeypatch.setattr(MultiversConnector, "daily_limit_state", daily_limit_state)
    lines = [
        NewLine(kind="customer", identifier=identifier_of("customer", data), payload=data)
        for data in (example_record("customer", n) for n in range(20))
    ]
    run = run_create(integration=connected, trigger=Trigger.INTAKE, lines=lines)
    run_execute(run_id=run.pk)
    run_execute(run_id=run.pk)  # the same wait again: nobody is told twice
    for mail in Mail.objects.all():
        mail_send(mail_id=mail.pk)

    run.refresh_from_db()
    assert run.status == "running" and run.paused_reason
    assert sorted(m["To"] for m in smtp.messages) == ["c@example.com", "e@example.com"]
    message = smtp.to("c@example.com")[0]
    assert message["Subject"] == "Run #1 of Accounting link is waiting — Bakkerij De Vries BV"
    text = part(message, "plain")
    assert "daily limit is used up" in text and "goes on by itself" in text


def test_a_mail_server_that_is_down_does_not_hold_up_the_run(
    connected, multivers, eager, mail_now, people, settings
):
    from tests.notifications.conftest import _free_port

    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": _free_port(), "timeout": 2},
        }
    }
    run = run_create(integration=connected, trigger=Trigger.INTAKE, lines=failing_batch())

    run.refresh_from_db()
    assert (run.status, run.failed) == ("finished", 5)
    mails = list(Mail.objects.all())
    assert len(mails) == 2
    # Refused for now (no connection): waiting for the next try, nothing lost.
    assert all(m.state == MailState.PENDING and m.attempts == 1 for m in mails)
    assert all("Connection refused" in m.last_error or "Errno" in m.last_error for m in mails)


def _in_doubt_entries(monkeypatch, multivers, count: int) -> list[NewLine]:
    """Journal entries the package books but whose answer is lost: Multivers documents no
    call that finds a journal entry, so each ends in doubt for a person to decide."""
    from integrations.connectors.multivers.connector import MultiversConnector

    monkeypatch.setattr(MultiversConnector, "findable", frozenset({"customer", "supplier"}))
    multivers.set_faults(drop_after_book_rate=1.0, accept_duplicates=True)
    return [line("journal_entry", example_record("journal_entry", n)) for n in range(count)]


def test_lines_in_doubt_are_mailed_with_a_link_to_decide_each(
    connected, multivers, eager, smtp, mail_now, people, client, monkeypatch
):
    entries = _in_doubt_entries(monkeypatch, multivers, 2)
    run = run_create(integration=connected, trigger=Trigger.INTAKE, lines=entries)
    run.refresh_from_db()
    assert (run.failed, run.in_doubt) == (0, 2)  # nothing failed: only doubt

    smtp.wait_for(2)
    english = smtp.to("c@example.com")[0]
    assert (
        english["Subject"] == "2 lines in doubt in run #1 of Accounting link — Bakkerij De Vries BV"
    )
    text, html = part(english, "plain"), part(english, "html")
    assert "2 lines in doubt: booked or not?" in text
    assert "Mark as booked" in text and "Mark as booked" in html
    assert "failed lines still open" not in text  # no empty failure section
    assert "Run #1: 2 lines, 0 succeeded, 0 failed, 2 in doubt" in text
    dutch = smtp.to("e@example.com")[0]
    assert dutch["Subject"] == (
        "2 regels onzeker in run #1 van Accounting link — Bakkerij De Vries BV"
    )

    client.force_login(people["editor"])
    links = [u for u in _links(text) if "/lines/" in u]
    assert len(links) == 2
    page = client.get(_path(links[0]))
    assert page.status_code == 200
    assert page.context["line"].status == LineStatus.IN_DOUBT
    assert page.context["decidable"] is True


def test_a_run_with_failed_lines_and_lines_in_doubt_mails_both(
    connected, multivers, eager, smtp, mail_now, people, monkeypatch
):
    entries = _in_doubt_entries(monkeypatch, multivers, 1)
    nameless = example_record("customer", 5)
    del nameless["short_name"]
    run_create(
        integration=connected, trigger=Trigger.INTAKE, lines=[line("customer", nameless), *entries]
    )

    smtp.wait_for(2)
    message = smtp.to("c@example.com")[0]
    assert message["Subject"] == "1 line failed in run #1 of Accounting link — Bakkerij De Vries BV"
    text = part(message, "plain")
    assert "1 line in doubt: booked or not?" in text
    assert "ShortName is verplicht. (1 line)" in text
    assert "correct it and re-offer it" in text
