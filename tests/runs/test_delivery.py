"""The delivery engine against a real simulator, tasks run inline (no worker)."""

from __future__ import annotations

from collections import Counter

import pytest

from integrations.canonical import identifier_of
from runs.models import DeliveryAttempt, LineStatus, Run, RunLine, RunStatus, Trigger
from runs.services.export import run_execute, run_resume, runs_sweep
from runs.services.runs import NewLine, run_create
from tests.runs.conftest import connect
from tests.runs.conftest import record as example_record

pytestmark = pytest.mark.usefixtures("fast_engine")


def line(kind: str, data: dict) -> NewLine:
    return NewLine(kind=kind, identifier=identifier_of(kind, data), payload=data)


def batch(customers: int = 3, invoices: int = 3) -> list[NewLine]:
    lines = [line("customer", example_record("customer", n)) for n in range(customers)]
    lines += [line("sales_invoice", example_record("sales_invoice", n)) for n in range(invoices)]
    return lines


def booked_keys(sim) -> Counter:
    return Counter((b["entity"], b["key"]) for b in sim.ledger() if not b.get("update"))


def test_it_books_every_line_and_counts_them(connected, multivers, eager):
    run = run_create(integration=connected, trigger=Trigger.INTAKE, lines=batch())

    run.refresh_from_db()
    assert run.status == RunStatus.FINISHED
    assert (run.total, run.succeeded, run.failed, run.skipped) == (6, 6, 0, 0)
    assert run.finished_at is not None
    lines = list(run.lines.all())
    assert all(line.status == LineStatus.SUCCEEDED and line.external_id for line in lines)
    assert all(line.lease_until is None for line in lines)
    assert len(multivers.ledger()) == 6
    attempt = DeliveryAttempt.objects.get(line=lines[0])
    assert attempt.outcome == DeliveryAttempt.Outcome.SUCCEEDED
    assert attempt.exchanges and "Bearer [redacted]" not in attempt.exchanges[0]["request_body"]


def test_it_fails_a_line_with_the_packages_message_on_its_field(connected, multivers, eager):
    customer = example_record("customer", 0)
    del customer["short_name"]
    run = run_create(
        integration=connected, trigger=Trigger.INTAKE, lines=[line("customer", customer)]
    )

    failed = run.lines.get()
    assert failed.status == LineStatus.FAILED
    assert "ShortName is verplicht." in failed.message
    assert "short_name" in failed.field_errors
    run.refresh_from_db()
    assert run.status == RunStatus.FINISHED and run.failed == 1


def test_it_fails_an_invalid_record_before_calling_the_package(connected, multivers, eager):
    invoice = example_record("sales_invoice", 0)
    invoice["lines"][0]["amount"] = "twelve"
    before = multivers.stats()["requests"]
    run = run_create(
        integration=connected, trigger=Trigger.INTAKE, lines=[line("sales_invoice", invoice)]
    )

    failed = run.lines.get()
    assert failed.status == LineStatus.FAILED
    assert failed.field_errors == {"lines.0.amount": "Enter a number."}
    assert multivers.stats()["requests"] == before


def test_it_skips_an_invoice_an_earlier_run_booked_and_updates_a_relation(
    connected, multivers, eager
):
    first = run_create(integration=connected, trigger=Trigger.INTAKE, lines=batch(1, 1))
    second = run_create(integration=connected, trigger=Trigger.INTAKE, lines=batch(1, 1))

    invoice = second.lines.get(kind="sales_invoice")
    booked = first.lines.get(kind="sales_invoice")
    assert invoice.status == LineStatus.SKIPPED
    assert invoice.message == f"Already booked in run #{first.number} (id {booked.external_id})."
    assert invoice.external_id == booked.external_id
    customer = second.lines.get(kind="customer")
    assert customer.status == LineStatus.SUCCEEDED
    assert booked_keys(multivers).most_common(1)[0][1] == 1
    assert any(b.get("update") for b in multivers.ledger())


def test_a_second_run_of_only_booked_invoices_finishes_with_every_line_skipped(
    connected, multivers, eager
):
    # More than one chunk (RUN_CHUNK_SIZE 100) of lines that are all settled at claim
    # time: a chunk with nothing left to offer must not end the run's delivery early.
    customer = example_record("customer", 0)
    invoices = [
        line("sales_invoice", {**example_record("sales_invoice", n), "relation_code": "10000"})
        for n in range(150)
    ]
    first = run_create(
        integration=connected, trigger=Trigger.INTAKE, lines=[line("customer", customer), *invoices]
    )
    first.refresh_from_db()
    assert (first.status, first.succeeded) == (RunStatus.FINISHED, 151)
    requests = multivers.stats()["requests"]

    second = run_create(integration=connected, trigger=Trigger.INTAKE, lines=invoices)

    second.refresh_from_db()
    assert second.status == RunStatus.FINISHED
    assert (second.total, second.succeeded, second.failed, second.skipped) == (150, 0, 0, 150)
    assert second.heartbeat_at is None and second.finished_at is not None
    assert not second.lines.exclude(status=LineStatus.SKIPPED).exists()
    assert multivers.stats()["requests"] == requests
    assert max(booked_keys(multivers).values()) == 1


def test_a_short_pause_leaves_the_run_to_the_task_that_comes_back(connected, multivers):
    from django.utils import timezone

    from runs.services.export import EngineConfig, _run_pause, _run_start

    run = run_create(integration=connected, trigger=Trigger.INTAKE, lines=batch(1, 0))
    Run.objects.filter(pk=run.pk).update(status=RunStatus.RUNNING, heartbeat_at=timezone.now())
    run.refresh_from_db()

    # A line released by a stop: due at once, so the pause is short.
    assert _run_pause(run) == 0.5
    run.refresh_from_db()
    assert run.heartbeat_at is None
    assert _run_start(run.pk, EngineConfig.from_settings()) is not None


def test_a_later_success_resolves_earlier_failures_of_the_record(connected, multivers, eager):
    customer = example_record("customer", 0)
    broken = {k: v for k, v in customer.items() if k != "short_name"}
    first = run_create(
        integration=connected, trigger=Trigger.INTAKE, lines=[line("customer", broken)]
    )
    second = run_create(
        integration=connected, trigger=Trigger.INTAKE, lines=[line("customer", customer)]
    )

    old = first.lines.get()
    assert old.status == LineStatus.FAILED
    assert old.resolved_at is not None
    assert old.resolution == f"Booked in run #{second.number}"
    assert not old.is_open_failure


def test_a_line_left_delivering_is_looked_up_before_it_is_offered_again(
    connected, multivers, eager, settings
):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    from portal.celery import app

    app.conf.task_always_eager = False
    run = run_create(integration=connected, trigger=Trigger.INTAKE, lines=batch(2, 2))
    app.conf.task_always_eager = True
    # A worker booked both customers, then died before it could write it down.
    run_execute(run_id=run.pk)
    assert len(multivers.ledger()) == 4
    run.lines.filter(kind="customer").update(
        status=LineStatus.DELIVERING, external_id="", lease_until="2000-01-01T00:00:00Z", attempts=1
    )
    Run.objects.filter(pk=run.pk).update(
        status=RunStatus.RUNNING, finished_at=None, heartbeat_at="2000-01-01T00:00:00Z"
    )

    assert runs_sweep() == 1

    run.refresh_from_db()
    assert run.status == RunStatus.FINISHED and run.succeeded == 4
    for customer in run.lines.filter(kind="customer"):
        assert customer.status == LineStatus.SUCCEEDED
        assert customer.external_id == customer.identifier
        assert "interrupted offer" in customer.message
    assert len(multivers.ledger()) == 4


def test_a_connection_dropped_after_booking_books_once(connected, multivers, eager):
    multivers.set_faults(drop_after_book_rate=0.5, seed=3)
    run = run_create(integration=connected, trigger=Trigger.INTAKE, lines=batch(10, 10))

    run.refresh_from_db()
    assert run.status == RunStatus.FINISHED
    assert run.succeeded == 20, list(
        run.lines.exclude(status="succeeded").values("identifier", "message")
    )
    assert max(booked_keys(multivers).values()) == 1
    assert DeliveryAttempt.objects.filter(outcome=DeliveryAttempt.Outcome.IN_DOUBT).exists()


def test_transient_faults_are_retried_until_the_line_is_booked(connected, multivers, eager):
    multivers.set_faults(error_rate=0.2, burst_429=3, seed=5)
    run = run_create(integration=connected, trigger=Trigger.INTAKE, lines=batch(10, 10))

    run.refresh_from_db()
    assert run.status == RunStatus.FINISHED
    assert run.succeeded == 20, list(
        run.lines.exclude(status="succeeded").values("identifier", "message")
    )
    assert max(booked_keys(multivers).values()) == 1
    assert DeliveryAttempt.objects.filter(outcome=DeliveryAttempt.Outcome.TRANSIENT).exists()
    assert RunLine.objects.filter(attempts__gt=1).exists()


def test_a_package_that_stays_down_fails_the_line_as_unavailable(
    connected, multivers, eager, settings
):
    settings.RUN_MAX_ATTEMPTS = 3
    settings.CIRCUIT_FAILURES = 1000
    multivers.set_faults(error_rate=1.0)
    run = run_create(integration=connected, trigger=Trigger.INTAKE, lines=batch(1, 0))

    failed = run.lines.get()
    assert failed.status == LineStatus.FAILED
    assert failed.attempts == 3
    assert failed.message.startswith("Multivers Online was unavailable (HTTP 50")
    assert failed.message.endswith("the data was not refused. Re-offer it later.")


def test_refused_credentials_stop_the_run_and_resume_books_the_rest_once(
    connected, multivers, eager
):
    multivers.set_faults(revoke_tokens=True)
    run = run_create(integration=connected, trigger=Trigger.INTAKE, lines=batch(3, 3))

    run.refresh_from_db()
    assert run.status == RunStatus.FAILED
    assert "Multivers Online refused the login" in run.error
    assert run.lines.filter(status=LineStatus.PENDING).count() == 6
    connected.refresh_from_db()
    assert connected.connection_error

    connect(connected, multivers)
    run_resume(run=run)

    run.refresh_from_db()
    assert run.status == RunStatus.FINISHED and run.succeeded == 6
    assert max(booked_keys(multivers).values()) == 1


def test_one_run_at_a_time_per_integration(connected, multivers, eager):
    from django.utils import timezone

    blocker = run_create(integration=connected, trigger=Trigger.INTAKE, lines=[])
    Run.objects.filter(pk=blocker.pk).update(status=RunStatus.RUNNING, heartbeat_at=timezone.now())
    waiting = run_create(integration=connected, trigger=Trigger.INTAKE, lines=batch(1, 0))

    waiting.refresh_from_db()
    assert waiting.status == RunStatus.QUEUED
    assert multivers.ledger() == []


def test_it_refuses_to_execute_for_a_disabled_integration(connected, multivers, eager):
    connected.enabled = False
    connected.save()
    run = run_create(integration=connected, trigger=Trigger.INTAKE, lines=batch(1, 0))

    run.refresh_from_db()
    assert run.status == RunStatus.FAILED
    assert "disabled" in run.error
    assert multivers.ledger() == []


# --- in doubt: only a look-up that answers clears it -------------------------------------


def posts_per_key(sim) -> Counter:
    """Every create the package saw per record: bookings plus refused duplicates.

    With ``accept_duplicates`` the package books a second copy (real Exact does);
    either way a count above one is a POST of a record that was already booked.
    """
    keys = booked_keys(sim)
    keys.update((b["entity"], b["key"]) for b in sim.refused_duplicates())
    return keys


def test_a_failing_look_up_keeps_the_line_in_doubt_and_nothing_is_posted_twice(
    connected, multivers, eager
):
    multivers.set_faults(
        drop_after_book_rate=0.3, get_error_rate=0.5, accept_duplicates=True, seed=9
    )
    run = run_create(integration=connected, trigger=Trigger.INTAKE, lines=batch(15, 15))

    run.refresh_from_db()
    assert run.status == RunStatus.FINISHED
    assert max(posts_per_key(multivers).values()) == 1
    assert not run.lines.filter(status=LineStatus.FAILED).exists()
    # Lines whose look-ups never answered are in doubt, not failed; all others booked.
    assert run.succeeded + run.in_doubt == 30
    assert DeliveryAttempt.objects.filter(outcome=DeliveryAttempt.Outcome.IN_DOUBT).exists()


def test_a_line_out_of_tries_while_in_doubt_ends_in_doubt_not_failed(
    connected, multivers, eager, settings
):
    settings.RUN_MAX_ATTEMPTS = 3
    settings.CIRCUIT_FAILURES = 1000
    multivers.set_faults(drop_after_book_rate=1.0, get_error_rate=1.0, accept_duplicates=True)
    run = run_create(integration=connected, trigger=Trigger.INTAKE, lines=batch(1, 0))

    doubtful = run.lines.get()
    assert doubtful.status == LineStatus.IN_DOUBT
    assert doubtful.message.startswith("In doubt — check in Multivers Online")
    assert "before the tries ran out" in doubtful.message
    assert sum(posts_per_key(multivers).values()) == 1
    run.refresh_from_db()
    assert run.status == RunStatus.FINISHED and (run.in_doubt, run.failed) == (1, 0)


def test_a_429_is_not_now_and_spends_no_attempt(connected, multivers, eager, settings):
    settings.RUN_MAX_ATTEMPTS = 1
    multivers.set_faults(burst_429=4)
    run = run_create(integration=connected, trigger=Trigger.INTAKE, lines=batch(3, 0))

    run.refresh_from_db()
    assert (run.succeeded, run.failed) == (3, 0)
    assert multivers.stats()["sent_429"] >= 4


def test_a_kind_without_a_documented_look_up_waits_for_a_person(
    connected, multivers, eager, monkeypatch, editor
):
    from integrations.connectors.multivers.connector import MultiversConnector
    from runs.services.in_doubt import line_mark_booked, line_offer_again

    monkeypatch.setattr(MultiversConnector, "findable", frozenset({"customer", "supplier"}))
    multivers.set_faults(drop_after_book_rate=1.0, accept_duplicates=True)
    entries = [line("journal_entry", example_record("journal_entry", n)) for n in range(2)]
    run = run_create(integration=connected, trigger=Trigger.INTAKE, lines=entries)

    run.refresh_from_db()
    assert run.status == RunStatus.FINISHED and run.in_doubt == 2
    first, second = run.lines.order_by("position")
    assert first.status == second.status == LineStatus.IN_DOUBT
    assert first.message.startswith("In doubt — check in Multivers Online")
    assert len(multivers.ledger()) == 2  # booked once each, never posted again

    line_mark_booked(line=first, user=editor, external_id=" 4711 ")
    assert (first.status, first.external_id) == (LineStatus.SUCCEEDED, "4711")
    edit = first.edits.get()
    assert (edit.action, edit.new_value, edit.user) == ("mark_booked", "4711", editor)

    multivers.set_faults(drop_after_book_rate=0.0)
    tries_before = second.delivery_attempts.count()
    line_offer_again(line=second, user=editor)
    second.refresh_from_db()
    run.refresh_from_db()
    assert second.edits.get().action == "offer_again"
    # The run was reopened and offered it once more (the person said it was not there;
    # the package books it, or answers it has it already).
    assert second.delivery_attempts.count() == tries_before + 1
    assert second.status in (LineStatus.SUCCEEDED, LineStatus.SKIPPED)
    assert (run.status, run.in_doubt, run.failed) == (RunStatus.FINISHED, 0, 0)


def test_unreachable_shared_state_holds_lines_without_failing_them(
    connected, multivers, eager, settings
):
    from integrations import limits
    from portal.celery import app

    app.conf.task_always_eager = False
    settings.REDIS_URL = "redis://127.0.0.1:16419/0"  # nothing listens there
    limits._redis.cache_clear()
    before = multivers.stats()["requests"]
    try:
        run = run_create(integration=connected, trigger=Trigger.INTAKE, lines=batch(3, 0))
        run_execute(run_id=run.pk)
    finally:
        settings.REDIS_URL = ""
        limits._redis.cache_clear()
        limits._local_pacers.clear()
        limits._free_gates.clear()
        app.conf.task_always_eager = True

    run.refresh_from_db()
    assert multivers.stats()["requests"] == before
    assert not run.lines.exclude(status=LineStatus.PENDING).exists()
    assert all(line.attempts == 0 for line in run.lines.all())
    assert run.paused_reason.startswith("Shared state unavailable")
    assert runs_sweep() == 0  # it waits for its own wake-up, not re-queued every sweep

    run_execute(run_id=run.pk)
    run.refresh_from_db()
    assert (run.status, run.succeeded, run.paused_reason) == (RunStatus.FINISHED, 3, "")
