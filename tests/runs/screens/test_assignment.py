"""Assigning failed lines: to a member of the company, in the line's history, "assigned to me"."""

from __future__ import annotations

from django.urls import reverse

from runs.groups import failure_groups
from runs.models import LineEdit, LineStatus, Run, RunLine
from tests.runs.screens.conftest import client_for


def _assign_url(line) -> str:
    return reverse("line_assign", kwargs={"company_slug": "de-vries", "line_id": line.pk})


def test_assigning_a_line_is_in_its_history(editor, consultant, customer_line):
    client = client_for(editor)
    response = client.post(_assign_url(customer_line), {"assignee": consultant.pk})
    assert response.status_code == 302
    customer_line.refresh_from_db()
    assert customer_line.assigned_to == consultant
    edit = customer_line.edits.get(action=LineEdit.Action.ASSIGN)
    assert (edit.user, edit.old_value, edit.new_value) == (editor, None, "consultant")
    page = client.get(response["Location"]).text
    assert "Line 10001 assigned to consultant." in page
    assert "<td>Assigned</td>" in page


def test_a_line_cannot_be_assigned_to_someone_outside_the_company(editor, outsider, customer_line):
    client = client_for(editor)
    response = client.post(_assign_url(customer_line), {"assignee": outsider.pk}, follow=True)
    assert "Lines can only be assigned to a member of the company." in response.text
    customer_line.refresh_from_db()
    assert customer_line.assigned_to is None
    assert not customer_line.edits.exists()


def test_a_viewer_cannot_assign(viewer, editor, customer_line):
    assert (
        client_for(viewer).post(_assign_url(customer_line), {"assignee": editor.pk}).status_code
        == 403
    )


def test_a_whole_group_is_assigned_and_shows_under_assigned_to_me(
    editor, consultant, integration, customer_line, invoice_line
):
    groups = failure_groups(
        lines=RunLine.objects.open_failures(integration=integration), catalogue={}
    ).groups
    group = next(g for g in groups if g.kind == "customer")
    url = reverse(
        "failure_group_assign",
        kwargs={
            "company_slug": "de-vries",
            "integration_id": integration.pk,
            "group_key": group.key,
        },
    )
    client_for(editor).post(url, {"assignee": consultant.pk})
    assert list(RunLine.objects.filter(assigned_to=consultant)) == [customer_line]

    mine = client_for(consultant).get(
        reverse(
            "open_failures", kwargs={"company_slug": "de-vries", "integration_id": integration.pk}
        ),
        {"assigned": "me"},
    )
    assert "Lines assigned to me" in mine.text
    assert [line.pk for line in mine.context["page"].lines] == [customer_line.pk]
    overview = client_for(consultant).get(reverse("overview"), {"mine": "on"})
    assert "Bakkerij De Vries BV" in overview.text
    assert "Jansen Transport BV" not in overview.text


def test_a_line_in_doubt_is_assigned_from_its_page_and_counts_as_assigned_to_me(
    editor, consultant, integration, customer_line
):
    RunLine.objects.filter(pk=customer_line.pk).update(status=LineStatus.IN_DOUBT)
    Run.objects.filter(pk=customer_line.run_id).update(in_doubt=1)
    client = client_for(editor)
    page = client.get(
        reverse("line_detail", kwargs={"company_slug": "de-vries", "line_id": customer_line.pk})
    ).text
    assert 'id="line-assignee"' in page

    client.post(_assign_url(customer_line), {"assignee": consultant.pk})

    customer_line.refresh_from_db()
    assert customer_line.assigned_to == consultant
    mine = client_for(consultant).get(
        reverse(
            "open_failures", kwargs={"company_slug": "de-vries", "integration_id": integration.pk}
        ),
        {"assigned": "me"},
    )
    assert [line.pk for line in mine.context["in_doubt"].lines] == [customer_line.pk]
    assert "<td>consultant</td>" in mine.text
    # The failed lines are not theirs; that is what the empty list says, not "all fixed".
    assert "No open failed lines are assigned to you." in mine.text
    assert "everything that failed was re-offered" not in mine.text
    overview = client_for(consultant).get(reverse("overview"), {"mine": "on"})
    assert "Bakkerij De Vries BV" in overview.text


def test_a_line_booked_or_resolved_cannot_be_assigned(editor, consultant, customer_line):
    RunLine.objects.filter(pk=customer_line.pk).update(status=LineStatus.SUCCEEDED)
    client_for(editor).post(_assign_url(customer_line), {"assignee": consultant.pk})
    customer_line.refresh_from_db()
    assert customer_line.assigned_to is None
