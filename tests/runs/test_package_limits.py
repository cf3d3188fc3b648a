"""The packages' real limits, end to end: a real worker against the simulators' enforcement.

They run against the simulators' enforcement (``state_dir``/``port``, Exact's error
block, token cadence and daily cap, as docs/connectors.md describes them). Numbers are
shortened where the issues allow: the hour of Exact's error window and its day are
seconds here.
"""

from __future__ import annotations

import time
from collections import Counter
from itertools import pairwise
from urllib.parse import urlsplit

import pytest

from integrations.canonical import identifier_of
from integrations.simulators.testing import run_simulator
from runs.models import LineStatus, RunStatus, Trigger
from runs.services.runs import NewLine, run_create
from tests.runs.conftest import connect, record
from tests.runs.test_worker import lines, wait_for

pytestmark = [pytest.mark.worker, pytest.mark.timeout(300)]

EXACT_SETTINGS = {
    "division": 123456,
    "sales_journal": "70",
    "purchase_journal": "60",
    "general_journal": "90",
}


def _exact(integration, sim):
    integration.connector = "exact"
    integration.settings = EXACT_SETTINGS
    integration.save()
    return connect(integration, sim)


def _sales_entries(count: int, bad: int) -> list[NewLine]:
    """``count`` sales entries (and their customers), the last ``bad`` refused by Exact."""
    made = []
    for n in range(count):  # sales entry n names customer n
        customer = record("customer", n, "exact")
        made.append(NewLine("customer", identifier_of("customer", customer), customer))
    for n, entry in enumerate(record("sales_invoice", n, "exact") for n in range(count)):
        if n >= count - bad:
            entry["lines"][0]["gl_account"] = "9999"  # "Not found: Account"
        made.append(NewLine("sales_invoice", identifier_of("sales_invoice", entry), entry))
    return made


def test_a_package_down_for_a_minute_keeps_its_books_and_the_run_resumes(
    worker_factory, integration, tmp_path
):
    state = tmp_path / "multivers-state"
    with run_simulator("multivers", seed=7, state_dir=state) as sim:
        port = urlsplit(sim.root_url).port
        connected = connect(integration, sim)
        sim.set_faults(latency_ms=10, accept_duplicates=True)
        worker = worker_factory("prefork")
        run = run_create(integration=connected, trigger=Trigger.INTAKE, lines=lines(800))
        wait_for(run, lambda r: r.succeeded >= 100, timeout=60, worker=worker, sweep=False)
    time.sleep(60)  # the package is down; the run waits or stops resumable
    run.refresh_from_db()
    assert not run.lines.filter(status=LineStatus.FAILED).exists()
    with run_simulator("multivers", seed=7, state_dir=state, port=port) as sim:
        sim.set_faults(accept_duplicates=True)
        if run.status == RunStatus.FAILED:
            from runs.services.export import run_resume

            run_resume(run=run)
        run = wait_for(run, lambda r: r.status == RunStatus.FINISHED, timeout=180, worker=worker)
        creates = Counter((b["entity"], b["key"]) for b in sim.ledger() if not b.get("update"))
        assert max(creates.values()) == 1
        assert (run.succeeded, run.failed) == (800, 0)


def test_25_entries_of_which_15_are_bad_never_get_the_app_blocked(worker_factory, integration):
    with run_simulator("exact", seed=7, error_limit=10, error_window_seconds=20) as sim:
        connected = _exact(integration, sim)
        worker = worker_factory("prefork")
        batch = _sales_entries(25, bad=15)
        run = run_create(integration=connected, trigger=Trigger.INTAKE, lines=batch)

        run = wait_for(run, lambda r: r.status == RunStatus.FINISHED, timeout=180, worker=worker)
        entries = run.lines.filter(kind="sales_invoice")
        assert entries.filter(status=LineStatus.SUCCEEDED).count() == 10
        assert entries.filter(status=LineStatus.FAILED).count() == 15
        assert sim.stats()["error_blocks"] == 0
        # 8 errors fill the engine's budget: the other bad entries were held until the
        # (20 s) window let them go, each then offered once.
        assert (run.finished_at - run.started_at).total_seconds() >= 19
        assert set(entries.filter(status=LineStatus.FAILED).values_list("attempts", flat=True)) == {
            1
        }


def test_several_workers_never_renew_a_token_sooner_than_exact_allows(worker_factory, integration):
    with run_simulator(
        "exact",
        seed=7,
        token_ttl=6,
        token_min_interval=4,
        latency_ms=20,
        rate_limit_per_minute=None,
    ) as sim:
        connected = _exact(integration, sim)
        # The engine keeps the shortened cadence too, and Exact's 60 calls a minute are
        # lifted on both sides (600 lines would take ten minutes).
        shortened = {"exact": {"token_min_interval": 4, "rate_limit": [6000, 60]}}
        workers = [worker_factory("prefork", connector_limits=shortened) for _ in range(2)]
        run = run_create(integration=connected, trigger=Trigger.INTAKE, lines=lines(600))
        started = time.monotonic()
        run = wait_for(
            run, lambda r: r.status == RunStatus.FINISHED, timeout=240, worker=workers[0]
        )
        elapsed = time.monotonic() - started
        assert (run.succeeded, run.failed) == (600, 0)
        stats = sim.stats()
        # The run outlived several tokens, so renewal was exercised, never refused as early,
        # and no two grants of the link came closer than the (shortened) 570 s.
        assert elapsed > 6 and stats["token_calls"] >= 2
        assert stats["token_refusals"] == {}
        for times in stats["token_grants"]:
            gaps = [later - earlier for earlier, later in pairwise(times)]
            assert min(gaps, default=4) >= 4


def test_a_run_bigger_than_the_day_pauses_with_its_reason_and_completes_after_midnight(
    worker_factory, integration
):
    # 6,000 lines against 5,000 calls a day, shortened: 600 lines, 500 calls, a 30 s day
    # (and no minute limit, which would stretch 600 lines over ten minutes).
    with run_simulator(
        "exact", seed=7, rate_limit_per_day=500, day_seconds=30, rate_limit_per_minute=None
    ) as sim:
        connected = _exact(integration, sim)
        worker = worker_factory("prefork", connector_limits={"exact": {"rate_limit": [6000, 60]}})
        run = run_create(integration=connected, trigger=Trigger.INTAKE, lines=lines(600))
        run = wait_for(run, lambda r: bool(r.paused_reason), timeout=120, worker=worker)
        assert "daily limit is used up; continues after" in run.paused_reason
        assert not run.lines.filter(status=LineStatus.FAILED).exists()
        run = wait_for(run, lambda r: r.status == RunStatus.FINISHED, timeout=180, worker=worker)
        assert (run.succeeded, run.failed) == (600, 0)
        creates = Counter((b["entity"], b["key"]) for b in sim.ledger() if not b.get("update"))
        assert len(creates) == 600 and max(creates.values()) == 1


def test_a_second_run_asks_exact_for_no_code_the_first_one_looked_up(
    integration, eager, shared_state
):
    """Exact allows 5,000 calls a day: the GUIDs of codes are shared between runs (and
    the slices and workers of one), not looked up again by each."""
    with run_simulator("exact", seed=7) as sim:
        connected = _exact(integration, sim)
        first = run_create(
            integration=connected, trigger=Trigger.INTAKE, lines=_sales_entries(3, bad=0)
        )
        again = []
        for n in range(3):  # new invoices for the same customers
            entry = record("sales_invoice", n + 3, "exact")
            entry["relation_code"] = record("sales_invoice", n, "exact")["relation_code"]
            again.append(NewLine("sales_invoice", identifier_of("sales_invoice", entry), entry))
        second = run_create(integration=connected, trigger=Trigger.INTAKE, lines=again)

    def look_ups(run):
        return [
            exchange["url"]
            for line in run.lines.all()
            for attempt in line.delivery_attempts.all()
            for exchange in attempt.exchanges
            if exchange["method"] == "GET"
            and ("crm/Accounts" in exchange["url"] or "GLAccounts" in exchange["url"])
        ]

    for run in (first, second):
        run.refresh_from_db()
        assert run.status == RunStatus.FINISHED and run.succeeded == run.total, lines(run)
    assert look_ups(first)
    assert look_ups(second) == []
