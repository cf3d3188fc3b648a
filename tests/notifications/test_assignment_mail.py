"""The assignee hears of lines given to them: one mail per assignment, through a real SMTP server."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from notifications.content import mail_message
from notifications.models import Mail, MailKind, MailPreference
from runs.groups import failure_groups
from runs.models import RunLine
from tests.notifications.conftest import failed_run, part
from tests.runs.screens.conftest import client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(editor, consultant):
    editor.email, consultant.email = "e@example.com", "c@example.com"
    editor.first_name, editor.last_name = "Eva", "de Boer"
    for user in (editor, consultant):
        user.save()
    return {"editor": editor, "consultant": consultant}


def _group_url(integration) -> str:
    lines = RunLine.objects.open_failures(integration=integration)
    group = failure_groups(lines=lines, catalogue={}).groups[0]
    return reverse(
        "failure_group_assign",
        kwargs={
            "company_slug": integration.company.slug,
            "integration_id": integration.pk,
            "group_key": group.key,
        },
    )


def _assign_group(integration, by, assignee, capture) -> None:
    with capture(execute=True):
        response = client_for(by).post(_group_url(integration), {"assignee": assignee.pk})
    assert response.status_code == 302


def _links(text: str) -> list[str]:
    return [u.removeprefix("http://127.0.0.1:8000") for u in re.findall(r"http://\S+", text)]


def test_a_group_of_40_lines_is_one_mail_whose_links_open_the_assignees_lines(
    integration, people, smtp, eager, django_capture_on_commit_callbacks
):
    identifiers = [f"{10000 + n}" for n in range(40)]
    failed_run(integration, identifiers)

    _assign_group(
        integration, people["editor"], people["consultant"], django_capture_on_commit_callbacks
    )

    [message] = smtp.wait_for(1)
    assert message["To"] == "c@example.com"
    assert (
        message["Subject"] == "40 lines of Accounting link assigned to you — Bakkerij De Vries BV"
    )
    assert message["List-Unsubscribe"] is None  # the footer links to the Notifications page
    text, html = part(message, "plain"), part(message, "html")
    assert "Eva de Boer assigned failed lines of Accounting link (Bakkerij De Vries BV)" in text
    # Grouped as the failure mail groups: one reason, its count, five examples.
    assert "Klant '…' bestaat niet. (40 lines)" in text
    assert "and 35 more" in text
    assert "10004" in text and "10005" not in text
    assert "10000" in html and "<script" not in html

    consultant = client_for(people["consultant"])
    links = _links(text)
    line_page = consultant.get(next(u for u in links if "/lines/" in u))
    assert line_page.status_code == 200
    assert line_page.context["line"].identifier == "10000"
    mine = consultant.get(next(u for u in links if "assigned=me" in u))
    assert mine.status_code == 200
    assert len(mine.context["page"].lines) == 40
    assert {line.assigned_to_id for line in mine.context["page"].lines} == {people["consultant"].pk}
    overview = consultant.get(next(u for u in links if "/overview/" in u))
    assert overview.status_code == 200
    assert "Bakkerij De Vries BV" in overview.text
    assert "Jansen Transport BV" not in overview.text  # only companies with lines for me


def test_the_mail_is_in_the_assignees_language(
    integration, people, smtp, eager, django_capture_on_commit_callbacks
):
    MailPreference.objects.create(user=people["editor"], language="nl")
    failed_run(integration, ["10010", "10011"])

    _assign_group(
        integration, people["consultant"], people["editor"], django_capture_on_commit_callbacks
    )

    [message] = smtp.wait_for(1)
    assert message["To"] == "e@example.com"
    assert message["Subject"] == (
        "2 regels van Accounting link aan u toegewezen — Bakkerij De Vries BV"
    )
    assert "(2 regels)" in part(message, "plain")


def _assign_on_its_page(line, people, capture) -> None:
    """The editor gives ``line`` to the consultant on the line's page."""
    url = reverse("line_assign", kwargs={"company_slug": "de-vries", "line_id": line.pk})
    with capture(execute=True):
        client_for(people["editor"]).post(url, {"assignee": people["consultant"].pk})


def test_one_line_assigned_on_its_page_is_mailed(
    integration, people, smtp, eager, django_capture_on_commit_callbacks
):
    run = failed_run(integration, ["10010", "10011"])
    _assign_on_its_page(
        run.lines.get(identifier="10011"), people, django_capture_on_commit_callbacks
    )

    [message] = smtp.wait_for(1)
    assert message["Subject"].startswith("1 line of Accounting link assigned to you")
    text = part(message, "plain")
    assert "10011" in text and "10010" not in text


def test_assigning_to_yourself_or_unassigning_sends_nothing(
    integration, people, smtp, eager, django_capture_on_commit_callbacks
):
    failed_run(integration, ["10010"])
    editor = people["editor"]
    _assign_group(integration, editor, editor, django_capture_on_commit_callbacks)
    assert RunLine.objects.filter(assigned_to=editor).count() == 1
    with django_capture_on_commit_callbacks(execute=True):
        client_for(editor).post(_group_url(integration), {"assignee": ""})
    assert RunLine.objects.filter(assigned_to__isnull=False).count() == 0

    assert not Mail.objects.filter(kind=MailKind.ASSIGNED).exists()
    assert smtp.messages == []


def test_a_person_who_turned_assignment_mails_off_gets_none(
    integration, people, smtp, eager, django_capture_on_commit_callbacks
):
    consultant = client_for(people["consultant"])
    page = consultant.get(reverse("notification_settings"))
    assert page.context["form"]["assignment_mails"].value() is True  # on by default
    assert "Mail me when someone assigns lines to me" in page.text
    choices = {
        name: page.context["form"][name].value()
        for name in page.context["form"].fields
        if name.startswith("company_")
    }
    # The box left unticked, the rest as it was.
    consultant.post(reverse("notification_settings"), {"language": "en", **choices})
    assert MailPreference.objects.get(user=people["consultant"]).assignment_mails is False
    failed_run(integration, ["10010"])

    _assign_group(
        integration, people["editor"], people["consultant"], django_capture_on_commit_callbacks
    )

    assert RunLine.objects.filter(assigned_to=people["consultant"]).count() == 1
    assert not Mail.objects.filter(kind=MailKind.ASSIGNED).exists()
    assert smtp.messages == []


def test_a_mail_never_names_another_companys_lines(
    integration, other_integration, people, smtp, eager, django_capture_on_commit_callbacks
):
    failed_run(integration, ["10010"])
    foreign = failed_run(other_integration, ["20020"])
    _assign_group(
        integration, people["editor"], people["consultant"], django_capture_on_commit_callbacks
    )
    # Even a row naming a foreign line (as a bug elsewhere might write) renders without it.
    mail = Mail.objects.get(kind=MailKind.ASSIGNED)
    smtp.wait_for(1)
    mail.lines.add(foreign.lines.get())
    message = mail_message(mail=mail)
    assert message is not None
    assert "20020" not in message.body and "10010" in message.body
    assert "20020" not in part(smtp.messages[0], "plain")


def test_a_line_in_doubt_assigned_on_its_page_is_mailed_as_one_to_look_up(
    integration, people, smtp, eager, django_capture_on_commit_callbacks
):
    run = failed_run(integration, ["10010", "10011"])
    line = run.lines.get(identifier="10011")
    RunLine.objects.filter(pk=line.pk).update(status="in_doubt", message="In doubt — check.")
    _assign_on_its_page(line, people, django_capture_on_commit_callbacks)

    [message] = smtp.wait_for(1)
    assert message["Subject"].startswith("1 line of Accounting link assigned to you")
    text = part(message, "plain")
    assert "assigned lines in doubt of Accounting link (Bakkerij De Vries BV) to you" in text
    assert "1 line in doubt: booked or not?" in text
    assert f"/lines/{line.pk}/" in text
    assert "10010" not in text
