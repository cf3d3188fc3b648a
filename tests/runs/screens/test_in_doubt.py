"""A line in doubt on its page: the person checks in the package and decides."""

from __future__ import annotations

from django.urls import reverse

from runs.models import LineEdit, LineStatus, RunLine

from .conftest import client_for


def line_url(line, slug="de-vries"):
    return reverse("line_detail", kwargs={"company_slug": slug, "line_id": line.pk})


def in_doubt(line: RunLine) -> RunLine:
    message = "In doubt — check in Multivers Online: an earlier offer may have booked it."
    RunLine.objects.filter(pk=line.pk).update(status=LineStatus.IN_DOUBT, message=message)
    line.run.__class__.objects.filter(pk=line.run_id).update(in_doubt=1, failed=1)
    line.refresh_from_db()
    return line


def test_an_editor_sees_the_doubt_and_both_decisions(editor, customer_line):
    line = in_doubt(customer_line)
    page = client_for(editor).get(line_url(line)).content.decode()
    assert "In doubt — check in Multivers Online</h2>" in page
    assert "an earlier offer may have booked it." in page
    assert ">Mark as booked</button>" in page
    assert ">Not there: offer again</button>" in page


def test_a_viewer_sees_the_doubt_but_cannot_decide(viewer, customer_line):
    line = in_doubt(customer_line)
    client = client_for(viewer)
    page = client.get(line_url(line)).content.decode()
    assert "In doubt — check in Multivers Online</h2>" in page
    assert "Mark as booked" not in page
    response = client.post(line_url(line), {"decision": "mark_booked", "external_id": "4711"})
    assert response.status_code == 403
    line.refresh_from_db()
    assert line.status == LineStatus.IN_DOUBT


def test_marking_it_booked_stores_the_id_and_the_decision(editor, customer_line):
    line = in_doubt(customer_line)
    response = client_for(editor).post(
        line_url(line), {"decision": "mark_booked", "external_id": "4711"}, follow=True
    )
    page = response.content.decode()
    assert "marked as booked." in page
    # The edit history says which id the person found, not only that they decided.
    history = " ".join(page[page.index("Edit history") :].split())
    assert "<td>Marked as booked</td> <td></td> <td>4711</td>" in history
    line.refresh_from_db()
    assert (line.status, line.external_id) == (LineStatus.SUCCEEDED, "4711")
    edit = LineEdit.objects.get(line=line)
    assert (edit.action, edit.field, edit.new_value) == ("mark_booked", "external_id", "4711")
    line.run.refresh_from_db()
    assert line.run.in_doubt == 0


def test_an_empty_id_is_refused_and_nothing_changes(editor, customer_line):
    line = in_doubt(customer_line)
    response = client_for(editor).post(
        line_url(line), {"decision": "mark_booked", "external_id": "  "}, follow=True
    )
    assert "Give the record&#x27;s id in the package" in response.content.decode()
    line.refresh_from_db()
    assert line.status == LineStatus.IN_DOUBT
    assert not LineEdit.objects.filter(line=line).exists()


def test_a_line_that_is_not_in_doubt_cannot_be_marked_booked(editor, customer_line):
    response = client_for(editor).post(
        line_url(customer_line), {"decision": "mark_booked", "external_id": "4711"}, follow=True
    )
    assert "Only a line in doubt can be marked as booked" in response.content.decode()
    customer_line.refresh_from_db()
    assert customer_line.status == LineStatus.FAILED


def test_offering_it_again_puts_it_back_in_line(editor, customer_line):
    line = in_doubt(customer_line)
    response = client_for(editor).post(line_url(line), {"decision": "offer_again"}, follow=True)
    assert "will be offered again." in response.content.decode()
    line.refresh_from_db()
    assert (line.status, line.attempts, line.in_doubt) == (LineStatus.PENDING, 0, False)
    assert LineEdit.objects.get(line=line).action == "offer_again"
    line.run.refresh_from_db()
    assert line.run.status == "queued"  # reopened; its worker takes the line
