"""Retention: booked lines lose their details after RETENTION_DAYS, failures never do."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection, connections
from django.urls import reverse
from django.utils import timezone

from integrations.canonical import example_record
from runs.models import DeliveryAttempt, LineStatus, Pruning, Run, RunLine
from runs.services.retention import lines_prune
from runs.tasks import prune

from .conftest import client_for, make_line, make_run

pytestmark = pytest.mark.django_db

LONG_AGO = timezone.now() - timedelta(days=400)
EXCHANGE = {"method": "POST", "url": "https://api.example/V22/customers", "status": 201}


def _line(run: Run, position: int, status: str, finished_at, **fields) -> RunLine:
    line = make_line(
        run,
        position,
        kind="customer",
        payload=example_record("customer", position),
        status=status,
        finished_at=finished_at,
        attempts=1,
        **fields,
    )
    DeliveryAttempt.objects.create(
        line=line,
        number=1,
        started_at=finished_at or timezone.now(),
        outcome=DeliveryAttempt.Outcome.SUCCEEDED
        if status == LineStatus.SUCCEEDED
        else DeliveryAttempt.Outcome.FAILED,
        exchanges=[EXCHANGE],
    )
    return line


@pytest.fixture
def old_run(integration) -> Run:
    """Run #1, 400 days ago: two booked lines, a failure, a line in doubt; then a recent run."""
    run = make_run(integration, number=1, total=4, succeeded=2, failed=1, in_doubt=1)
    _line(run, 1, LineStatus.SUCCEEDED, LONG_AGO, external_id="C-1")
    _line(run, 2, LineStatus.SUCCEEDED, LONG_AGO, external_id="C-2")
    _line(run, 3, LineStatus.FAILED, LONG_AGO, message="Naam is verplicht.")
    _line(run, 4, LineStatus.IN_DOUBT, LONG_AGO, in_doubt=True)
    recent = make_run(integration, number=2, total=1, succeeded=1)
    _line(recent, 5, LineStatus.SUCCEEDED, timezone.now() - timedelta(days=10))
    return run


def _attempts(line: RunLine) -> int:
    return DeliveryAttempt.objects.filter(line=line).count()


def test_a_booked_line_keeps_its_fact_and_loses_its_details(old_run):
    before = Run.objects.get(pk=old_run.pk)
    assert lines_prune() == 2
    booked = old_run.lines.get(position=1)
    assert (booked.status, booked.external_id, booked.identifier) == (
        LineStatus.SUCCEEDED,
        "C-1",
        example_record("customer", 1)["code"],
    )
    assert booked.finished_at == LONG_AGO
    assert booked.payload == {} and booked.pruned_at is not None
    assert _attempts(booked) == 0
    run = Run.objects.get(pk=old_run.pk)
    assert (run.total, run.succeeded, run.failed, run.in_doubt) == (
        before.total,
        before.succeeded,
        before.failed,
        before.in_doubt,
    )


def test_failures_and_lines_in_doubt_older_than_the_setting_survive_whole(old_run):
    lines_prune()
    for position in (3, 4):
        line = old_run.lines.get(position=position)
        assert line.payload == example_record("customer", position)
        assert line.pruned_at is None
        assert _attempts(line) == 1


def test_a_line_booked_within_the_setting_keeps_its_details(old_run, settings):
    lines_prune()
    recent = RunLine.objects.get(position=5)
    assert recent.payload == example_record("customer", 5) and _attempts(recent) == 1
    settings.RETENTION_DAYS = 5
    assert lines_prune() == 1
    assert RunLine.objects.get(position=5).payload == {}


def test_pruning_is_idempotent_and_counts_each_pass_once(old_run):
    now = timezone.now()
    assert lines_prune(now=now) == 2
    assert lines_prune(now=now) == 0
    assert lines_prune() == 0
    [pruning] = Pruning.objects.all()
    assert pruning.lines == 2
    assert pruning.before == now - timedelta(days=180)


def test_small_batches_prune_the_same_lines_into_one_count(old_run):
    assert lines_prune(batch_size=1) == 2
    assert Pruning.objects.get().lines == 2
    assert set(
        RunLine.objects.filter(pruned_at__isnull=False).values_list("position", flat=True)
    ) == {
        1,
        2,
    }


def test_each_integration_counts_only_its_own_lines_pruned_in_the_same_batch(
    old_run, integration, other_integration
):
    other_run = make_run(other_integration, number=1, total=3, succeeded=3)
    for position in (1, 2, 3):
        _line(other_run, position, LineStatus.SUCCEEDED, LONG_AGO)
    assert lines_prune() == 5
    counts = dict(Pruning.objects.values_list("integration_id", "lines"))
    assert counts == {integration.pk: 2, other_integration.pk: 3}


def test_the_beat_task_prunes(old_run, settings):
    assert settings.CELERY_BEAT_SCHEDULE["prune-line-details"]["task"] == "runs.tasks.prune"
    prune.apply().get()
    assert RunLine.objects.filter(pruned_at__isnull=False).count() == 2


def test_history_says_what_was_pruned_and_when(old_run, integration, viewer):
    lines_prune()
    pruning = Pruning.objects.get()
    url = reverse("run_history", args=[integration.company.slug, integration.pk])
    page = client_for(viewer).get(url).content.decode()
    before = timezone.localtime(pruning.before).strftime("%-d %b %Y")
    assert f"Details of 2 lines booked before {before} were pruned on " in page
    assert "failed and in-doubt lines are never pruned" in page


def test_history_says_it_in_dutch_too(old_run, integration, viewer):
    lines_prune()
    url = reverse("run_history", args=[integration.company.slug, integration.pk])
    page = client_for(viewer).get(url, HTTP_ACCEPT_LANGUAGE="nl").content.decode()
    assert "De details van 2 regels geboekt vóór " in page
    assert "mislukte en onzekere regels worden nooit opgeschoond" in page


def test_history_of_another_company_shows_nothing_of_it(old_run, other_integration, outsider):
    lines_prune()
    url = reverse("run_history", args=[other_integration.company.slug, other_integration.pk])
    page = client_for(outsider).get(url).content.decode()
    assert "were pruned on" not in page


def test_a_pruned_line_page_says_so_instead_of_erroring(old_run, consultant, outsider):
    lines_prune()
    line = old_run.lines.get(position=1)
    url = reverse("line_detail", kwargs={"company_slug": "de-vries", "line_id": line.pk})
    response = client_for(consultant).get(url)
    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="line-pruned"' in page and "were pruned on" in page
    assert "C-1" in page
    assert "Pruned with the line's details." in page
    assert client_for(outsider).get(url).status_code == 404


@pytest.mark.django_db(transaction=True)
def test_a_line_held_by_another_transaction_is_skipped_without_waiting_and_taken_later(
    integration,
):
    if connection.vendor != "postgresql":
        pytest.skip("SKIP LOCKED is PostgreSQL's")
    run = make_run(integration, number=1, total=2, succeeded=2)
    held = _line(run, 1, LineStatus.SUCCEEDED, LONG_AGO)
    _line(run, 2, LineStatus.SUCCEEDED, LONG_AGO)
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("BEGIN")
            cursor.execute("SELECT id FROM runs_runline WHERE id = %s FOR UPDATE", [held.pk])
            with connection.cursor() as mine:
                # Waiting for the held line would fail the pass after 2 s.
                mine.execute("SET lock_timeout = '2s'")
            assert lines_prune() == 1
            with connection.cursor() as mine:
                mine.execute("RESET lock_timeout")
            cursor.execute("ROLLBACK")
    finally:
        other.close()
    assert RunLine.objects.get(pk=held.pk).pruned_at is None
    assert lines_prune() == 1
    assert RunLine.objects.get(pk=held.pk).payload == {}
