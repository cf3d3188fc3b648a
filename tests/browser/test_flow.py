"""The whole flow in Chromium: log in, find the failed run, correct two lines, Retry.

One long test on purpose: it is the story the screens tell (docs/desk.md and the README's walk-through), and each step
starts where the previous one left the browser. It also takes the screenshots in
docs/screenshots (``bin/screenshots``).
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

import pytest

from runs.models import LineStatus, Run, RunStatus, Trigger
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser

SHORT_NAME_MESSAGE = "ShortName is verplicht."
VAT_CODE_MESSAGE = "Btwcode '7' bestaat niet."
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


def test_an_editor_corrects_failed_lines_and_retries_them(
    page, screens, live_server, seed, multivers
):
    from playwright.sync_api import expect

    old = seed.run
    customer = old.lines.get(status=LineStatus.FAILED, kind="customer")
    invoice = old.lines.get(status=LineStatus.FAILED, kind="sales_invoice")
    assert SHORT_NAME_MESSAGE in customer.message
    assert VAT_CODE_MESSAGE in invoice.message

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
    card = page.locator("section.card", has_text="Accounting link — Multivers Online")
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

    # Line details: the reason in red at the top; fill in the short name, Re-offer, Save.
    _open_failed_line(page, expect, customer.identifier, SHORT_NAME_MESSAGE)
    expect(page.locator("#f-short_name")).to_have_attribute("aria-invalid", "true")
    screens.shot("06-line-details")
    _save_for_reoffer(page, "#f-short_name", "DEVRIES2")

    expect(page.get_by_role("heading", name=re.compile(r"Run #1"))).to_be_visible()
    banner = page.locator("#retry-banner")
    expect(banner).to_contain_text("1 line has changes ready to be re-offered.")

    # The invoice's line used VAT code 7, which Multivers does not know: make it 2 (9 %).
    _open_failed_line(page, expect, invoice.identifier, VAT_CODE_MESSAGE)
    _save_for_reoffer(page, "#f-lines-0-vat_code", "2")
    expect(banner).to_contain_text("2 lines have changes ready to be re-offered.")
    screens.shot("07-changes-ready")

    # Retry: run #2 starts; a slow package keeps it going long enough to see the progress
    # bar poll, until the page refreshes itself with the run finished.
    multivers.set_faults(latency_ms=RETRY_LATENCY_MS)
    banner.get_by_role("button", name="Retry").click()
    expect(page.get_by_role("heading", name=re.compile(r"Run #2"))).to_be_visible()
    expect(page.locator(".facts")).to_contain_text("Retry of #1")
    expect(page.locator("#progress progress")).to_be_visible()
    expect(page.locator("h1 .status")).to_have_text("Succeeded", timeout=60_000)
    multivers.set_faults(latency_ms=0)
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

    # The simulator booked each corrected record once, with the correction.
    bookings = [b for b in multivers.ledger() if not b.get("update")]
    booked = Counter(b["key"] for b in bookings)
    assert booked[customer.identifier] == 1, bookings
    assert booked[invoice.identifier] == 1, bookings
    assert max(booked.values()) == 1, booked
    by_key = {b["key"]: b["body"] for b in bookings}
    assert by_key[customer.identifier]["shortName"] == "DEVRIES2"
    assert by_key[invoice.identifier]["customerInvoiceLines"][0]["vatCodeId"] == "2"

    # The same screens in Dutch, switched in the top bar.
    page.get_by_role("button", name="Nederlands").click()
    expect(page.get_by_label("Alleen mislukte tonen")).to_be_checked()
    expect(page.get_by_role("link", name="Opnieuw aangeboden in #2")).to_have_count(2)
    screens.shot("09-dutch-run-details")
    page.get_by_role("link", name=customer.identifier, exact=True).click()
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
