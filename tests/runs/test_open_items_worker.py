"""An open items import beside an export, on a real worker, under Exact's rate limit."""

from __future__ import annotations

import pytest

from integrations.canonical import identifier_of
from integrations.simulators.testing import run_simulator
from runs.models import RunStatus, Trigger
from runs.services.open_items import open_items_import_start
from runs.services.runs import NewLine, run_create
from tests.runs.conftest import record
from tests.runs.test_package_limits import _exact
from tests.runs.test_worker import wait_for

pytestmark = [pytest.mark.worker, pytest.mark.timeout(300)]

# Exact's 60 calls a minute, quickened four times on both sides so the test takes seconds.
PER_MINUTE = 240


def invoices(numbers: range) -> list[NewLine]:
    made = []
    for kind in ("customer", "sales_invoice"):
        for n in numbers:
            data = record(kind, n, "exact")
            made.append(NewLine(kind, identifier_of(kind, data), data))
    return made


def finished(run) -> bool:
    return run.status in (RunStatus.FINISHED, RunStatus.FAILED)


def test_an_import_beside_an_export_shares_the_rate_limit_without_a_429(
    worker_factory, integration
):
    with run_simulator("exact", seed=7, rate_limit_per_minute=PER_MINUTE, list_page_size=1) as sim:
        connected = _exact(integration, sim)
        worker = worker_factory(
            "prefork", connector_limits={"exact": {"rate_limit": [PER_MINUTE, 60]}}
        )
        earlier = run_create(
            integration=connected, trigger=Trigger.INTAKE, lines=invoices(range(6))
        )
        wait_for(earlier, finished, timeout=120, worker=worker)

        export = run_create(
            integration=connected, trigger=Trigger.INTAKE, lines=invoices(range(6, 14))
        )
        fetch = open_items_import_start(integration=connected, trigger=Trigger.MANUAL)
        assert fetch is not None
        export = wait_for(export, finished, timeout=180, worker=worker)
        fetch = wait_for(fetch, finished, timeout=180, worker=worker, sweep=False)
        stats = sim.stats()

    assert (export.status, export.succeeded) == (RunStatus.FINISHED, 16), export.error
    assert fetch.status == RunStatus.FINISHED, fetch.error
    # A page a call: at least the six entries booked before, one page each.
    assert fetch.items_read >= 6
    # They ran side by side: neither waited for the other to end.
    assert fetch.started_at < export.finished_at and export.started_at < fetch.finished_at
    assert stats["sent_429"] == 0
