"""The limiter of a connector that declares no rate: no pacer round trip per call, pauses shared."""

from __future__ import annotations

import time

import pytest

from integrations import limits
from integrations.canonical import identifier_of
from integrations.connectors.base import ErrorBudget
from integrations.connectors.multivers.connector import MultiversConnector
from integrations.limits import FREE_RECHECK_SECONDS, RateLimitWait, limiter_for
from runs.models import DeliveryAttempt, LineStatus, RunLine, RunStatus, Trigger
from runs.services.export import run_execute
from runs.services.runs import NewLine, run_create
from tests.runs.conftest import record as example_record

pytestmark = pytest.mark.usefixtures("shared_state")


@pytest.fixture
def integration_id():
    # One the other tests do not use; the pacer's state is keyed by it.
    limits._free_gates.pop("portal:ratelimit:987654", None)
    return 987654


@pytest.fixture
def admits(monkeypatch):
    """Count the calls that went through the pacer."""
    calls = []
    for pacer_class in (limits._LocalPacer, limits._RedisPacer):
        original = pacer_class.admit

        def counted(self, base_interval, original=original):
            calls.append(base_interval)
            return original(self, base_interval)

        monkeypatch.setattr(pacer_class, "admit", counted)
    return calls


def test_without_a_declared_rate_calls_go_without_asking_the_pacer(integration_id, admits):
    limiter = limiter_for(integration_id, None)

    for _ in range(50):
        limiter.acquire()

    assert admits == []


def test_a_pause_of_this_worker_holds_every_call_at_once(integration_id, admits, settings):
    settings.LIMITER_MAX_WAIT_SECONDS = 1
    engine, client = limiter_for(integration_id, None), limiter_for(integration_id, None)
    client.acquire()

    engine.pause(60)  # a 429 seen by one thread, through another limiter of the process

    with pytest.raises(RateLimitWait):
        client.acquire()


def test_a_pause_of_another_worker_holds_calls_within_the_recheck(integration_id, settings):
    settings.LIMITER_MAX_WAIT_SECONDS = 1
    limiter = limiter_for(integration_id, None)
    limiter.acquire()

    # Stored straight into the shared state, as another worker process would.
    limits._pacer(f"portal:ratelimit:{integration_id}").observe(0, time.time() + 60, 0)
    time.sleep(FREE_RECHECK_SECONDS + 0.05)

    with pytest.raises(RateLimitWait):
        limiter.acquire()


def test_when_the_pause_is_over_calls_go_free_again(integration_id, admits):
    limiter = limiter_for(integration_id, None)
    limiter.pause(0.3)

    started = time.monotonic()
    limiter.acquire()  # waits out the pause through the pacer
    assert time.monotonic() - started >= 0.25
    time.sleep(FREE_RECHECK_SECONDS + 0.05)
    count = len(admits)
    for _ in range(20):
        limiter.acquire()

    assert len(admits) == count


# --- the package's error limit and daily cap, as the engine keeps them -------------------


def _error_times(run) -> list[float]:
    """When each of the package's 400 answers of the run came, from the stored attempts."""
    times = []
    for attempt in DeliveryAttempt.objects.filter(line__run=run):
        for exchange in attempt.exchanges:
            if exchange.get("status") == 400:
                times.append(float(exchange["started_at"]))
    return sorted(times)


def test_the_error_budget_holds_an_endpoint_before_the_package_would_block_it(
    connected, multivers, eager, monkeypatch
):
    # Multivers declares no error limit; give it Exact's kind, shortened to seconds.
    budget = ErrorBudget(limit=4, per_seconds=2.0, statuses=frozenset({400}), stop_at=3)
    monkeypatch.setattr(MultiversConnector, "error_budget", budget)
    bad = []
    for n in range(6):
        customer = example_record("customer", n)
        del customer["short_name"]
        bad.append(
            NewLine(
                kind="customer", identifier=identifier_of("customer", customer), payload=customer
            )
        )
    good = [
        NewLine(kind="customer", identifier=identifier_of("customer", data), payload=data)
        for data in (example_record("customer", n) for n in range(6, 10))
    ]
    run = run_create(integration=connected, trigger=Trigger.INTAKE, lines=bad + good)

    run.refresh_from_db()
    assert run.status == RunStatus.FINISHED
    assert (run.succeeded, run.failed) == (4, 6)
    errors = _error_times(run)
    assert len(errors) == 6
    # Never more than stop_at errors in any window: the package's limit is never reached.
    for i, start in enumerate(errors):
        assert sum(1 for at in errors[i:] if at < start + budget.per_seconds) <= budget.stop_at
    held = [
        a.message
        for a in DeliveryAttempt.objects.filter(line__run=run)
        if "error limit" in a.message
    ]
    assert not held  # a hold is no attempt
    assert RunLine.objects.filter(run=run, status=LineStatus.FAILED, attempts=1).count() == 6


def test_a_used_up_day_pauses_the_run_with_its_reason_and_costs_no_attempt(
    connected, multivers, monkeypatch
):
    reset_at = time.time() + 3600
    headers_seen = []

    def daily_limit_state(self, response):
        headers_seen.append(response.status_code)
        return (0, reset_at) if len(headers_seen) >= 2 else (5, reset_at)

    monkeypatch.setattr(MultiversConnector, "daily_limit_state", daily_limit_state)
    lines = [
        NewLine(kind="customer", identifier=identifier_of("customer", data), payload=data)
        for data in (example_record("customer", n) for n in range(20))
    ]
    run = run_create(integration=connected, trigger=Trigger.INTAKE, lines=lines)
    run_execute(run_id=run.pk)

    run.refresh_from_db()
    assert run.status == RunStatus.RUNNING and run.failed == 0
    assert run.paused_reason.startswith(
        "Multivers Online's daily limit is used up; continues after"
    )
    assert run.paused_until is not None and run.paused_until.timestamp() >= reset_at
    waiting = run.lines.filter(status=LineStatus.PENDING)
    assert waiting.exists() and all(line.attempts == 0 for line in waiting)
    assert len(multivers.ledger()) < 20


def test_tokens_are_renewed_no_more_often_than_the_package_allows(
    connected, multivers, eager, monkeypatch, fast_engine
):
    # Exact allows a new token every 570 s of its 600; here 2 s of 3, at 8 threads.
    monkeypatch.setattr(MultiversConnector, "token_min_interval", 2.0)
    multivers.set_faults(token_ttl=3, latency_ms=100)
    lines = [
        NewLine(kind="customer", identifier=identifier_of("customer", data), payload=data)
        for data in (example_record("customer", n) for n in range(240))
    ]
    started = time.monotonic()
    run = run_create(integration=connected, trigger=Trigger.INTAKE, lines=lines)
    elapsed = time.monotonic() - started

    run.refresh_from_db()
    assert (run.status, run.succeeded, run.failed) == (RunStatus.FINISHED, 240, 0)
    token_calls = multivers.stats()["token_calls"]
    assert elapsed > 2.5  # long enough for the interval to matter
    assert 1 <= token_calls <= elapsed / 2.0 + 1
