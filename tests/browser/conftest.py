"""Fixtures for the browser tests: Debian's Chromium driven by Playwright against the live
portal, a real Celery worker, a package's simulator (Multivers unless a test names another
through ``package``), and a run whose lines failed for real.

Screenshots go to ``$SCREENSHOT_DIR`` (``bin/screenshots`` points it at docs/screenshots),
else to a folder under the test's ``tmp_path``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from integrations.canonical import identifier_of
from integrations.connectors.registry import get_connector_class
from integrations.credentials import connector_for
from integrations.models import Integration
from integrations.oauth import oauth_redirect_uri
from integrations.services import integration_connect
from integrations.simulators.registry import simulator_names
from integrations.simulators.testing import run_simulator
from portal.models import Membership, Role
from runs.models import Run, RunStatus
from tests.browser.axe import audit
from tests.conftest import require_service
from tests.runs import conftest as runs_fixtures
from tests.runs.conftest import Worker, record

# The fixtures of tests/runs that this folder uses too; pytest finds them by these names.
broker_url = runs_fixtures.broker_url
fast_engine = runs_fixtures.fast_engine
multivers = runs_fixtures.multivers
shared_state = runs_fixtures.shared_state
worker_factory = runs_fixtures.worker_factory

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
# Headless as root on a machine with a closed network: no sandbox, no GPU, and none of the
# background connections Chromium would otherwise try (and have refused) at every start.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1280, "height": 800}
RUN_TIMEOUT_SECONDS = 60.0


def _playwright_installed() -> bool:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return False
    return True


@dataclass
class Console:
    """What the pages logged as errors: script errors, failed loads, CSP violations."""

    errors: list[str] = field(default_factory=list)

    def listen(self, page: Any) -> None:
        page.on("console", self._on_console)
        page.on("pageerror", lambda error: self.errors.append(f"{page.url}: uncaught {error}"))

    def _on_console(self, message: Any) -> None:
        if message.type == "error":
            location = message.location.get("url") or "?"
            self.errors.append(f"{location}: {message.text}")


@pytest.fixture
def page(tmp_path, monkeypatch, console) -> Iterator[Any]:
    """A Chromium tab (1280 by 800, English) with a fresh profile, its console watched."""
    require_service(
        "Chromium",
        Path(CHROMIUM).is_file() and _playwright_installed(),
        f"install Debian's chromium (apt-get install chromium) and Playwright (.[dev]), "
        f"or set CHROMIUM_PATH; looked for {CHROMIUM}",
    )
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread, so Django would refuse the
    # test's own ORM calls (SynchronousOnlyOperation) although they are plain blocking ones.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            tmp_path / "chromium-profile",
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport=VIEWPORT,
            locale="en-GB",
            timezone_id="Europe/Amsterdam",
        )
        context.set_default_timeout(10_000)
        tab = context.pages[0] if context.pages else context.new_page()
        console.listen(tab)
        try:
            yield tab
        finally:
            context.close()


class Screens:
    """Takes each screen's picture, after checking the page logged no errors."""

    def __init__(self, page: Any, folder: Path, console: Console) -> None:
        self.page, self.folder, self.console = page, folder, console

    def shot(self, name: str) -> None:
        """Check the page (console, then an axe-core audit), then save it as ``<name>.png``."""
        self.assert_clean()
        audit(self.page)
        self.page.screenshot(path=self.folder / f"{name}.png", full_page=True)

    def assert_clean(self) -> None:
        """No console errors so far (CSP included), and the stylesheet and htmx loaded."""
        # A click may have started the next page: judge it once its deferred scripts ran.
        self.page.wait_for_load_state("load")
        assert not self.console.errors, "The browser console reported errors:\n" + "\n".join(
            self.console.errors
        )
        assert self.page.evaluate("typeof window.htmx") == "object", (
            f"htmx did not load on {self.page.url}"
        )
        display = self.page.evaluate("getComputedStyle(document.querySelector('.topbar')).display")
        assert display not in ("", "inline"), f"portal.css is not applied on {self.page.url}"


@pytest.fixture
def console() -> Console:
    return Console()


@pytest.fixture
def screens(page, console, tmp_path, package) -> Screens:
    # docs/screenshots show Multivers; another package's screens are checked the same way
    # but kept with the test.
    shared = os.environ.get("SCREENSHOT_DIR") if package == "multivers" else None
    folder = Path(shared or tmp_path / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return Screens(page, folder, console)


# --- a run with failed lines, produced by the worker ---------------------------------------


# The run's records: three customers and two invoices, two of them spoiled as the
# package's DemoFaults say (integrations/connectors/<key>/examples.py).
BATCH = (
    ("customer", 0),
    ("customer", 1),
    ("customer", 2),
    ("sales_invoice", 0),
    ("sales_invoice", 1),
)


def faulty_record(package: str, kind: str, n: int) -> dict[str, Any]:
    """Example ``n`` of ``kind`` for ``package``, spoiled when one of its demo faults says so."""
    data = record(kind, n, package)
    for fault in get_connector_class(package).demo_faults:
        if (fault.kind, fault.n) == (kind, n):
            fault.spoil(data)
    return data


def intake_batch(package: str = "multivers") -> list[dict[str, Any]]:
    """Three records the package accepts, and the two its demo faults make it refuse."""
    records = [(kind, faulty_record(package, kind, n)) for kind, n in BATCH]
    return [
        {"kind": kind, "identifier": identifier_of(kind, data), "data": data}
        for kind, data in records
    ]


def wait_for_run(run: Run, worker: Worker, timeout: float = RUN_TIMEOUT_SECONDS) -> Run:
    """Poll the row until the worker finished the run; fail with the worker's log if not."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run.refresh_from_db()
        if run.status in (RunStatus.FINISHED, RunStatus.FAILED):
            return run
        if worker.process is None or worker.process.poll() is not None:
            pytest.fail(f"The Celery worker exited; its log:\n{worker.output()}")
        time.sleep(0.2)
    pytest.fail(
        f"Run #{run.number} is still {run.status} after {timeout:.0f} s; worker log:\n"
        f"{worker.output()}"
    )


# --- the package: Multivers unless the test parametrizes ``package`` ---------------------

# Every registered package that declares the flow's demo faults walks the browser flow.
FLOW_PACKAGES = [key for key in simulator_names() if len(get_connector_class(key).demo_faults) == 2]


@pytest.fixture
def package(request) -> str:
    return getattr(request, "param", "multivers")


@pytest.fixture
def sim(request, package) -> Iterator[Any]:
    """The package's simulator (for Multivers the very one the ``multivers`` fixture gives)."""
    if package == "multivers":
        yield request.getfixturevalue("multivers")
        return
    with run_simulator(package, seed=7) as running:
        yield running


@pytest.fixture
def connected(integration, package, sim, shared_state) -> Integration:
    """The company's integration on ``package``, connected through the simulator's OAuth
    flow exactly as the Connect button does (and as seed_demo does)."""
    integration.connector = package
    integration.settings = dict(get_connector_class(package).demo_settings[0])
    integration.base_url = sim.base_url
    integration.full_clean()
    integration.save()
    redirect_uri = oauth_redirect_uri(integration=integration)
    connector = connector_for(integration)
    answer = httpx.get(connector.authorize_url(redirect_uri=redirect_uri, state="t"), timeout=10)
    code = parse_qs(urlsplit(answer.headers["location"]).query)["code"][0]
    tokens = connector.exchange_code(code=code, redirect_uri=redirect_uri)
    integration_connect(integration=integration, tokens=tokens)
    integration.refresh_from_db()
    return integration


@dataclass(frozen=True)
class Seed:
    run: Run
    worker: Worker
    username: str


@pytest.fixture
def seed(live_server, editor, other_company, connected, worker_factory) -> Seed:
    """An editor of two companies, and run #1 sent through the intake API and delivered by
    a real worker to the simulator: three lines booked, two refused by the package."""
    Membership.objects.create(user=editor, company=other_company, role=Role.EDITOR)
    worker = worker_factory("solo")
    token = connected.issue_intake_token()
    response = httpx.post(
        f"{live_server.url}/api/v1/runs",
        json={"records": intake_batch(connected.connector)},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert response.status_code == 201, response.text
    run = wait_for_run(Run.objects.get(pk=response.json()["id"]), worker)
    assert (run.status, run.succeeded, run.failed) == (RunStatus.FINISHED, 3, 2), list(
        run.lines.values_list("identifier", "status", "message")
    )
    return Seed(run=run, worker=worker, username=editor.get_username())
