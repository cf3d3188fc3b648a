"""The portal's own words in stored messages are shown in the reader's language."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from django.utils import translation

from integrations import wording as words
from integrations.canonical import example_record, summarise, validate_record
from runs import wording
from runs.models import LineStatus
from runs.reasons import reason_of
from runs.services.attempts import in_doubt_message
from tests.runs.screens.conftest import PACKAGE_MESSAGE

VALUES = {
    "number": "12",
    "external_id": "4711",
    "label": "Exact Online",
    "error": "KeyError",
    "detail": "HTTP 503",
    "at": "2026-12-03 14:05:00 CET",
    "user": "editor",
    "minutes": "30",
    "name": "Sales",
    "debit": "10.00",
    "credit": "9.00",
    "code": "XX",
    "limit": "100",
    "field": "name",
    "places": "2",
    "count": "3",
    "status": "503",
    "kind": "journal entry",
    "identifier": "MEM2025-000901",
    "seconds": "570",
    "database": "MVL00001",
    "office": "NLA000001",
}


@pytest.mark.parametrize("said", words.WORDINGS, ids=lambda said: said.text[:40])
def test_every_wording_is_read_back_in_dutch_with_its_values(said):
    stored = said(**{name: VALUES[name] for name in re.findall(r"%\((\w+)\)[sd]", said.text)})
    with translation.override("nl"):
        shown = words.localize(stored)
    assert shown != stored, "no Dutch translation in locale/nl"
    for name in re.findall(r"%\((\w+)\)[sd]", said.text):
        if name not in said.shown:  # a value that is a word of ours is translated too
            assert VALUES[name] in shown
    with translation.override("en"):
        assert words.localize(stored) == stored


def test_a_message_of_two_wordings_is_translated_part_by_part():
    stored = f"{in_doubt_message('Exact Online')} {wording.COULD_NOT_OFFER(error='KeyError')}"
    with translation.override("nl"):
        shown = words.localize(stored)
    assert shown.startswith("Onzeker — controleer in Exact Online")
    assert shown.endswith(
        "Het portaal kon deze regel niet aanbieden (KeyError); support is ingelicht."
    )


def test_a_packages_own_message_is_shown_as_the_package_wrote_it():
    with translation.override("nl"):
        assert words.localize(PACKAGE_MESSAGE) == PACKAGE_MESSAGE
        assert words.localize("Customer 10010 not found.") == "Customer 10010 not found."
        # Only the beginning of a wording is not the wording, nor a number that is none.
        assert words.localize("Booked in run #12 twice") == "Booked in run #12 twice"
        assert words.localize("Booked in run #twelve") == "Booked in run #twelve"


def test_a_reason_with_its_values_folded_is_translated_too():
    reason = reason_of(wording.ALREADY_IN_PACKAGE(label="Exact Online", external_id="4711"))
    with translation.override("nl"):
        assert words.localize(reason).startswith("Staat al in Exact Online (id …)")


@pytest.mark.django_db
def test_a_dutch_reader_sees_the_portals_words_in_dutch_on_the_screens(client, failed_run, editor):
    line = failed_run.lines.get(position=1)
    line.message = wording.COULD_NOT_OFFER(error="KeyError")
    line.save(update_fields=["message"])
    skipped = failed_run.lines.get(position=3)
    skipped.status = LineStatus.SKIPPED
    skipped.message = wording.ALREADY_BOOKED_EARLIER(number=7, external_id="4711")
    skipped.save(update_fields=["status", "message"])
    client.force_login(editor)
    slug = failed_run.integration.company.slug
    line_page = reverse("line_detail", args=[slug, line.pk])
    run_page = reverse("run_detail", args=[slug, failed_run.pk]) + "?failed=0"

    dutch = client.get(line_page, HTTP_ACCEPT_LANGUAGE="nl").text
    assert "Het portaal kon deze regel niet aanbieden (KeyError); support is ingelicht." in dutch
    assert "could not offer" not in dutch
    run_details = client.get(run_page, HTTP_ACCEPT_LANGUAGE="nl").text
    assert "Al geboekt in run #7 (id 4711)." in run_details
    assert "Het portaal kon deze regel niet aanbieden" in run_details
    # The package's own message stays as the package wrote it (escaped, as ever).
    assert "Btw-code &lt;b&gt;9&lt;/b&gt; bestaat niet" in run_details

    english = client.get(line_page, HTTP_ACCEPT_LANGUAGE="en").text
    assert "The portal could not offer this line (KeyError); support has been told." in english


def _invalid(kind: str, **fields):
    return example_record(kind, 1) | fields


@pytest.mark.parametrize(
    ("kind", "record"),
    [
        ("customer", _invalid("customer", vat_number="NL123", country="XX", name="x" * 300)),
        ("customer", _invalid("customer", coc_number="12", email="nope", code=None)),
        ("customer", _invalid("customer", name="Bakker\x00ij", currency="euro")),
        (
            "sales_invoice",
            _invalid(
                "sales_invoice",
                due_date="2024-01-01",
                invoice_date="2025-13-01",
                lines=[{"gl_account": "8100", "amount": "1.234", "vat_code": "1"}],
            ),
        ),
        ("sales_invoice", _invalid("sales_invoice", lines=[])),
        (
            "journal_entry",
            _invalid(
                "journal_entry",
                lines=[
                    {"gl_account": "4000", "debit": "10.00"},
                    {"gl_account": "1600", "credit": "9.00"},
                    {"gl_account": "1700", "debit": "1.00", "credit": "1.00"},
                ],
            ),
        ),
        ("journal_entry", _invalid("journal_entry", lines=[{"gl_account": "4000", "debit": "1"}])),
        (
            "journal_entry",
            _invalid(
                "journal_entry",
                lines=[
                    {"gl_account": "4000", "debit": "10.00"},
                    {"gl_account": "1600", "credit": "9"},
                ],
            ),
        ),
    ],
)
def test_the_portals_checks_stored_in_english_read_as_they_would_be_written_in_dutch(kind, record):
    """A line refused by the portal's own checks in the worker (English) shows on a Dutch
    page exactly as the check would have put it in Dutch: each field's error and the
    summary at the top."""
    with translation.override("en"):
        _, stored = validate_record(kind, record)
        stored_summary = summarise(stored)
    with translation.override("nl"):
        _, dutch = validate_record(kind, record)
        assert stored and dutch != stored
        assert {path: words.localize(text) for path, text in stored.items()} == dutch
        assert words.localize(stored_summary) == summarise(dutch)


@pytest.mark.django_db
def test_a_dutch_reader_sees_the_stored_field_errors_of_a_line_in_dutch(
    client, customer_line, editor
):
    client.force_login(editor)
    url = reverse(
        "line_detail", args=[customer_line.run.integration.company.slug, customer_line.pk]
    )
    dutch = client.get(url, HTTP_ACCEPT_LANGUAGE="nl").text
    assert (
        'id="f-vat_number-error">Vul een Nederlands btw-nummer in de vorm NL999999999B99 in.'
        in dutch
    )
    english = client.get(url, HTTP_ACCEPT_LANGUAGE="en").text
    assert 'id="f-vat_number-error">Enter a Dutch VAT number in the form NL999999999B99.' in english


def test_a_kind_of_record_named_in_a_message_is_named_in_the_readers_language():
    stored = words.NO_LOOKUP(label="Multivers Online", kind="journal entry", identifier="MEM1")
    with translation.override("nl"):
        assert "een memoriaalboeking op nummer op te zoeken (MEM1)" in words.localize(stored)
