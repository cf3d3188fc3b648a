"""The consultant's desk in Chromium: overview → company → a reason group → set one field
on all its lines → Retry → the new run succeeds; every page audited by axe-core, in
English and in Dutch. And the seed flow done with the keyboard alone.

Also takes the desk's screenshots in docs/screenshots (``bin/screenshots``).
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

import pytest

from integrations.canonical import identifier_of
from runs.models import LineStatus, Run, RunStatus
from runs.services.runs import NewLine, run_create
from tests.browser.axe import audit
from tests.browser.conftest import wait_for_run
from tests.conftest import PASSWORD
from tests.runs.conftest import record

pytestmark = pytest.mark.browser

INVOICES = 40


def _batch() -> list[NewLine]:
    """Forty customers, and their invoices with VAT codes Multivers lacks (70 … 74)."""
    lines = []
    for n in range(INVOICES):
        customer = record("customer", n)
        lines.append(NewLine("customer", identifier_of("customer", customer), customer))
    for n in range(INVOICES):
        invoice = record("sales_invoice", n)
        invoice["lines"][0]["vat_code"] = str(70 + n % 5)
        lines.append(NewLine("sales_invoice", identifier_of("sales_invoice", invoice), invoice))
    return lines


@pytest.fixture
def desk_run(live_server, consultant, connected, other_integration, worker_factory) -> Run:
    worker = worker_factory("solo")
    run = wait_for_run(run_create(integration=connected, trigger="intake", lines=_batch()), worker)
    assert (run.status, run.succeeded, run.failed) == (RunStatus.FINISHED, INVOICES, INVOICES)
    return run


def _log_in(page: Any, expect: Any, url: str, username: str) -> None:
    page.goto(f"{url}/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def test_a_consultant_fixes_a_reason_group_from_the_overview(
    page, screens, live_server, desk_run, multivers
):
    from playwright.sync_api import expect

    url = live_server.url
    page.goto(f"{url}/")
    audit(page)
    _log_in(page, expect, url, "consultant")

    # The overview: both companies; De Vries needs attention with its 40 open lines.
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    row = page.locator(f"#integration-{desk_run.integration_id}")
    expect(row).to_contain_text("Needs attention")
    expect(row.locator(".count-failed")).to_have_text("40 open")
    expect(page.locator("tbody tr")).to_have_count(2)
    audit(page)
    screens.shot("10-overview")

    page.get_by_role("link", name="My company").click()
    expect(page.get_by_role("link", name="Integrations of Bakkerij De Vries BV")).to_be_visible()
    audit(page)
    page.go_back()

    # Open failures, grouped by reason: one group of 40, with the catalogue's explanation.
    row.locator(".count-failed").click()
    expect(page.get_by_role("heading", name="Open failed lines by reason")).to_be_visible()
    group_link = page.get_by_role("link", name="Btwcode '…' bestaat niet.")
    expect(page.locator(".reason-groups tbody tr")).to_have_count(1)
    expect(page.locator(".reason-groups")).to_contain_text("does not exist in the Multivers")
    audit(page)
    group_link.click()

    # The group: a line's page shows the explanation under the red reason.
    expect(page.get_by_role("heading", name="Failed lines with one reason")).to_be_visible()
    audit(page)
    page.get_by_role("link", name="VF2025-000001", exact=True).click()
    expect(page.locator(".known-message")).to_contain_text("What to do:")
    audit(page)
    page.go_back()

    # In Dutch from here: the group, the fix, Retry and the new run.
    page.get_by_role("button", name="Nederlands").click()
    expect(page.get_by_role("heading", name="Mislukte regels met één oorzaak")).to_be_visible()
    audit(page)
    expect(page.get_by_label("Veld", exact=True)).to_have_value("lines.*.vat_code")
    page.get_by_label("Nieuwe waarde").fill("2")
    screens.shot("11-reason-group")
    page.get_by_role("button", name="Invullen op alle 40 regels").click()

    # Back on the group with the warning focused, its Retry next.
    ready = page.locator("#changes-ready")
    expect(ready).to_contain_text("40 regels van deze groep hebben wijzigingen klaar")
    expect(ready).to_be_focused()
    audit(page)
    ready.get_by_role("button", name="Opnieuw proberen").click()

    expect(page.get_by_role("heading", name=re.compile(r"Run #2"))).to_be_visible()
    expect(page.locator("h1 .status")).to_have_text("Gelukt", timeout=60_000)
    audit(page)
    new = Run.objects.get(integration=desk_run.integration, number=2)
    assert (new.status, new.succeeded, new.failed) == (RunStatus.FINISHED, INVOICES, 0)
    invoices = Counter(
        b["key"] for b in multivers.ledger() if not b.get("update") and b["entity"] != "Customer"
    )
    assert len(invoices) == INVOICES and set(invoices.values()) == {1}, invoices
    assert not desk_run.lines.filter(status=LineStatus.FAILED, reoffered_in__isnull=True).exists()

    page.get_by_role("link", name="Overzicht").click()
    expect(page.get_by_role("heading", name="Overzicht")).to_be_visible()
    audit(page)
    page.get_by_role("button", name="English").click()
    expect(page.locator(f"#integration-{desk_run.integration_id}")).not_to_contain_text(
        "Needs attention"
    )
    screens.assert_clean()


def _tab_to(page: Any, name: str, limit: int = 80) -> None:
    """Press Tab until the focused element's text or label is ``name``; fail if never."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = page.evaluate(
            "() => { const e = document.activeElement; return (e.getAttribute('aria-label') "
            "|| (e.labels && e.labels[0] && e.labels[0].textContent) || e.textContent || '')"
            ".trim(); }"
        )
        if focused == name:
            return
    pytest.fail(f"Tab never reached {name!r} on {page.url}")


def _tab_to_field(page: Any, selector: str, limit: int = 80) -> None:
    """Press Tab until the element matching ``selector`` has the focus."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("s => document.activeElement.matches(s)", selector):
            return
    pytest.fail(f"Tab never reached {selector} on {page.url}")


def test_the_seed_flow_can_be_done_with_the_keyboard_alone(page, live_server, seed, multivers):
    from playwright.sync_api import expect

    url = live_server.url
    customer = seed.run.lines.get(status=LineStatus.FAILED, kind="customer")
    page.goto(f"{url}/")
    _tab_to(page, "Username")
    page.keyboard.type(seed.username)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")

    # A member of two companies lands on the overview; My company then Integrations.
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    _tab_to(page, "My company")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="My company")).to_be_visible()
    _tab_to(page, "Integrations of Bakkerij De Vries BV")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Integrations")).to_be_visible()
    _tab_to(page, "History")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="History")).to_be_visible()
    _tab_to(page, page.locator("#run-1 td").first.inner_text().strip())
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name=re.compile(r"Run #1"))).to_be_visible()
    _tab_to(page, customer.identifier)
    page.keyboard.press("Enter")
    expect(page.locator("#f-short_name")).to_be_visible()
    page.wait_for_load_state("load")

    # The line: the short name, Re-offer (space), Save (enter).
    _tab_to_field(page, "#f-short_name")
    page.keyboard.type("DEVRIES2")
    _tab_to_field(page, "#f-reoffer")
    page.keyboard.press("Space")
    _tab_to(page, "Save")
    page.keyboard.press("Enter")

    # Focus is on the warning that changes are ready; the next Tab is its Retry.
    ready = page.locator("#changes-ready")
    expect(ready).to_be_focused()
    page.keyboard.press("Tab")
    expect(ready.get_by_role("button", name="Retry")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name=re.compile(r"Run #2"))).to_be_visible()
    new = Run.objects.get(integration=seed.run.integration, number=2)
    assert new.retry_of_id == seed.run.pk and new.total == 1


def test_an_editor_settles_a_line_in_doubt_from_the_integrations_page(
    page, screens, live_server, editor, connected, multivers, worker_factory
):
    """The package booked a journal entry and the answer was lost; Multivers documents no
    way to find a journal entry, so it waits in doubt. Integrations → its count → Open
    failed lines → the line → Mark as booked, with the id found in the package."""
    from playwright.sync_api import expect

    multivers.set_faults(drop_after_book_rate=1.0, accept_duplicates=True)
    entry = record("journal_entry", 1)
    identifier = identifier_of("journal_entry", entry)
    worker = worker_factory("solo")
    run = run_create(
        integration=connected,
        trigger="intake",
        lines=[NewLine("journal_entry", identifier, entry)],
    )
    run = wait_for_run(run, worker)
    assert (run.status, run.in_doubt, run.failed) == (RunStatus.FINISHED, 1, 0)

    url = live_server.url
    page.goto(f"{url}/")
    page.get_by_label("Username").fill("editor")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("link", name="My company").click()
    # Nothing failed, yet the run is no success until someone looks in the package.
    connection = page.get_by_role("row", name=re.compile("Accounting link"))
    expect(connection).to_contain_text("Finished, lines in doubt")
    expect(connection.get_by_role("link", name="1 in doubt")).to_be_visible()
    page.get_by_role("link", name="Integrations of Bakkerij De Vries BV").click()

    expect(page.get_by_role("heading", name="Integrations")).to_be_visible()
    page.get_by_role("link", name="1 line in doubt").click()
    expect(page.get_by_role("heading", name="1 line in doubt: booked or not?")).to_be_visible()
    expect(page.get_by_text("0 failed lines are still open")).to_be_visible()
    screens.shot("12-open-lines-in-doubt")

    page.get_by_role("link", name=identifier).click()
    expect(page.get_by_role("heading", name="In doubt — check in Multivers Online")).to_be_visible()
    page.get_by_label("Id in the package").fill("4711")
    page.get_by_role("button", name="Mark as booked").click()
    expect(page.get_by_text("marked as booked.")).to_be_visible()

    line = run.lines.get()
    assert (line.status, line.external_id) == (LineStatus.SUCCEEDED, "4711")
    page.goto(f"{url}/c/de-vries/integrations/{connected.pk}/open/")
    expect(page.get_by_role("heading", name="Open failed lines", exact=True)).to_be_visible()
    expect(page.get_by_text("booked or not?")).to_have_count(0)
    screens.assert_clean()
