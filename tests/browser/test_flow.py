"""The whole flow in Chromium: log in, find the failed run, correct two lines, Retry.

It runs once for every package that declares its two demo faults (``DemoFault`` on the
connector, in ``integrations/connectors/<key>/examples.py``): the records the package
refuses, its message, and the value that fixes each.

One long test on purpose: it is the story the screens tell (docs/desk.md and the README's walk-through), and each step
starts where the previous one left the browser. It also takes the screenshots in
docs/screenshots (``bin/screenshots``).
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

import pytest

from integrations.canonical import identifier_of
from integrations.connectors.registry import get_connector_class
from runs.models import LineStatus, Run, RunStatus, Trigger
from tests.browser.conftest import FLOW_PACKAGES, faulty_record
from tests.conftest import PASSWORD
from tests.integrations.connectors.support import PACKAGES

pytestmark = pytest.mark.browser

# Per request to the simulator while the retry runs: long enough to see the progress poll.
RETRY_LATENCY_MS = 1500


def _open_failed_line(page: Any, expect: Any, identifier: str, reason: str) -> None:
    """From run details to the line's page, whose red line at the top names the reason."""
    page.get_by_role("link", name=identifier, exact=True).click()
    expect(page.locator("p.alert-error[role=alert]").first).to_contain_text(reason)


def _save_for_reoffer(page: Any, selector: str, value: str) -> None:
    page.locator(selector).fill(value)
    page.get_by_label("Re-offer", exact=True).check()
    page.get_by_role("button", name="Save", exact=True).click()


def _at(body: Any, path: tuple[str | int, ...]) -> Any:
    for part in path:
        body = body[part]
    return body


@pytest.mark.parametrize("package", FLOW_PACKAGES, indirect=True)
def test_an_editor_corrects_failed_lines_and_retries_them(
    page, screens, live_server, seed, sim, package
):
    from playwright.sync_api import expect

    connector_class = get_connector_class(package)
    faults = connector_class.demo_faults
    old = seed.run
    failed = [
        old.lines.get(
            status=LineStatus.FAILED,
            kind=fault.kind,
            identifier=identifier_of(fault.kind, faulty_record(package, fault.kind, fault.n)),
        )
        for fault in faults
    ]
    for fault, line in zip(faults, failed, strict=True):
        assert fault.message in line.message, (package, line.message)

    # Log in: a member of two companies lands on the overview, and picks one under My
    # company, which shows its connections and offers Integrations (as the manual says).
    page.goto(f"{live_server.url}/")
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    page.get_by_label("Username").fill(seed.username)
    page.get_by_label("Password").fill(PASSWORD)
    screens.shot("01-login")
    page.get_by_role("button", name="Log in").click()

    expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    page.get_by_role("link", name="My company").click()
    expect(page.get_by_role("heading", name="My company")).to_be_visible()
    screens.shot("02-my-company")
    page.get_by_role("link", name="Integrations of Bakkerij De Vries BV").click()

    # Integrations: the link with its last run and the two open failed lines.
    expect(page.get_by_role("heading", name="Integrations")).to_be_visible()
    card = page.locator("section.card", has_text=f"Accounting link — {connector_class.label}")
    expect(card).to_contain_text("Finished with errors")
    expect(card.locator(".count-failed")).to_have_text("2 open failed lines")
    screens.shot("03-integrations")
    card.get_by_role("link", name="History").click()

    # History: run #1 with its blue date and time.
    expect(page.get_by_role("heading", name="History")).to_be_visible()
    row = page.locator("#run-1")
    expect(row).to_contain_text("Finished with errors")
    screens.shot("04-history")
    row.locator("td").first.get_by_role("link").click()

    # Run details: Show only failed is on by itself, so only the two failed lines show.
    expect(page.get_by_role("heading", name=re.compile(r"Run #1"))).to_be_visible()
    expect(page.get_by_label("Show only failed")).to_be_checked()
    expect(page.locator("#lines tbody tr")).to_have_count(2)
    screens.shot("05-run-details")

    # Line details: the package's reason in red at the top; type the right value (Multivers:
    # the missing short name, then VAT code 2 for the unknown 7), Re-offer, Save.
    banner = page.locator("#retry-banner")
    ready = (
        "1 line has changes ready to be re-offered.",
        "2 lines have changes ready to be re-offered.",
    )
    for number, (fault, line) in enumerate(zip(faults, failed, strict=True)):
        _open_failed_line(page, expect, line.identifier, fault.message)
        if number == 0:
            expect(page.locator(f"#{fault.field_id}")).to_have_attribute("aria-invalid", "true")
            screens.shot("06-line-details")
        _save_for_reoffer(page, f"#{fault.field_id}", fault.good)
        expect(page.get_by_role("heading", name=re.compile(r"Run #1"))).to_be_visible()
        expect(banner).to_contain_text(ready[number])
    screens.shot("07-changes-ready")

    # Retry: run #2 starts; a slow package keeps it going long enough to see the progress
    # bar poll, until the page refreshes itself with the run finished.
    sim.set_faults(latency_ms=RETRY_LATENCY_MS)
    banner.get_by_role("button", name="Retry").click()
    expect(page.get_by_role("heading", name=re.compile(r"Run #2"))).to_be_visible()
    expect(page.locator(".facts")).to_contain_text("Retry of #1")
    expect(page.locator("#progress progress")).to_be_visible()
    expect(page.locator("h1 .status")).to_have_text("Succeeded", timeout=60_000)
    sim.set_faults(latency_ms=0)
    expect(page.locator("#progress")).to_be_empty()
    new = Run.objects.get(integration=old.integration, number=2)
    assert (new.trigger, new.retry_of_id, new.status) == (Trigger.RETRY, old.pk, RunStatus.FINISHED)
    assert (new.total, new.succeeded, new.failed) == (2, 2, 0)
    screens.shot("08-retry-run")

    # History lists the retry; the old run shows both lines re-offered in #2.
    page.get_by_role("link", name="History").click()
    expect(page.locator("#run-2")).to_contain_text("Retry of #1")
    expect(page.locator("#run-2")).to_contain_text("Succeeded")
    page.locator("#run-1 td").first.get_by_role("link").click()
    expect(page.get_by_role("link", name="Re-offered in #2")).to_have_count(2)
    expect(banner).to_be_empty()

    # The simulator booked each corrected record once, with the correction where its
    # ledger keeps the field; and nothing twice.
    ledger = PACKAGES[package].ledger
    bookings = [b for b in sim.ledger() if not b.get("update")]
    booked = Counter((b["entity"], b["key"]) for b in bookings)
    assert max(booked.values()) == 1, booked
    for fault, line in zip(faults, failed, strict=True):
        entity, key_of = ledger[fault.kind]
        mine = [
            b["body"]
            for b in bookings
            if b["entity"] == entity and key_of(b["body"]) == line.identifier
        ]
        assert len(mine) == 1, (line.identifier, bookings)
        if fault.booked_path:
            assert str(_at(mine[0], fault.booked_path)) == fault.booked, mine[0]
        sent = new.lines.get(identifier=line.identifier).payload
        assert str(_at(sent, fault.path)) == fault.good, sent

    # The same screens in Dutch, switched in the top bar.
    page.get_by_role("button", name="Nederlands").click()
    expect(page.get_by_label("Alleen mislukte tonen")).to_be_checked()
    expect(page.get_by_role("link", name="Opnieuw aangeboden in #2")).to_have_count(2)
    screens.shot("09-dutch-run-details")
    page.get_by_role("link", name=failed[0].identifier, exact=True).click()
    expect(page.get_by_role("heading", name="Wijzigingsgeschiedenis")).to_be_visible()
    page.go_back()
    page.get_by_role("link", name="Geschiedenis").click()
    expect(page.get_by_role("heading", name="Geschiedenis")).to_be_visible()
    expect(page.locator("#run-2")).to_contain_text("Nieuwe poging van #1")
    screens.assert_clean()


# --- the failure mail of the same run leads to it -------------------------------------------


@pytest.fixture
def mailbox(tmp_path, monkeypatch, live_server, editor, integration):
    """Mail as .eml files in a folder; the editor and a Dutch extra address subscribed.

    Set before ``seed`` starts its worker, which reads these from the environment.
    """
    from notifications.models import ExtraRecipient

    folder = tmp_path / "mail"
    monkeypatch.setenv("EMAIL_URL", f"file://{folder}")
    monkeypatch.setenv("MAIL_DIGEST_WINDOW_SECONDS", "0")
    monkeypatch.setenv("PORTAL_BASE_URL", live_server.url)
    editor.email = "editor@example.com"
    editor.save()
    ExtraRecipient.objects.create(
        integration=integration, email="boekhouding@example.com", language="nl"
    )
    return folder


def _mails(folder: Any, count: int, timeout: float = 30) -> dict[str, Any]:
    import email
    import time
    from email.policy import default

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        files = sorted(folder.glob("*.eml")) if folder.exists() else []
        if len(files) >= count:
            messages = [email.message_from_bytes(f.read_bytes(), policy=default) for f in files]
            return {str(m["To"]): m for m in messages}
        time.sleep(0.2)
    pytest.fail(f"{count} mails expected in {folder}, found {len(files)}")


def test_the_failure_mail_opens_the_run_with_its_failed_lines(
    mailbox, page, screens, live_server, seed
):
    from playwright.sync_api import expect

    mails = _mails(mailbox, 2)
    english, dutch = mails["editor@example.com"], mails["boekhouding@example.com"]
    assert (
        english["Subject"] == "2 lines failed in run #1 of Accounting link — Bakkerij De Vries BV"
    )
    assert dutch["Subject"].startswith("2 regels mislukt in run #1")
    for name, message in (("10-failure-mail", english), ("11-failure-mail-dutch", dutch)):
        html = message.get_body(preferencelist=("html",)).get_content()
        page.set_content(html)
        page.screenshot(path=screens.folder / f"{name}.png", full_page=True)

    page.set_content(english.get_body(preferencelist=("html",)).get_content())
    link = page.get_by_role("link", name="Open run #1, failed lines only")
    page.goto(link.get_attribute("href"))  # the recipient is not logged in yet
    page.get_by_label("Username").fill(seed.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()

    expect(page.get_by_role("heading", name=re.compile(r"Run #1"))).to_be_visible()
    expect(page.get_by_label("Show only failed")).to_be_checked()
    expect(page.locator("#lines tbody tr")).to_have_count(2)
    screens.assert_clean()
