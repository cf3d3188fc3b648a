"""Open failures: every failed line still open across an integration's runs, fixed in bulk."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from integrations.canonical import example_record
from runs.models import LineEdit, LineStatus, Run, Trigger
from runs.services.corrections import (
    ReasonRequired,
    integration_lines_reoffer,
    integration_lines_resolve,
)

from .conftest import client_for, make_line, make_run


def url(name, integration, slug="de-vries"):
    return reverse(name, kwargs={"company_slug": slug, "integration_id": integration.pk})


def failed_line(run, position, **fields):
    return make_line(
        run,
        position,
        kind="customer",
        payload=example_record("customer", run.number * 100 + position),
        status=LineStatus.FAILED,
        message=fields.pop("message", "Naam is verplicht."),
        **fields,
    )


@pytest.fixture
def failures(integration):
    """Run #2 and run #1 (made in that order) with open and closed lines, and a later retry."""
    newer = make_run(integration, number=2, total=3, failed=2, succeeded=1)
    older = make_run(integration, number=1, total=3, failed=3)
    retry = make_run(integration, number=3, trigger=Trigger.RETRY, retry_of=older)
    lines = {
        "old_open": failed_line(older, 2),
        "old_open_first": failed_line(older, 1),
        "old_reoffered": failed_line(older, 3, reoffered_in=retry),
        "new_open": failed_line(newer, 1, message="Btw-code <b>9</b> bestaat niet"),
        "new_resolved": failed_line(newer, 2, resolved_at=timezone.now(), resolution="by hand"),
    }
    make_line(newer, 3, kind="customer", payload=example_record("customer", 9), status="succeeded")
    return {"older": older, "newer": newer, **lines}


def open_ids(response):
    return [line.pk for line in response.context["page"].lines]


def test_anonymous_users_are_sent_to_login(client, integration):
    response = client.get(url("open_failures", integration))
    assert response.status_code == 302
    assert reverse("login") in response["Location"]


def test_it_hides_other_companies_integrations(
    outsider, consultant, integration, other_integration
):
    assert client_for(outsider).get(url("open_failures", integration)).status_code == 404
    client = client_for(consultant)
    assert client.get(url("open_failures", other_integration)).status_code == 404
    response = client.post(
        url("open_failures_bulk", other_integration), {"action": "reoffer", "line": ["1"]}
    )
    assert response.status_code == 404


def test_the_integrations_page_links_the_open_count_here(viewer, integration, failures):
    page = (
        client_for(viewer)
        .get(reverse("integration_list", kwargs={"company_slug": "de-vries"}))
        .content.decode()
    )
    assert url("open_failures", integration) in page
    assert "3 open failed lines" in page


def test_it_lists_only_open_failed_lines_oldest_run_first(viewer, integration, failures):
    response = client_for(viewer).get(url("open_failures", integration))
    assert response.status_code == 200
    assert open_ids(response) == [
        failures["old_open_first"].pk,
        failures["old_open"].pk,
        failures["new_open"].pk,
    ]
    page = response.content.decode()
    assert "3 failed lines are still open" in page
    assert "Btw-code &lt;b&gt;9&lt;/b&gt; bestaat niet" in page
    line_url = reverse(
        "line_detail", kwargs={"company_slug": "de-vries", "line_id": failures["new_open"].pk}
    )
    assert line_url in page
    run_url = reverse(
        "run_detail", kwargs={"company_slug": "de-vries", "run_id": failures["older"].pk}
    )
    assert run_url in page


def test_a_viewer_reads_without_controls_and_cannot_post(viewer, integration, failures):
    client = client_for(viewer)
    failures["old_open"].reoffer = True
    failures["old_open"].save(update_fields=["reoffer"])
    page = client.get(url("open_failures", integration)).content.decode()
    assert 'type="checkbox"' not in page
    assert "Re-offer unchanged" not in page
    assert "Run #1</a>: 1 line ready" in page
    assert ">Retry</button>" not in page
    line = failures["new_open"]
    bulk = client.post(
        url("open_failures_bulk", integration), {"action": "reoffer", "line": [line.pk]}
    )
    retry = client.post(url("open_failures_retry", integration), {"run": failures["older"].pk})
    assert (bulk.status_code, retry.status_code) == (403, 403)
    line.refresh_from_db()
    assert line.reoffer is False
    assert Run.objects.count() == 3


def test_an_editor_reoffers_lines_of_several_runs_at_once(editor, integration, failures):
    picked = [failures["old_open"].pk, failures["new_open"].pk]
    response = client_for(editor).post(
        url("open_failures_bulk", integration), {"action": "reoffer", "line": picked}, follow=True
    )
    assert response.redirect_chain == [(url("open_failures", integration), 302)]
    assert "2 lines marked for re-offer." in response.content.decode()
    for key in ("old_open", "new_open"):
        failures[key].refresh_from_db()
        assert failures[key].reoffer is True
    failures["old_open_first"].refresh_from_db()
    assert failures["old_open_first"].reoffer is False
    assert LineEdit.objects.filter(action=LineEdit.Action.REOFFER, user=editor).count() == 2


def test_retry_is_offered_per_run_and_makes_one_run_for_that_run(editor, integration, failures):
    client = client_for(editor)
    picked = [failures["old_open"].pk, failures["old_open_first"].pk, failures["new_open"].pk]
    client.post(url("open_failures_bulk", integration), {"action": "reoffer", "line": picked})
    page = client.get(url("open_failures", integration)).content.decode()
    assert "Run #1</a>: 2 lines ready" in page
    assert "Run #2</a>: 1 line ready" in page

    response = client.post(
        url("open_failures_retry", integration), {"run": failures["older"].pk}, follow=True
    )
    new_run = Run.objects.get(retry_of=failures["older"], number=4)
    assert new_run.trigger == Trigger.RETRY and new_run.created_by == editor
    assert new_run.total == 2
    assert response.redirect_chain == [(url("open_failures", integration), 302)]
    assert "Run #4 started with 2 lines." in response.content.decode()
    assert open_ids(response) == [failures["new_open"].pk]
    assert [m.number for m in response.context["marked_runs"]] == [2]


def test_retry_of_a_run_of_another_company_is_404(editor, integration, foreign_line):
    response = client_for(editor).post(
        url("open_failures_retry", integration), {"run": foreign_line.run_id}
    )
    assert response.status_code == 404
    assert not Run.objects.filter(retry_of=foreign_line.run).exists()


def test_retry_with_nothing_marked_says_so(editor, integration, failures):
    response = client_for(editor).post(
        url("open_failures_retry", integration), {"run": failures["older"].pk}, follow=True
    )
    assert "Nothing to retry" in response.content.decode()
    assert Run.objects.count() == 3


def test_an_editor_resolves_lines_with_a_reason(editor, integration, failures):
    picked = [failures["old_open"].pk, failures["new_open"].pk]
    response = client_for(editor).post(
        url("open_failures_bulk", integration),
        {"action": "resolve", "line": picked, "reason": "Booked by hand"},
        follow=True,
    )
    assert "2 lines resolved." in response.content.decode()
    assert open_ids(response) == [failures["old_open_first"].pk]


def test_resolving_without_a_reason_changes_nothing(editor, integration, failures):
    response = client_for(editor).post(
        url("open_failures_bulk", integration),
        {"action": "resolve", "line": [failures["old_open"].pk], "reason": " "},
        follow=True,
    )
    assert "Give a reason for resolving the lines." in response.content.decode()
    assert len(open_ids(response)) == 3


def test_nothing_selected_or_an_unknown_action(editor, integration, failures):
    client = client_for(editor)
    response = client.post(
        url("open_failures_bulk", integration), {"action": "reoffer"}, follow=True
    )
    assert "Select one or more failed lines first." in response.content.decode()
    bad = client.post(
        url("open_failures_bulk", integration),
        {"action": "delete", "line": [failures["old_open"].pk]},
    )
    assert bad.status_code == 400


def test_bulk_actions_leave_lines_of_other_companies_alone(
    editor, integration, failures, foreign_line
):
    client_for(editor).post(
        url("open_failures_bulk", integration), {"action": "reoffer", "line": [foreign_line.pk]}
    )
    foreign_line.refresh_from_db()
    assert foreign_line.reoffer is False


def test_pages_follow_each_other_by_run_and_position(viewer, integration, failures, monkeypatch):
    monkeypatch.setattr("runs.views.open_failures.LINES_PER_PAGE", 2)
    client = client_for(viewer)
    first = client.get(url("open_failures", integration))
    assert open_ids(first) == [failures["old_open_first"].pk, failures["old_open"].pk]
    assert first.context["next_page_url"].endswith("?after=1-2")
    second = client.get(first.context["next_page_url"], HTTP_HX_REQUEST="true")
    assert open_ids(second) == [failures["new_open"].pk]
    assert second.context["next_page_url"] is None
    assert second.content.decode().lstrip().startswith('<div id="failures">')


def test_the_query_count_does_not_grow_with_lines_or_runs(
    editor, integration, django_assert_num_queries
):
    client = client_for(editor)
    client.get(url("open_failures", integration))

    def grow(first: int) -> None:
        for number in range(first, first + 3):
            run = make_run(integration, number=number, total=5, failed=5)
            for position in range(1, 6):
                failed_line(run, position, reoffer=position == 1)

    grow(1)
    # Session, user, membership, integration, the page, the runs to retry, the lines in
    # doubt, the reason groups (messages with their counts, then their examples).
    with django_assert_num_queries(9):
        client.get(url("open_failures", integration))
    grow(4)
    with django_assert_num_queries(9):
        response = client.get(url("open_failures", integration))
    assert len(response.context["marked_runs"]) == 6


def test_lines_in_doubt_are_listed_above_the_failures_with_a_link_to_decide(
    viewer, integration, failures
):
    """A line in doubt is not failed, but it waits for a person all the same; the
    Integrations page's "in doubt" count leads here."""
    doubtful = make_line(
        failures["newer"],
        4,
        kind="journal_entry",
        payload=example_record("journal_entry", 1),
        status=LineStatus.IN_DOUBT,
        message="In doubt — check in Multivers Online: an earlier offer may have booked it.",
    )
    Run.objects.filter(pk=failures["newer"].pk).update(in_doubt=1)
    client = client_for(viewer)

    response = client.get(url("open_failures", integration))
    assert [line.pk for line in response.context["in_doubt"].lines] == [doubtful.pk]
    page = response.content.decode()
    assert "1 line in doubt: booked or not?" in page
    assert (
        reverse("line_detail", kwargs={"company_slug": "de-vries", "line_id": doubtful.pk}) in page
    )
    assert doubtful.pk not in open_ids(response)  # not among the failed lines to fix
    assert "3 failed lines are still open" in page

    integrations = client.get(reverse("integration_list", kwargs={"company_slug": "de-vries"}))
    link = url("open_failures", integration) + "#in-doubt-title"
    assert f'href="{link}">1 line in doubt</a>' in " ".join(integrations.content.decode().split())


def test_no_in_doubt_section_without_lines_in_doubt(viewer, integration, failures):
    page = client_for(viewer).get(url("open_failures", integration)).content.decode()
    assert "in doubt" not in page


# --- the cross-run services ----------------------------------------------------------------


def test_integration_lines_reoffer_ignores_closed_and_foreign_lines(
    editor, integration, failures, foreign_line
):
    picked = [failures["old_reoffered"].pk, failures["new_resolved"].pk, foreign_line.pk]
    assert integration_lines_reoffer(integration=integration, line_ids=picked, user=editor) == 0
    assert (
        integration_lines_reoffer(
            integration=integration, line_ids=[failures["old_open"].pk], user=editor
        )
        == 1
    )
    # Marking a marked line again is not a second change.
    assert (
        integration_lines_reoffer(
            integration=integration, line_ids=[failures["old_open"].pk], user=editor
        )
        == 0
    )
    failures["old_open"].refresh_from_db()
    assert failures["old_open"].version == 2


def test_integration_lines_resolve_needs_a_reason_and_records_it(editor, integration, failures):
    picked = [failures["old_open"].pk, failures["new_open"].pk]
    with pytest.raises(ReasonRequired):
        integration_lines_resolve(integration=integration, line_ids=picked, user=editor, reason="")
    count = integration_lines_resolve(
        integration=integration, line_ids=picked, user=editor, reason="Booked by hand"
    )
    assert count == 2
    for key in ("old_open", "new_open"):
        failures[key].refresh_from_db()
        assert failures[key].resolution == "Booked by hand"
        assert not failures[key].is_open_failure
    assert LineEdit.objects.filter(action=LineEdit.Action.RESOLVE).count() == 2
