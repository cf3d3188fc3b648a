"""What only the Multivers connector does, against the Multivers simulator, over real HTTP.

What every connector does alike is in ``test_connectors.py``.
"""

from __future__ import annotations

import time

import httpx
import pytest

from integrations.connectors.base import DeliveryError, Fault, Result
from integrations.connectors.multivers.mapping import canonical_path, multivers_date
from tests.integrations.connectors import support

PACKAGE = "multivers"


def customer(**fields):
    return support.customer(payment_terms_code="30", currency="EUR") | fields


def supplier(**fields):
    return support.supplier(payment_terms_code="30", currency="EUR") | fields


def invoice_line(**fields):
    return support.invoice_line(vat_amount="21.00") | fields


# What Multivers' invoices carry besides the other packages' fields.
INVOICE = {
    "your_ref": "ORD-00001",
    "payment_reference": "1000 0000 0001",
    "currency": "EUR",
    "payment_terms_code": "30",
}


def sales_invoice(**fields):
    lines = [invoice_line(), invoice_line(gl_account="8100", vat_code="2", vat_amount="9.00")]
    return support.sales_invoice(journal="V", lines=lines, **INVOICE) | fields


def purchase_invoice(**fields):
    lines = [invoice_line(gl_account="7000", description="Meel")]
    return support.purchase_invoice(journal="I", lines=lines, **INVOICE) | fields


def journal_entry(**fields):
    lines = [
        {
            "gl_account": "4000",
            "description": "Loon",
            "debit": "50.00",
            "credit": "0.00",
            "cost_centre": "100",
        },
        {"gl_account": "4100", "description": "Huur", "debit": "0.00", "credit": "50.00"},
    ]
    return support.journal_entry(journal="M", lines=lines) | fields


def test_it_sends_dates_the_multivers_way(relations, sim):
    relations.book("sales_invoice", sales_invoice(), idempotency_key="k")
    body = next(b["body"] for b in sim.ledger() if b["entity"] == "CustomerInvoice")

    assert body["invoiceDate"] == "15-3-2024"
    assert body["customerInvoiceLines"][0]["creditAmount"] == 100.0
    assert body["customerInvoiceLines"][0]["transactionDate"] == "15-3-2024"
    assert body["journalTransaction"] >= 1


@pytest.mark.parametrize(
    ("kind", "record", "field", "words"),
    [
        ("customer", customer(short_name=None), "short_name", "ShortName is verplicht."),
        ("customer", customer(vat_number="NL123456789B01"), "vat_number", "NL999999999B99"),
        ("customer", customer(payment_terms_code="99"), "payment_terms_code", "Betalingsconditie"),
        ("sales_invoice", sales_invoice(relation_code="D9999"), "relation_code", "bestaat niet"),
        ("sales_invoice", sales_invoice(journal="X"), "journal", "Dagboek"),
        ("sales_invoice", sales_invoice(fiscal_year=2019), "fiscal_year", "Boekjaar"),
        (
            "sales_invoice",
            sales_invoice(payment_terms_code="99"),
            "payment_terms_code",
            "Betalingsconditie",
        ),
        (
            "sales_invoice",
            sales_invoice(lines=[invoice_line(), invoice_line(vat_code="9")]),
            "lines.1.vat_code",
            "Btwcode '9' bestaat niet.",
        ),
        (
            "sales_invoice",
            sales_invoice(lines=[invoice_line(gl_account="9999")]),
            "lines.0.gl_account",
            "9999",
        ),
        (
            "purchase_invoice",
            purchase_invoice(lines=[invoice_line(cost_centre="999")]),
            "lines.0.cost_centre",
            "999",
        ),
        (
            "journal_entry",
            journal_entry(lines=[journal_entry()["lines"][0]]),
            "lines",
            "niet in balans",
        ),
    ],
)
def test_each_refusal_lands_on_its_canonical_field(sim, relations, kind, record, field, words):
    with pytest.raises(DeliveryError) as refused:
        relations.book(kind, record, idempotency_key="k")

    assert refused.value.fault is Fault.DATA
    assert words in refused.value.field_errors[field]
    assert words in refused.value.message
    assert refused.value.exchanges[-1].status == 400


def test_a_timeout_on_a_post_is_in_doubt_and_on_a_look_up_transient(sim, connector):
    connector.client.timeout = httpx.Timeout(5.0, read=0.3)
    sim.set_faults(timeout_rate=1, timeout_seconds=2)

    with pytest.raises(DeliveryError) as posted:
        connector.book("customer", customer(), idempotency_key="k")
    with pytest.raises(DeliveryError) as looked_up:
        connector.find_existing("customer", customer())

    assert posted.value.fault is Fault.IN_DOUBT
    assert looked_up.value.fault is Fault.TRANSIENT
    assert posted.value.exchanges[-1].status is None


def test_a_401_renews_the_token_once(sim, connector):
    sim.set_faults(token_ttl=1)
    store = connector.credentials
    connector._renew(store.load()["access_token"], [])
    # The store still believes the token lives an hour; the package knows better.
    store._credentials["expires_at"] = time.time() + 3600
    time.sleep(1.2)

    outcome = connector.book("customer", customer(), idempotency_key="k")

    assert outcome.result is Result.BOOKED
    assert [e.status for e in outcome.exchanges][:3] == [401, 200, 201]


def test_it_checks_the_connection(connector):
    assert connector.check_connection().startswith("MVL00001")


def test_paths_map_to_canonical_fields():
    assert (
        canonical_path("sales_invoice", "/customerInvoiceLines/0/vatCodeId") == "lines.0.vat_code"
    )
    assert (
        canonical_path("purchase_invoice", "/supplierInvoiceLines/2/debitAmount")
        == "lines.2.amount"
    )
    assert canonical_path("journal_entry", "/finTransEntries/1/creditAmount") == "lines.1.credit"
    assert canonical_path("journal_entry", "/finTransEntries") == "lines"
    assert canonical_path("customer", "/ShortName") == "short_name"
    assert canonical_path("customer", "/journalId") is None
    assert multivers_date("2024-03-05") == "5-3-2024"


def test_a_message_without_a_known_path_is_kept_as_it_came(connector):
    body = {
        "messages": [
            {
                "message": "Journaalcode mag niet gewijzigd worden.",
                "messageType": "Error",
                "path": "/journalId",
            }
        ]
    }
    response = httpx.Response(400, json=body)

    assert connector.parse_error("customer", response) == (
        "Journaalcode mag niet gewijzigd worden.",
        {},
    )


def test_it_asks_for_the_next_journal_transaction_with_a_post(sim, connector):
    entry = support.subject("journal_entry", "multivers")

    outcome = connector.book("journal_entry", entry, idempotency_key="k")

    asked = [e for e in outcome.exchanges if "GetNextJournalTransactionCommand" in e.url]
    assert [e.method for e in asked] == ["POST"]
    assert [e.method for e in outcome.exchanges if "FinTrans" in e.url] == ["POST"]


def test_a_lost_answer_to_the_number_request_is_transient_not_in_doubt(sim, connector):
    class Dropping(httpx.BaseTransport):
        def __init__(self, inner):
            self.inner = inner

        def handle_request(self, request):
            if "GetNextJournalTransactionCommand" in str(request.url):
                raise httpx.RemoteProtocolError("Server disconnected", request=request)
            return self.inner.handle_request(request)

    connector.client._transport = Dropping(connector.client._transport)
    with pytest.raises(DeliveryError) as lost:
        connector.book(
            "journal_entry", support.subject("journal_entry", "multivers"), idempotency_key="k"
        )

    assert lost.value.fault is Fault.TRANSIENT
    assert support.bookings(sim, "multivers", "journal_entry") == []


def test_it_names_the_entity_as_the_endpoint(connector):
    assert connector.endpoint_of(connector._url("Customer", "C1")) == "Customer"
    assert connector.endpoint_of(connector._url("FinTrans", 2024, "M", 7)) == "FinTrans"
    assert connector.endpoint_of(connector.base_url + "/api/AdministrationNVL") == (
        "AdministrationNVL"
    )
