"""The limiter of a connector that declares no rate: no pacer round trip per call, pauses shared."""

from __future__ import annotations

import time

import pytest

from runs.services import limits
from runs.services.limits import FREE_RECHECK_SECONDS, RateLimitWait, limiter_for

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
