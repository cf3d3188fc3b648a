"""In doubt: the package booked the record but its answer was lost. Over real HTTP.

For every connector and every kind: the connection drops after the simulator booked
the record, ``find_existing`` finds it by the record's own key (the id the ledger
shows), and offering it again adds no second booking. Records are the examples Reflex
sends, validated and normalised as the engine hands them to a connector.
"""

from __future__ import annotations

from collections import Counter

import pytest

from integrations.connectors.base import DeliveryError, Fault, Result
from integrations.connectors.exact.connector import ExactConnector
from integrations.connectors.multivers.connector import MultiversConnector

from .support import (
    KINDS,
    PACKAGES,
    RELATIONS,
    bookings,
    connect,
    natural_key,
    record,
    subject,
)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("package", list(PACKAGES))
def test_a_booking_whose_answer_was_lost_is_found_and_not_booked_again(sims, package, kind):
    sim = sims[package]
    connector = connect(sims, package)
    data = subject(kind, package)
    key = natural_key(kind, data)

    sim.set_faults(drop_after_book_rate=1)
    try:
        with pytest.raises(DeliveryError) as dropped:
            connector.book(kind, data, idempotency_key="k")
    finally:
        sim.set_faults(drop_after_book_rate=0)
    assert dropped.value.fault is Fault.IN_DOUBT, dropped.value.message
    [booked] = bookings(sim, package, kind, key)
    if kind not in connector.findable:
        pytest.skip(
            "no documented look-up; see test_an_unfindable_entry_in_doubt_waits_for_a_person"
        )

    assert connector.find_existing(kind, data) == booked["id"]

    again = connector.book(kind, data, idempotency_key="k")
    expected = Result.UPDATED if kind in RELATIONS else Result.ALREADY_BOOKED
    assert (again.result, again.external_id) == (expected, booked["id"])
    assert len(bookings(sim, package, kind, key)) == 1


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("package", list(PACKAGES))
def test_a_record_never_booked_is_not_found(sims, package, kind):
    connector = connect(sims, package)
    if kind not in connector.findable:
        pytest.skip(
            "no documented look-up; see test_an_unfindable_entry_in_doubt_waits_for_a_person"
        )

    assert connector.find_existing(kind, subject(kind, package)) is None


def test_an_unfindable_entry_in_doubt_waits_for_a_person_and_is_not_posted_twice(sims):
    """Multivers documents no look-up of a FinTrans by our entry number: the connector
    says so (in doubt — check in Multivers) instead of answering "not there"."""
    sim = sims["multivers"]
    connector = connect(sims, "multivers")
    data = subject("journal_entry", "multivers")
    assert "journal_entry" not in connector.findable

    sim.set_faults(drop_after_book_rate=1)
    try:
        with pytest.raises(DeliveryError) as dropped:
            connector.book("journal_entry", data, idempotency_key="k")
    finally:
        sim.set_faults(drop_after_book_rate=0)
    assert dropped.value.fault is Fault.IN_DOUBT
    with pytest.raises(DeliveryError) as looked:
        connector.find_existing("journal_entry", data)

    assert looked.value.fault is Fault.IN_DOUBT
    assert "check in Multivers Online" in looked.value.message
    assert len(bookings(sim, "multivers", "journal_entry", data["entry_number"])) == 1
    # Every call made was one the reference documents: no invented list look-up.
    assert sim.stats()["by_status"].get("405") is None


# Packages whose journal entries can be found by our entry number.
FINDS_JOURNAL_ENTRIES = [p for p in PACKAGES if "journal_entry" in PACKAGES[p].connector.findable]


@pytest.mark.parametrize("package", FINDS_JOURNAL_ENTRIES)
def test_journal_entries_are_found_by_their_whole_number_only(sims, package):
    """``KAS2025-000001`` is not ``MEM2025-000001``: same digits, another entry."""
    sim = sims[package]
    connector = connect(sims, package)
    mem = subject("journal_entry", package)
    kas = subject("journal_entry", package, entry_number="KAS2025-000001")
    assert mem["entry_number"] == "MEM2025-000001"

    first = connector.book("journal_entry", mem, idempotency_key="mem")
    assert connector.find_existing("journal_entry", kas) is None
    second = connector.book("journal_entry", kas, idempotency_key="kas")

    assert (first.result, second.result) == (Result.BOOKED, Result.BOOKED)
    assert first.external_id != second.external_id
    assert connector.find_existing("journal_entry", mem) == first.external_id
    assert connector.find_existing("journal_entry", kas) == second.external_id
    assert (
        connector.find_existing("journal_entry", mem | {"entry_number": "mem2025-000001"}) is None
    )
    entity = PACKAGES[package].ledger["journal_entry"][0]
    assert Counter(b["entity"] for b in sim.ledger())[entity] == 2


@pytest.mark.parametrize("package", FINDS_JOURNAL_ENTRIES)
def test_a_journal_entry_is_found_after_its_date_or_journal_was_corrected(sims, package):
    """The look-up is by the entry number alone, whatever else a correction changed."""
    connector = connect(sims, package)
    data = subject("journal_entry", package)
    booked = connector.book("journal_entry", data, idempotency_key="k")

    corrected = record("journal_entry", 0, package, entry_date="2026-01-15")
    assert corrected["fiscal_year"] != data["fiscal_year"]

    assert connector.find_existing("journal_entry", corrected) == booked.external_id


def test_exact_numbers_a_numeric_entry_number_as_its_own_and_refuses_it_twice(sims):
    sim = sims["exact"]
    connector = connect(sims, "exact")
    data = subject("journal_entry", "exact", entry_number="2025017")

    booked = connector.book("journal_entry", data, idempotency_key="k")
    entry = next(b for b in sim.ledger() if b["entity"] == "GeneralJournalEntry")

    assert entry["body"]["EntryNumber"] == 2025017
    assert connector.find_existing("journal_entry", data) == booked.external_id


def test_an_exact_account_created_meanwhile_is_updated_not_refused(sims):
    """Looked up, not there; another offer created it before this one posted."""

    class LooksTooEarly(ExactConnector):
        looked = 0

        def _account(self, code, kind, trail, remembered):
            self.looked += 1
            return None if self.looked == 1 else super()._account(code, kind, trail, remembered)

    sim = sims["exact"]
    connector = connect(sims, "exact")
    data = subject("customer", "exact")
    created = connector.book("customer", data, idempotency_key="k")
    late = LooksTooEarly(
        base_url=connector.base_url,
        settings=connector.settings,
        credentials=connector.credentials,
        client=connector.client,
    )

    again = late.book("customer", data, idempotency_key="k")

    assert (again.result, again.external_id) == (Result.UPDATED, created.external_id)
    assert len(bookings(sim, "exact", "customer", data["code"])) == 1
    assert sim.refused_duplicates()[-1]["key"] == data["code"]


def test_a_multivers_transaction_number_taken_meanwhile_is_transient(sims):
    """Not this record's duplicate but a race for Multivers' counter: offer it again."""

    class StaleNumber(MultiversConnector):
        def _next_transaction(self, kind, record, trail):
            return 1  # handed out before another booking took it

    sim = sims["multivers"]
    connector = connect(sims, "multivers")
    first = subject("journal_entry", "multivers")
    connector.book("journal_entry", first, idempotency_key="k")
    stale = StaleNumber(
        base_url=connector.base_url,
        settings=connector.settings,
        credentials=connector.credentials,
        client=connector.client,
    )

    with pytest.raises(DeliveryError) as raced:
        stale.book(
            "journal_entry",
            subject("journal_entry", "multivers", entry_number="MEM2025-000002"),
            idempotency_key="k",
        )

    assert raced.value.fault is Fault.TRANSIENT, raced.value.message
    assert "al in gebruik" in raced.value.message
    assert len(bookings(sim, "multivers", "journal_entry", "MEM2025-000002")) == 0


def test_another_suppliers_invoice_with_the_same_number_is_not_this_one(sims):
    connector = connect(sims, "multivers")
    connector.book("supplier", record("supplier", 1, "multivers"), idempotency_key="s")
    theirs = subject("purchase_invoice", "multivers")
    connector.book("purchase_invoice", theirs, idempotency_key="k")
    ours = theirs | {"relation_code": record("supplier", 1, "multivers")["code"]}

    assert connector.find_existing("purchase_invoice", theirs) == theirs["invoice_number"]
    assert connector.find_existing("purchase_invoice", ours) is None
    with pytest.raises(DeliveryError) as refused:
        connector.book("purchase_invoice", ours, idempotency_key="k")
    assert refused.value.fault is Fault.DATA  # the package holds the number: a person decides
