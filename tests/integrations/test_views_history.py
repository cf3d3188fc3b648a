"""History: every run of an integration, newest first, a page at a time."""

from __future__ import annotations

import re
from datetime import date

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from runs import selectors
from runs.models import RunStatus, Trigger
from tests.integrations.screens_support import make_runs

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
POLL = {**HTMX, "HTTP_HX_TRIGGER": "runs"}


def _url(integration, **query: str) -> str:
    url = reverse("run_history", args=[integration.company.slug, integration.pk])
    if query:
        url += "?" + "&".join(f"{key}={value}" for key, value in query.items())
    return url


def _numbers(response) -> list[int]:
    return [run.number for run in response.context["page"].runs]


def test_anonymous_visitors_are_sent_to_log_in(client, integration):
    response = client.get(_url(integration))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_it_hides_other_companies_runs(client, integration, outsider):
    client.force_login(outsider)
    assert client.get(_url(integration)).status_code == 404


def test_a_member_cannot_reach_a_foreign_integration_through_their_own_company(
    client, company, other_integration, viewer
):
    client.force_login(viewer)
    url = reverse("run_history", args=[company.slug, other_integration.pk])
    assert client.get(url).status_code == 404


@pytest.mark.parametrize("role", ["viewer", "editor", "consultant"])
def test_every_member_reads_the_history(client, request, integration, role):
    make_runs(integration, 2)
    client.force_login(request.getfixturevalue(role))
    response = client.get(_url(integration))
    assert response.status_code == 200
    assert _numbers(response) == [2, 1]


def test_each_row_links_its_date_and_time_to_the_run_details(client, integration, viewer):
    run = make_runs(integration, 1)[0]
    client.force_login(viewer)
    text = client.get(_url(integration)).text
    detail = reverse("run_detail", args=[integration.company.slug, run.pk])
    assert re.search(rf'<a href="{detail}">\d+ \w+ \d{{4}} \d\d:\d\d:\d\d</a>', text)


def test_rows_with_errors_stand_out(client, integration, viewer):
    make_runs(integration, 1)
    make_runs(integration, 1, succeeded=8, failed=2)
    make_runs(integration, 1, status=RunStatus.FAILED, error="Login to Multivers Online refused")
    client.force_login(viewer)
    text = client.get(_url(integration)).text
    assert text.count('class="has-errors"') == 2
    assert "Finished with errors" in text
    assert "Login to Multivers Online refused" in text
    assert "status-succeeded" in text


def test_a_run_whose_lines_are_in_doubt_is_no_success(client, integration, viewer):
    """Nothing failed, but the package may or may not have booked a line: the row says so
    and stands out, where it used to read "Succeeded" in green."""
    make_runs(integration, 1, succeeded=9, in_doubt=1)
    client.force_login(viewer)
    text = client.get(_url(integration)).text
    assert text.count('class="has-errors"') == 1
    assert "Finished, lines in doubt" in text and "1 line in doubt" in text
    assert "status-succeeded" not in text


def test_a_retry_names_the_run_it_retries(client, integration, viewer):
    first = make_runs(integration, 1, failed=3, succeeded=7)[0]
    make_runs(integration, 1, trigger=Trigger.RETRY, retry_of=first, total=3, succeeded=3)
    client.force_login(viewer)
    assert "Retry of #1" in client.get(_url(integration)).text


def test_a_running_run_shows_its_progress(client, integration, viewer):
    make_runs(integration, 1, status=RunStatus.RUNNING, total=500, succeeded=100, failed=20)
    client.force_login(viewer)
    text = client.get(_url(integration)).text
    assert '<progress max="500" value="120"' in text
    assert "120 of 500" in text


def test_it_filters_runs_with_errors(client, integration, viewer):
    make_runs(integration, 1)
    make_runs(integration, 1, failed=1, succeeded=9)
    make_runs(integration, 1, status=RunStatus.FAILED, succeeded=0)
    make_runs(integration, 1)
    make_runs(integration, 1, succeeded=9, in_doubt=1)  # waits for a person, too
    client.force_login(viewer)
    assert _numbers(client.get(_url(integration, status="errors"))) == [5, 3, 2]


def test_it_filters_active_runs(client, integration, viewer):
    make_runs(integration, 1)
    make_runs(integration, 1, status=RunStatus.QUEUED)
    make_runs(integration, 1, status=RunStatus.RUNNING)
    client.force_login(viewer)
    assert _numbers(client.get(_url(integration, status="running"))) == [3, 2]


def test_it_filters_by_date(client, integration, viewer):
    make_runs(integration, 72)  # hourly from Monday 13:00 to Thursday 12:00
    client.force_login(viewer)
    response = client.get(_url(integration, date_from="2026-03-03", date_to="2026-03-03"))
    days = {timezone.localtime(run.queued_at).date() for run in response.context["page"].runs}
    assert days == {date(2026, 3, 3)}
    assert len(_numbers(response)) == 24


def test_a_mistyped_date_is_reported_and_the_rest_still_applies(client, integration, viewer):
    make_runs(integration, 2)
    make_runs(integration, 1, failed=1, succeeded=9)
    client.force_login(viewer)
    response = client.get(_url(integration, status="errors", date_from="yesterday"))
    assert _numbers(response) == [3]
    assert "Enter a valid date." in response.text


def test_pages_go_back_by_run_number(client, integration, viewer):
    make_runs(integration, 120)
    client.force_login(viewer)
    first = client.get(_url(integration))
    assert _numbers(first)[0] == 120 and _numbers(first)[-1] == 71
    older = first.context["older_url"]
    assert older.endswith("?before=71")
    assert f'href="{older}"' in first.text
    second = client.get(older)
    assert _numbers(second)[0] == 70
    third = client.get(second.context["older_url"])
    assert _numbers(third) == list(range(20, 0, -1))
    assert third.context["older_url"] is None
    assert "Older runs" not in third.text
    assert f'href="{_url(integration)}"' in third.text  # ← Newest


def test_pages_keep_the_filters(client, integration, viewer):
    make_runs(integration, 60, failed=1, succeeded=9)
    make_runs(integration, 5)
    client.force_login(viewer)
    first = client.get(_url(integration, status="errors"))
    assert first.context["older_url"].endswith("?status=errors&before=11")
    assert _numbers(client.get(first.context["older_url"])) == list(range(10, 0, -1))


@pytest.mark.parametrize("runs", [5, 300])
def test_a_page_costs_the_same_queries_however_deep_and_however_many_runs(
    client, integration, viewer, runs, django_assert_num_queries
):
    make_runs(integration, runs, failed=1, succeeded=9)
    client.force_login(viewer)
    # session, user, membership, integration, the versions of the page's runs and retention
    # passes; the first time, the page of runs and the passes too: no COUNT(*), nothing per
    # row. The polled fragment reads the page of runs and no versions.
    deeper = _url(integration, status="errors", before=str(runs // 2 + 1))
    for url in (_url(integration), deeper):
        with django_assert_num_queries(7):
            client.get(url)
        with django_assert_num_queries(5):
            client.get(url)
    with django_assert_num_queries(5):
        client.get(_url(integration), **HTMX)


def test_htmx_gets_only_the_runs_fragment(client, integration, viewer):
    make_runs(integration, 3)
    client.force_login(viewer)
    response = client.get(_url(integration, status="errors"), **HTMX)
    assert response.status_code == 200
    assert response.text.lstrip().startswith('<div id="runs"')
    assert "<html" not in response.text
    assert "HX-Request" in response["Vary"]


def test_going_back_in_the_browser_gets_the_whole_page(client, integration, viewer):
    client.force_login(viewer)
    response = client.get(_url(integration), **HTMX, HTTP_HX_HISTORY_RESTORE_REQUEST="true")
    assert "<html" in response.text


def test_the_table_polls_while_a_run_is_active(client, integration, viewer):
    make_runs(integration, 1)
    make_runs(integration, 1, status=RunStatus.RUNNING, total=10, succeeded=3)
    client.force_login(viewer)
    response = client.get(_url(integration), **POLL)
    assert response.status_code == 200
    assert 'hx-trigger="every 2s"' in response.text


def test_polling_stops_with_286_once_no_run_is_active(client, integration, viewer):
    make_runs(integration, 2)
    client.force_login(viewer)
    response = client.get(_url(integration), **POLL)
    assert response.status_code == 286
    assert 'id="run-2"' in response.text  # the final state is still shown
    assert "every 2s" not in response.text


def test_a_filter_request_is_never_told_to_stop_polling(client, integration, viewer):
    make_runs(integration, 2)
    client.force_login(viewer)
    response = client.get(_url(integration), **HTMX, HTTP_HX_TRIGGER="run-filters")
    assert response.status_code == 200


def test_the_filter_form_works_with_and_without_javascript(client, integration, viewer):
    client.force_login(viewer)
    text = client.get(_url(integration)).text
    path = _url(integration)
    assert f'method="get" action="{path}"' in text
    assert f'hx-get="{path}" hx-target="#runs"' in text
    assert 'hx-push-url="true"' in text


def test_it_speaks_dutch_when_asked(client, integration, viewer):
    make_runs(integration, 1, failed=1, succeeded=9)
    client.force_login(viewer)
    client.cookies["django_language"] = "nl"
    text = client.get(_url(integration)).text
    assert "<h1>Geschiedenis</h1>" in text
    assert "Integraties" in text
    assert "Voltooid met fouten" in text


@pytest.mark.parametrize(
    "filters",
    [
        {},
        {"status": "errors"},
        {"status": "running"},
        {"date_from": date(2026, 3, 3)},
        {"date_to": date(2026, 3, 2)},
        {"before": 9},
        {"status": "errors", "date_from": date(2026, 3, 2), "before": 15},
    ],
)
def test_the_versions_history_is_kept_under_cover_the_runs_it_shows(integration, filters):
    """History is served from the cache while the versions of its runs stay the same, so
    the versions must be read from exactly the runs the page shows, the next one included."""
    if connection.vendor != "postgresql":
        pytest.skip("row versions are PostgreSQL's; on SQLite History is rendered every time")
    make_runs(integration, 6)
    make_runs(integration, 4, succeeded=8, failed=2)
    make_runs(integration, 3, status=RunStatus.RUNNING)
    make_runs(integration, 3, status=RunStatus.FAILED, error="Login refused")
    page = selectors.run_history(integration=integration, page_size=4, **filters)
    versions = selectors.history_versions(integration=integration, page_size=4, **filters)
    shown = [row[0] for row in page.rows]
    following = selectors.run_history(integration=integration, page_size=5, **filters).rows[
        len(shown) :
    ]
    assert shown, filters
    assert {pk for table, pk, *_ in versions if table == "run"} == {
        *shown,
        *(row[0] for row in following),
    }
    active = {pk for table, pk, _, is_active in versions if table == "run" and is_active}
    rows = (*page.rows, *following)
    assert active == {row[0] for row in rows if selectors.history_row_active(row)}
