"""What only the Exact Online connector does, against the Exact simulator, over real HTTP.

What every connector does alike is in ``test_connectors.py``.
"""

from __future__ import annotations

import time

import httpx
import pytest

from integrations.connectors.base import DeliveryError, Fault, Result
from integrations.connectors.exact.connector import ExactConnector
from integrations.connectors.exact.mapping import entry_number
from integrations.http import build_client
from tests.integrations.connectors import support
from tests.integrations.connectors.support import (
    PACKAGES,
    connected,
    customer,
    invoice_line,
    ledger_keys,
)

PACKAGE = "exact"
SETTINGS = PACKAGES[PACKAGE].settings


def sales_invoice(**fields):
    return support.sales_invoice(journal="70") | fields


def purchase_invoice(**fields):
    lines = [invoice_line(gl_account="7000", vat_code="5", description="Meel")]
    return support.purchase_invoice(journal="60", lines=lines) | fields


def journal_line(**fields):
    return {
        "gl_account": "4000",
        "description": "Kosten",
        "debit": "50.00",
        "credit": "0.00",
    } | fields


def journal_entry(**fields):
    lines = [journal_line(), journal_line(gl_account="1100", debit="0.00", credit="50.00")]
    return support.journal_entry(journal="90", lines=lines) | fields


@pytest.mark.parametrize(
    ("kind", "record", "field", "words"),
    [
        ("customer", customer(code="D3001", name=""), "name", "Required: Name"),
        ("sales_invoice", sales_invoice(journal="80"), "journal", "Not found: Journal"),
        (
            "sales_invoice",
            sales_invoice(relation_code="C2001"),
            "relation_code",
            "Invalid: Customer (Type)",
        ),
        (
            "sales_invoice",
            sales_invoice(relation_code="D9999"),
            "relation_code",
            "Not found: Account",
        ),
        (
            "sales_invoice",
            sales_invoice(invoice_date="2019-12-31", fiscal_year=2019),
            "invoice_date",
            "Unknown: Financial year",
        ),
        (
            "sales_invoice",
            sales_invoice(lines=[invoice_line(), invoice_line(gl_account="9999")]),
            "lines.1.gl_account",
            "Not found: Account",
        ),
        (
            "purchase_invoice",
            purchase_invoice(
                lines=[invoice_line(cost_centre=None), invoice_line(cost_centre="999")]
            ),
            "lines.1.cost_centre",
            "Invalid: Cost center link",
        ),
        (
            "journal_entry",
            journal_entry(
                lines=[
                    journal_line(vat_code="1"),
                    journal_line(gl_account="1100", debit="0.00", credit="50.00"),
                ]
            ),
            "lines.0.vat_code",
            "Not allowed: VAT code",
        ),
    ],
)
def test_each_refusal_lands_on_its_canonical_field(relations, kind, record, field, words):
    with pytest.raises(DeliveryError) as refused:
        relations.book(kind, record, idempotency_key="k")

    assert refused.value.fault is Fault.DATA
    assert words in refused.value.field_errors[field]


def test_several_messages_in_one_answer_each_find_their_field(relations):
    record = sales_invoice(journal="80", invoice_date="2019-12-31", fiscal_year=2019)

    with pytest.raises(DeliveryError) as refused:
        relations.book("sales_invoice", record, idempotency_key="k")

    assert refused.value.field_errors["journal"] == "Not found: Journal"
    assert refused.value.field_errors["invoice_date"].startswith("Unknown: Financial year")
    assert len(refused.value.message.splitlines()) >= 2


def test_an_unbalanced_entry_is_a_data_fault_although_exact_answers_500(relations):
    with pytest.raises(DeliveryError) as refused:
        relations.book("journal_entry", journal_entry(lines=[journal_line()]), idempotency_key="k")

    assert refused.value.fault is Fault.DATA
    assert refused.value.exchanges[-1].status == 500
    assert "not balanced" in refused.value.field_errors["lines"]


class BlindFirstLookUp(ExactConnector):
    """Another worker books the entry between this one's look-up and its post."""

    blind = True

    def _find(self, kind, record, trail, remembered):
        if self.blind:
            self.blind = False
            return None
        return super()._find(kind, record, trail, remembered)


def test_in_use_from_a_race_is_already_booked(sim, relations):
    """A numeric entry number is Exact's own: it refuses it twice, whatever raced."""
    entry = journal_entry(entry_number="2025017")
    booked = relations.book("journal_entry", entry, idempotency_key="k")
    racing = BlindFirstLookUp(
        base_url=sim.base_url,
        settings=SETTINGS,
        credentials=relations.credentials,
        client=relations.client,
    )

    outcome = racing.book("journal_entry", entry, idempotency_key="k")

    assert outcome.result is Result.ALREADY_BOOKED
    assert outcome.external_id == booked.external_id
    assert any("In use: Document number" in e.response_body for e in outcome.exchanges)
    assert len(ledger_keys(sim, "GeneralJournalEntry")) == 1


def test_only_the_look_up_keeps_a_your_ref_single_as_exact_accepts_it_twice(sim, relations):
    booked = relations.book("sales_invoice", sales_invoice(), idempotency_key="k")
    again = relations.book("sales_invoice", sales_invoice(), idempotency_key="k")
    blind = BlindFirstLookUp(
        base_url=sim.base_url,
        settings=SETTINGS,
        credentials=relations.credentials,
        client=relations.client,
    ).book("sales_invoice", sales_invoice(), idempotency_key="k")

    assert (again.result, again.external_id) == (Result.ALREADY_BOOKED, booked.external_id)
    # Without its look-up, the same YourRef is booked a second time.
    assert blind.result is Result.BOOKED and blind.external_id != booked.external_id
    assert len(ledger_keys(sim, "SalesEntry")) == 2


def test_a_timeout_before_anything_was_booked_is_transient(sim, relations):
    relations.client.timeout = httpx.Timeout(5.0, read=0.3)
    sim.set_faults(timeout_rate=1, timeout_seconds=2)

    with pytest.raises(DeliveryError) as timed_out:
        relations.book("sales_invoice", sales_invoice(), idempotency_key="k")

    # Exact's connector looks the invoice up before posting; that GET timed out.
    assert timed_out.value.fault is Fault.TRANSIENT
    assert timed_out.value.exchanges[-1].method == "GET"


def test_the_wrong_division_stops_the_run(sim):
    sim.reset()
    connector = connected(ExactConnector, sim.base_url, SETTINGS | {"division": 999})

    with pytest.raises(DeliveryError) as refused:
        connector.book("customer", customer(), idempotency_key="k")

    assert refused.value.fault is Fault.RUN
    assert refused.value.message.startswith("Exact Online refused the login: ")
    assert "WrongDivision" in refused.value.message
    assert refused.value.message.endswith("reconnect the integration.")


def test_it_reads_the_minutely_rate_limit_headers(sim, connector):
    observed = []

    class Recorder:
        def acquire(self):
            pass

        def observe(self, remaining, reset_at):
            observed.append((remaining, reset_at))

    sim.set_faults(rate_limit_per_minute=60)
    connector.client = build_client(
        base_url=sim.base_url, limiter=Recorder(), rate_limit_state=connector.rate_limit_state
    )
    connector.find_existing("customer", customer())

    remaining, reset_at = observed[-1]
    assert remaining < 60
    assert time.time() <= reset_at <= time.time() + 61  # seconds, not milliseconds


def test_account_guids_are_looked_up_once_and_cached(sim, relations):
    shared = {}

    class Cache:
        def get(self, key):
            return shared.get(key)

        def set(self, key, value):
            shared[key] = value

        def delete(self, key):
            shared.pop(key, None)

    connector = ExactConnector(
        base_url=sim.base_url,
        settings=SETTINGS,
        credentials=relations.credentials,
        client=relations.client,
        cache=Cache(),
    )
    connector.book("sales_invoice", sales_invoice(), idempotency_key="k")
    second = connector.book(
        "sales_invoice", sales_invoice(invoice_number="VF2024-000002"), idempotency_key="k"
    )

    assert not [e for e in second.exchanges if "crm/Accounts" in e.url or "GLAccounts" in e.url]
    assert any(key.endswith(":account:D1001") for key in shared)


UNKNOWN_GUID = "0b0e3c1e-0000-4000-8000-000000000000"


def _stale(connector, code):
    """Put a GUID Exact does not know in the cache for ``code``, as if its account had
    been deleted and made anew in Exact since it was looked up. Answer the cache key."""
    key = next(key for key in connector.cache if key.endswith(f":account:{code}"))
    connector.cache.set(key, UNKNOWN_GUID)
    return key


def test_an_invoice_whose_cached_customer_exact_no_longer_knows_is_booked_with_the_new_guid(
    relations,
):
    key = _stale(relations, "D1001")

    outcome = relations.book("sales_invoice", sales_invoice(), idempotency_key="k")

    assert outcome.result is Result.BOOKED
    posts = [e for e in outcome.exchanges if e.method == "POST"]
    assert [e.status for e in posts] == [400, 201]
    assert "Not found: Customer" in posts[0].response_body
    assert UNKNOWN_GUID not in posts[1].request_body
    assert relations.cache.get(key) not in (None, UNKNOWN_GUID)


def test_a_customer_whose_cached_guid_exact_no_longer_knows_is_updated_under_its_real_one(
    relations,
):
    key = _stale(relations, "D1001")

    outcome = relations.book("customer", customer(name="Bakkerij Jansen"), idempotency_key="k")

    assert outcome.result is Result.UPDATED
    assert outcome.external_id == relations.cache.get(key) != UNKNOWN_GUID
    puts = [e for e in outcome.exchanges if e.method == "PUT"]
    assert [e.status for e in puts] == [404, 204]


def test_a_refusal_with_guids_still_right_is_not_offered_twice(relations):
    relations.book("sales_invoice", sales_invoice(), idempotency_key="k")  # GUIDs cached

    with pytest.raises(DeliveryError) as refused:
        relations.book(
            "sales_invoice",
            sales_invoice(invoice_number="VF2024-000002", journal="80"),
            idempotency_key="k",
        )

    assert "Not found: Journal" in refused.value.message
    assert len([e for e in refused.value.exchanges if e.method == "POST"]) == 1


def test_only_entry_numbers_that_are_numbers_become_exact_entry_numbers():
    assert entry_number({"entry_number": "2024017"}) == 2024017
    # Not derived from the digits: KAS2024-000001 would get the same number.
    assert entry_number({"entry_number": "MEM2024-000001"}) is None
    assert entry_number({"entry_number": "0042"}) is None
    assert entry_number({"entry_number": "99999999999"}) is None


def test_it_checks_the_connection(connector):
    assert "123456" in connector.check_connection()


def test_a_token_asked_for_too_early_is_transient_and_asked_for_once(sim, relations):
    """Exact gives a new token at most every 570 s: not a reason to reconnect, nor to loop."""
    sim.set_faults(token_min_interval=570)
    store = relations.credentials
    store._credentials["expires_at"] = time.time() + 5  # within the renewal margin
    before = sim.stats()["token_calls"]

    with pytest.raises(DeliveryError) as early:
        relations.book("customer", customer(code="D4001"), idempotency_key="k")

    assert early.value.fault is Fault.TRANSIENT
    assert "at most every 570 seconds" in early.value.message
    # Offered again once the current token has run out, when Exact surely allows a new one.
    assert early.value.retry_after is not None and 3 <= early.value.retry_after <= 5
    assert sim.stats()["token_calls"] - before == 1


def test_look_ups_follow_next_through_every_page(sim, relations):
    sim.set_faults(rate_limit_per_minute=None)
    for n in range(70):
        relations.book("customer", customer(code=f"P{n:03}"), idempotency_key="k")

    trail = []
    rows = relations._select("crm/Accounts", "Status eq 'C'", "ID,Code", "customer", trail)

    assert len(rows) == 71  # D1001 and the 70
    assert len(trail) == 2 and "%24skiptoken=guid%27" in trail[1].url


def test_a_key_blocked_by_the_error_limit_is_transient_until_the_block_ends(sim, relations):
    sim.set_faults(error_limit=2, error_window_seconds=120)
    refused = []
    for n in range(4):
        with pytest.raises(DeliveryError) as failed:
            relations.book(
                "sales_invoice",
                sales_invoice(invoice_number=f"B{n}", journal="80"),
                idempotency_key="k",
            )
        refused.append(failed.value)

    assert [e.fault for e in refused] == [Fault.DATA] * 3 + [Fault.TRANSIENT]
    assert 100 <= refused[-1].retry_after <= 120
    assert relations.endpoint_of(refused[-1].exchanges[-1].url) == "salesentry/SalesEntries"


def test_it_names_endpoints_and_reads_the_daily_limit_as_exact_counts_them(sim, connector):
    response = connector._call(
        "GET", connector._url("vat/VATCodes"), kind="", trail=[], params={"$select": "Code"}
    )
    remaining, reset_at = connector.daily_limit_state(response)

    assert 4990 <= remaining < 5000  # this test's own calls so far
    assert time.time() < reset_at <= time.time() + 86400
    assert connector.endpoint_of(connector._url("crm/Accounts(guid'ab-cd')")) == "crm/Accounts"
    assert connector.endpoint_of(connector._url("salesentry/SalesEntries")) == (
        "salesentry/SalesEntries"
    )


def test_a_dutch_users_refusals_land_on_their_fields(sim, relations):
    sim.set_faults(user_language="nl-NL")

    with pytest.raises(DeliveryError) as refused:
        relations.book("sales_invoice", sales_invoice(journal="80"), idempotency_key="k")

    assert refused.value.fault is Fault.DATA
    assert refused.value.field_errors == {"journal": "Niet gevonden: Dagboek"}
