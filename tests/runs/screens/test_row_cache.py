"""History's and run details' rows are rendered once and kept, never shown out of date."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from runs.models import RunStatus
from tests.integrations.screens_support import make_runs

pytestmark = pytest.mark.django_db

RUN_ROW = "integrations/_run_row.html"
LINE_ROW = "runs/_line_row.html"


@pytest.fixture(autouse=True)
def empty_cache():
    cache.clear()


def _history(integration) -> str:
    return reverse("run_history", args=[integration.company.slug, integration.pk])


def _run_detail(run) -> str:
    return reverse("run_detail", args=[run.integration.company.slug, run.pk]) + "?failed=1"


def _row_renders(response, template: str) -> int:
    return sum(1 for used in response.templates if used.name == template)


def _table(response) -> str:
    text = response.text
    return text[text.index("<tbody>") : text.index("</tbody>")]


def test_a_finished_runs_row_is_rendered_once_and_then_served_from_the_cache(
    client, integration, viewer
):
    make_runs(integration, 3)
    client.force_login(viewer)
    first = client.get(_history(integration))
    again = client.get(_history(integration))
    assert _row_renders(first, RUN_ROW) == 3
    assert _row_renders(again, RUN_ROW) == 0
    assert again.text.count('<tr id="run-') == 3
    assert _table(again) == _table(first)


def test_history_shows_the_new_status_after_a_finished_run_changed(client, integration, viewer):
    run = make_runs(integration, 1, status=RunStatus.FAILED, error="Login refused")[0]
    client.force_login(viewer)
    assert "Login refused" in client.get(_history(integration)).text
    # Resumed and finished with two failures: the kept row must not be shown any more.
    run.status = RunStatus.FINISHED
    run.error = ""
    run.succeeded, run.failed = 8, 2
    run.save()
    text = client.get(_history(integration)).text
    assert "Login refused" not in text
    assert "Finished with errors" in text
    assert '<span class="count-failed">2</span>' in text


def test_an_active_runs_row_is_rendered_afresh_on_every_request(client, integration, viewer):
    make_runs(integration, 1, status=RunStatus.RUNNING, total=10, succeeded=4)
    client.force_login(viewer)
    client.get(_history(integration))
    assert _row_renders(client.get(_history(integration)), RUN_ROW) == 1


def test_a_dutch_reader_sees_a_dutch_row_after_an_english_one_was_kept(client, integration, viewer):
    make_runs(integration, 1, succeeded=8, failed=2)
    client.force_login(viewer)
    assert "Finished with errors" in client.get(_history(integration)).text
    dutch = client.get(_history(integration), HTTP_ACCEPT_LANGUAGE="nl").text
    assert "Voltooid met fouten" in dutch
    assert "Finished with errors" not in dutch


def test_a_line_marked_for_reoffer_says_so_on_run_details_at_once(client, failed_run, editor):
    client.force_login(editor)
    assert "Ready to re-offer" not in client.get(_run_detail(failed_run)).text
    line = failed_run.lines.get(position=1)
    line.reoffer = True
    line.save(update_fields=["reoffer"])
    assert "Ready to re-offer" in client.get(_run_detail(failed_run)).text


def test_a_resolved_line_is_no_longer_selectable_after_its_row_was_kept(client, failed_run, editor):
    client.force_login(editor)
    line = failed_run.lines.get(position=1)
    assert f'value="{line.pk}"' in client.get(_run_detail(failed_run)).text
    failed_run.lines.filter(pk=line.pk).update(resolved_at=timezone.now(), resolution="Fixed")
    text = client.get(_run_detail(failed_run)).text
    assert f'value="{line.pk}"' not in text
    assert "Resolved" in text


def test_a_viewer_gets_no_checkboxes_from_rows_an_editor_saw(client, failed_run, editor, viewer):
    client.force_login(editor)
    assert 'name="line"' in client.get(_run_detail(failed_run)).text
    client.force_login(viewer)
    response = client.get(_run_detail(failed_run))
    assert response.text.count("has-errors") >= 2
    assert 'name="line"' not in response.text


def test_a_line_row_is_served_from_the_cache_until_the_line_changes(client, failed_run, viewer):
    client.force_login(viewer)
    assert _row_renders(client.get(_run_detail(failed_run)), LINE_ROW) == 2
    assert _row_renders(client.get(_run_detail(failed_run)), LINE_ROW) == 0
    failed_run.lines.filter(position=2).update(message="Dagboek 70 is gesloten")
    response = client.get(_run_detail(failed_run))
    assert _row_renders(response, LINE_ROW) == 1
    assert "Dagboek 70 is gesloten" in response.text


def test_rows_never_cross_companies(client, integration, other_integration, viewer, outsider):
    make_runs(integration, 1)
    make_runs(other_integration, 1)
    client.force_login(viewer)
    client.get(_history(integration))
    client.force_login(outsider)
    text = client.get(_history(other_integration)).text
    assert f"/c/{other_integration.company.slug}/runs/" in text
    assert f"/c/{integration.company.slug}/" not in text


# --- History's whole content, kept while its runs do not change ----------------------
HISTORY_CONTENT = "integrations/_run_history.html"


def _content_renders(response) -> int:
    return sum(1 for used in response.templates if used.name == HISTORY_CONTENT)


def test_history_is_served_whole_from_the_cache_until_one_of_its_runs_changes(
    client, integration, viewer
):
    runs = make_runs(integration, 3)
    client.force_login(viewer)
    first = client.get(_history(integration))
    again = client.get(_history(integration))
    assert _content_renders(first) == 1
    assert _content_renders(again) == 0
    assert _table(again) == _table(first)
    # A counter changed by a plain UPDATE, as the engine writes them: no save(), no signal.
    type(runs[0]).objects.filter(pk=runs[0].pk).update(succeeded=7, failed=3)
    changed = client.get(_history(integration))
    assert _content_renders(changed) == 1
    assert '<span class="count-failed">3</span>' in changed.text


def test_a_new_run_shows_on_a_kept_history_page(client, integration, viewer):
    make_runs(integration, 2)
    client.force_login(viewer)
    client.get(_history(integration))
    newest = make_runs(integration, 1)[0]
    assert f'id="run-{newest.number}"' in client.get(_history(integration)).text


def test_a_page_with_an_active_run_is_never_kept(client, integration, viewer):
    make_runs(integration, 2)
    make_runs(integration, 1, status=RunStatus.RUNNING, total=10, succeeded=4)
    client.force_login(viewer)
    client.get(_history(integration))
    assert _content_renders(client.get(_history(integration))) == 1


def test_a_viewer_is_not_served_the_page_a_consultant_saw(client, integration, consultant, viewer):
    make_runs(integration, 2)
    client.force_login(consultant)
    assert "Upload export file" in client.get(_history(integration)).text
    client.force_login(viewer)
    text = client.get(_history(integration)).text
    assert "Upload export file" not in text
    assert text.count('<tr id="run-') == 2


def test_each_filter_is_kept_apart(client, integration, viewer):
    make_runs(integration, 2)
    make_runs(integration, 1, succeeded=8, failed=2)
    client.force_login(viewer)
    assert client.get(_history(integration)).text.count('<tr id="run-') == 3
    errors = client.get(_history(integration) + "?status=errors").text
    assert errors.count('<tr id="run-') == 1
    assert client.get(_history(integration)).text.count('<tr id="run-') == 3


def test_a_parameter_history_does_not_know_is_served_the_kept_page(client, integration, viewer):
    make_runs(integration, 2)
    client.force_login(viewer)
    client.get(_history(integration))
    assert _content_renders(client.get(_history(integration) + "?utm_source=mail")) == 0
    bad = client.get(_history(integration) + "?date_from=2026-13-01")
    assert _content_renders(bad) == 1
    assert 'value="2026-13-01"' in bad.text
