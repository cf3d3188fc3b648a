"""Run details: access per role, Show only failed, search, pages, progress, Retry, bulk actions."""

from __future__ import annotations

from django.test import Client
from django.urls import reverse

from runs.models import LineStatus, Run, RunLine
from runs.services.corrections import line_set_reoffer

from .conftest import client_for, make_line


def run_url(run, name="run_detail", slug="de-vries"):
    return reverse(name, kwargs={"company_slug": slug, "run_id": run.pk})


def test_anonymous_users_are_sent_to_login(client, failed_run):
    response = client.get(run_url(failed_run))
    assert response.status_code == 302
    assert reverse("login") in response["Location"]


def test_it_hides_other_companies_runs(outsider, failed_run):
    client = client_for(outsider)
    assert client.get(run_url(failed_run)).status_code == 404
    assert client.get(run_url(failed_run, slug="jansen")).status_code == 404


def test_it_shows_the_runs_facts_and_its_lines(viewer, failed_run):
    response = client_for(viewer).get(run_url(failed_run))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Run #1" in page
    assert "1 min 5 s" in page
    assert "10001" in page and "VF2025-000002" in page
    assert (
        reverse(
            "line_detail",
            kwargs={"company_slug": "de-vries", "line_id": failed_run.lines.first().pk},
        )
        in page
    )


def test_show_only_failed_is_ticked_by_itself_when_the_run_has_failed_lines(viewer, failed_run):
    response = client_for(viewer).get(run_url(failed_run))
    assert response.context["only_failed"] is True
    assert [line.status for line in response.context["page"].lines] == ["failed", "failed"]
    assert 'name="failed" value="1" checked' in response.content.decode()


def test_show_only_failed_is_not_ticked_for_a_run_without_failures(viewer, clean_run):
    response = client_for(viewer).get(run_url(clean_run))
    assert response.context["only_failed"] is False
    assert len(response.context["page"].lines) == 2


def test_show_only_failed_keeps_the_lines_in_doubt_with_the_failed_ones(viewer, failed_run):
    doubtful = failed_run.lines.get(status=LineStatus.SUCCEEDED)
    RunLine.objects.filter(pk=doubtful.pk).update(status=LineStatus.IN_DOUBT)
    Run.objects.filter(pk=failed_run.pk).update(succeeded=0, in_doubt=1)

    response = client_for(viewer).get(run_url(failed_run))

    statuses = sorted(line.status for line in response.context["page"].lines)
    assert statuses == ["failed", "failed", "in_doubt"]
    line_url = reverse("line_detail", kwargs={"company_slug": "de-vries", "line_id": doubtful.pk})
    assert line_url in response.content.decode()


def test_a_run_whose_only_trouble_is_a_line_in_doubt_opens_on_that_line(viewer, clean_run):
    doubtful = clean_run.lines.order_by("position").last()
    RunLine.objects.filter(pk=doubtful.pk).update(status=LineStatus.IN_DOUBT)
    Run.objects.filter(pk=clean_run.pk).update(succeeded=1, in_doubt=1)

    response = client_for(viewer).get(run_url(clean_run))

    assert response.context["only_failed"] is True
    assert [line.pk for line in response.context["page"].lines] == [doubtful.pk]
    assert 'name="failed" value="1" checked' in response.content.decode()


def test_unticking_show_only_failed_shows_every_line(viewer, failed_run):
    response = client_for(viewer).get(run_url(failed_run), {"failed": "0"})
    assert response.context["only_failed"] is False
    assert len(response.context["page"].lines) == 3


def test_search_finds_lines_by_part_of_their_identifier(viewer, failed_run):
    response = client_for(viewer).get(run_url(failed_run), {"failed": "0", "q": "vf2025"})
    assert [line.identifier for line in response.context["page"].lines] == ["VF2025-000002"]


def test_an_htmx_request_gets_only_the_lines(viewer, failed_run):
    response = client_for(viewer).get(run_url(failed_run), {"failed": "0"}, HTTP_HX_REQUEST="true")
    page = response.content.decode()
    assert page.lstrip().startswith('<div id="lines">')
    assert "<html" not in page


def test_pages_follow_each_other_by_position(viewer, clean_run, monkeypatch):
    monkeypatch.setattr("runs.views.run_detail.LINES_PER_PAGE", 1)
    client = client_for(viewer)
    first = client.get(run_url(clean_run))
    assert first.context["next_page_url"].endswith("failed=0&after=1")
    second = client.get(first.context["next_page_url"])
    assert [line.position for line in second.context["page"].lines] == [2]
    assert second.context["next_page_url"] is None
    assert "First page" in second.content.decode()


def test_progress_polls_while_the_run_moves(viewer, running_run):
    response = client_for(viewer).get(run_url(running_run, "run_progress"), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert 'hx-trigger="every 2s"' in response.content.decode()
    assert "1 of 4 lines done" in response.content.decode()


def test_progress_stops_polling_and_refreshes_the_page_when_the_run_ends(viewer, failed_run):
    response = client_for(viewer).get(run_url(failed_run, "run_progress"), HTTP_HX_REQUEST="true")
    assert response.status_code == 286
    assert response["HX-Refresh"] == "true"


def test_the_warning_and_retry_show_when_lines_are_marked(editor, failed_run, customer_line):
    line_set_reoffer(line=customer_line, user=editor, reoffer=True)
    page = client_for(editor).get(run_url(failed_run)).content.decode()
    assert "alert-warning" in page
    assert "1 line has changes ready to be re-offered." in page
    assert run_url(failed_run, "run_retry") in page


def test_a_viewer_sees_the_warning_but_no_buttons(viewer, editor, failed_run, customer_line):
    line_set_reoffer(line=customer_line, user=editor, reoffer=True)
    page = client_for(viewer).get(run_url(failed_run)).content.decode()
    assert "changes ready to be re-offered" in page
    assert run_url(failed_run, "run_retry") not in page
    assert "Re-offer unchanged" not in page
    assert 'name="line"' not in page


def test_a_viewer_cannot_post_retry_or_bulk_actions(viewer, failed_run, customer_line):
    client = client_for(viewer)
    assert client.post(run_url(failed_run, "run_retry")).status_code == 403
    response = client.post(
        run_url(failed_run, "lines_bulk"), {"action": "reoffer", "line": customer_line.pk}
    )
    assert response.status_code == 403
    customer_line.refresh_from_db()
    assert customer_line.reoffer is False


def test_retry_starts_a_new_run_and_goes_to_it(editor, failed_run, customer_line):
    line_set_reoffer(line=customer_line, user=editor, reoffer=True)
    response = client_for(editor).post(run_url(failed_run, "run_retry"), follow=True)
    new_run = Run.objects.get(retry_of=failed_run)
    assert response.redirect_chain[-1][0] == run_url(new_run)
    page = response.content.decode()
    assert "Run #2 started with 1 line." in page
    assert "Retry of" in page and run_url(failed_run) in page


def test_retry_without_marked_lines_says_so(editor, failed_run):
    response = client_for(editor).post(run_url(failed_run, "run_retry"), follow=True)
    assert "Nothing to retry" in response.content.decode()
    assert not Run.objects.filter(retry_of=failed_run).exists()


def test_old_lines_show_as_reoffered(editor, failed_run, customer_line):
    line_set_reoffer(line=customer_line, user=editor, reoffer=True)
    client = client_for(editor)
    client.post(run_url(failed_run, "run_retry"))
    page = client.get(run_url(failed_run)).content.decode()
    assert "Re-offered in #2" in page


def test_selected_lines_are_reoffered_unchanged(editor, failed_run, customer_line, invoice_line):
    response = client_for(editor).post(
        run_url(failed_run, "lines_bulk"),
        {"action": "reoffer", "line": [customer_line.pk, invoice_line.pk]},
    )
    assert response.status_code == 302
    assert RunLine.objects.filter(run=failed_run, reoffer=True).count() == 2


def test_selected_lines_are_resolved_with_a_reason(editor, failed_run, customer_line):
    client = client_for(editor)
    response = client.post(
        run_url(failed_run, "lines_bulk"),
        {"action": "resolve", "line": customer_line.pk},
        follow=True,
    )
    assert "Give a reason" in response.content.decode()
    client.post(
        run_url(failed_run, "lines_bulk"),
        {"action": "resolve", "line": customer_line.pk, "reason": "Booked by hand"},
    )
    customer_line.refresh_from_db()
    assert customer_line.resolution == "Booked by hand"


def test_a_consultant_may_resume_a_run_stopped_by_a_run_level_fault(consultant, editor, failed_run):
    failed_run.status = "failed"
    failed_run.error = "Login to Multivers Online refused"
    failed_run.save()
    page = client_for(consultant).get(run_url(failed_run)).content.decode()
    assert "Login to Multivers Online refused" in page
    assert run_url(failed_run, "run_resume") in page
    assert (
        run_url(failed_run, "run_resume")
        not in client_for(editor).get(run_url(failed_run)).content.decode()
    )
    assert client_for(editor).post(run_url(failed_run, "run_resume")).status_code == 403


def test_retry_refuses_a_post_without_csrf_token(editor, failed_run, customer_line):
    line_set_reoffer(line=customer_line, user=editor, reoffer=True)
    client = Client(enforce_csrf_checks=True)
    client.force_login(editor)
    assert client.post(run_url(failed_run, "run_retry")).status_code == 403
    assert not Run.objects.filter(retry_of=failed_run).exists()


def test_retry_is_not_a_get(editor, failed_run):
    assert client_for(editor).get(run_url(failed_run, "run_retry")).status_code == 405


def test_bulk_actions_leave_lines_of_other_companies_alone(editor, failed_run, foreign_line):
    response = client_for(editor).post(
        run_url(failed_run, "lines_bulk"), {"action": "reoffer", "line": foreign_line.pk}
    )
    assert response.status_code == 302
    foreign_line.refresh_from_db()
    assert foreign_line.reoffer is False


def test_the_lines_table_tells_a_reoffered_line_from_an_open_one(editor, failed_run):
    line = make_line(
        failed_run,
        4,
        kind="customer",
        payload={"code": "X1", "name": "X"},
        status=LineStatus.FAILED,
        message="refused",
        reoffer=True,
    )
    page = client_for(editor).get(run_url(failed_run)).content.decode()
    assert "Ready to re-offer" in page
    assert f'value="{line.pk}"' in page


def test_resume_hands_the_run_to_the_delivery_engine(consultant, failed_run, monkeypatch):
    resumed = []
    monkeypatch.setattr("runs.services.export.run_resume", lambda *, run: resumed.append(run.pk))
    failed_run.status = "failed"
    failed_run.error = "Login to Multivers Online refused"
    failed_run.save()
    response = client_for(consultant).post(run_url(failed_run, "run_resume"), follow=True)
    assert resumed == [failed_run.pk]
    assert "Run #1 resumed." in response.content.decode()


def test_the_progress_polls_at_the_one_live_interval_of_the_settings(viewer, running_run, settings):
    settings.LIVE_POLL_SECONDS = 5
    page = client_for(viewer).get(run_url(running_run)).content.decode()
    assert 'hx-trigger="every 5s"' in page
    assert 'hx-trigger="every 2s"' not in page


def test_the_breadcrumb_trail_leads_back_to_history_and_names_the_run(viewer, failed_run):
    page = client_for(viewer).get(run_url(failed_run)).content.decode()
    history = reverse(
        "run_history",
        kwargs={"company_slug": "de-vries", "integration_id": failed_run.integration_id},
    )
    assert '<nav class="breadcrumbs" aria-label="Breadcrumb">' in page
    trail = page.split('aria-label="Breadcrumb">', 1)[1].split("</nav>", 1)[0]
    assert f'<li><a href="{history}">History</a></li>' in trail
    assert f'<li aria-current="page">Run #{failed_run.number}</li>' in trail
