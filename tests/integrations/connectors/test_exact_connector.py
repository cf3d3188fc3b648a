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

from . import support
from .support import (
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
        relations.deliver(kind, record, idempotency_key="k")

    assert refused.value.fault is Fault.DATA
    assert words in refused.value.field_errors[field]


def test_several_messages_in_one_answer_each_find_their_field(relations):
    record = sales_invoice(journal="80", invoice_date="2019-12-31", fiscal_year=2019)

    with pytest.raises(DeliveryError) as refused:
        relations.deliver("sales_invoice", record, idempotency_key="k")

    assert refused.value.field_errors["journal"] == "Not found: Journal"
    assert refused.value.field_errors["invoice_date"].startswith("Unknown: Financial year")
    assert len(refused.value.message.splitlines()) >= 2


def test_an_unbalanced_entry_is_a_data_fault_although_exact_answers_500(relations):
    with pytest.raises(DeliveryError) as refused:
        relations.deliver(
            "journal_entry", journal_entry(lines=[journal_line()]), idempotency_key="k"
        )

    assert refused.value.fault is Fault.DATA
    assert refused.value.exchanges[-1].status == 500
    assert "not balanced" in refused.value.field_errors["lines"]


class BlindFirstLookUp(ExactConnector):
    """Another worker books the entry between this one's look-up and its post."""

    blind = True

    def _find(self, kind, record, trail):
        if self.blind:
            self.blind = False
            return None
        return super()._find(kind, record, trail)


def test_in_use_from_a_race_is_already_booked(sim, relations):
    booked = relations.deliver("sales_invoice", sales_invoice(), idempotency_key="k")
    racing = BlindFirstLookUp(
        base_url=sim.base_url,
        settings=SETTINGS,
        credentials=relations.credentials,
        client=relations.client,
    )

    outcome = racing.deliver("sales_invoice", sales_invoice(), idempotency_key="k")

    assert outcome.result is Result.ALREADY_BOOKED
    assert outcome.external_id == booked.external_id
    assert any("In use: Document number" in e.response_body for e in outcome.exchanges)
    assert len(ledger_keys(sim, "SalesEntry")) == 1


def test_a_timeout_before_anything_was_booked_is_transient(sim, relations):
    relations.client.timeout = httpx.Timeout(5.0, read=0.3)
    sim.set_faults(timeout_rate=1, timeout_seconds=2)

    with pytest.raises(DeliveryError) as timed_out:
        relations.deliver("sales_invoice", sales_invoice(), idempotency_key="k")

    # Exact's connector looks the invoice up before posting; that GET timed out.
    assert timed_out.value.fault is Fault.TRANSIENT
    assert timed_out.value.exchanges[-1].method == "GET"


def test_the_wrong_division_stops_the_run(sim):
    sim.reset()
    connector = connected(ExactConnector, sim.base_url, SETTINGS | {"division": 999})

    with pytest.raises(DeliveryError) as refused:
        connector.deliver("customer", customer(), idempotency_key="k")

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

    connector = ExactConnector(
        base_url=sim.base_url,
        settings=SETTINGS,
        credentials=relations.credentials,
        client=relations.client,
        cache=Cache(),
    )
    connector.deliver("sales_invoice", sales_invoice(), idempotency_key="k")
    second = connector.deliver(
        "sales_invoice", sales_invoice(invoice_number="VF2024-000002"), idempotency_key="k"
    )

    assert not [e for e in second.exchanges if "crm/Accounts" in e.url or "GLAccounts" in e.url]
    assert any(key.endswith(":account:D1001") for key in shared)


def test_only_entry_numbers_that_are_numbers_become_exact_entry_numbers():
    assert entry_number({"entry_number": "2024017"}) == 2024017
    # Not derived from the digits: KAS2024-000001 would get the same number.
    assert entry_number({"entry_number": "MEM2024-000001"}) is None
    assert entry_number({"entry_number": "0042"}) is None
    assert entry_number({"entry_number": "99999999999"}) is None


def test_it_checks_the_connection(connector):
    assert "123456" in connector.check_connection()
