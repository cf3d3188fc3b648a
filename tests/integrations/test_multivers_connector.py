"""The Multivers connector against the Multivers simulator, over real HTTP."""

from __future__ import annotations

import time

import httpx
import pytest

from integrations.connectors.base import DeliveryError, Fault, Result
from integrations.connectors.memory_store import MemoryCredentialStore
from integrations.connectors.multivers.connector import MultiversConnector
from integrations.connectors.multivers.mapping import canonical_path, multivers_date
from integrations.http import build_client

from .connector_support import connected, ledger_keys, simulator

SETTINGS = {"database": "MVL00001"}


def customer(**fields):
    return {
        "code": "D1001",
        "name": "Bakkerij De Vries B.V.",
        "short_name": "DEVRIES",
        "address_line1": "Dorpsstraat 1",
        "postcode": "1234 AB",
        "city": "Utrecht",
        "country": "NL",
        "email": "info@devries.nl",
        "vat_number": "NL000099998B57",
        "payment_terms_code": "30",
        "currency": "EUR",
    } | fields


def supplier(**fields):
    return customer(code="C2001", name="Meelfabriek Noord B.V.", short_name="MEELNOORD") | fields


def invoice_line(**fields):
    return {
        "gl_account": "8000",
        "description": "Brood",
        "amount": "100.00",
        "vat_code": "1",
        "vat_amount": "21.00",
        "cost_centre": "100",
    } | fields


def sales_invoice(**fields):
    return {
        "invoice_number": "VF2024-000001",
        "relation_code": "D1001",
        "invoice_date": "2024-03-15",
        "due_date": "2024-04-14",
        "journal": "V",
        "fiscal_year": 2024,
        "period": 3,
        "description": "Factuur 1",
        "your_ref": "ORD-00001",
        "payment_reference": "1000 0000 0001",
        "currency": "EUR",
        "payment_terms_code": "30",
        "lines": [invoice_line(), invoice_line(gl_account="8100", vat_code="2", vat_amount="9.00")],
    } | fields


def purchase_invoice(**fields):
    lines = [invoice_line(gl_account="7000", description="Meel")]
    return (
        sales_invoice(
            invoice_number="IF2024-000001", relation_code="C2001", journal="I", lines=lines
        )
        | fields
    )


def journal_entry(**fields):
    return {
        "entry_number": "MEM2024-000001",
        "journal": "M",
        "entry_date": "2024-03-31",
        "fiscal_year": 2024,
        "period": 3,
        "description": "Verdeling kosten",
        "lines": [
            {
                "gl_account": "4000",
                "description": "Loon",
                "debit": "50.00",
                "credit": "0.00",
                "cost_centre": "100",
            },
            {"gl_account": "4100", "description": "Huur", "debit": "0.00", "credit": "50.00"},
        ],
    } | fields


RECORDS = {
    "customer": customer,
    "supplier": supplier,
    "sales_invoice": sales_invoice,
    "purchase_invoice": purchase_invoice,
    "journal_entry": journal_entry,
}
ENTITIES = {
    "customer": "Customer",
    "supplier": "Supplier",
    "sales_invoice": "CustomerInvoice",
    "purchase_invoice": "SupplierInvoice",
    "journal_entry": "FinTrans",
}


@pytest.fixture(scope="module")
def sim():
    with simulator("multivers") as running:
        yield running


@pytest.fixture
def connector(sim) -> MultiversConnector:
    sim.reset()
    return connected(MultiversConnector, sim.base_url, SETTINGS)


@pytest.fixture
def relations(connector):
    connector.deliver("customer", customer(), idempotency_key="c")
    connector.deliver("supplier", supplier(), idempotency_key="s")
    return connector


def new_record(kind):
    """A record of ``kind`` not in the package yet (the ``relations`` fixture booked D1001/C2001)."""
    return {"customer": customer(code="D1002"), "supplier": supplier(code="C2002")}.get(
        kind
    ) or RECORDS[kind]()


@pytest.mark.parametrize("kind", list(RECORDS))
def test_it_books_every_kind(sim, relations, kind):
    before = len(ledger_keys(sim, ENTITIES[kind]))

    outcome = relations.deliver(kind, new_record(kind), idempotency_key="k")

    assert outcome.result is Result.BOOKED
    assert len(ledger_keys(sim, ENTITIES[kind])) == before + 1
    assert relations.find_existing(kind, new_record(kind)) == outcome.external_id
    assert outcome.exchanges and all(e.status for e in outcome.exchanges)


def test_it_sends_dates_the_multivers_way(relations, sim):
    relations.deliver("sales_invoice", sales_invoice(), idempotency_key="k")
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
        relations.deliver(kind, record, idempotency_key="k")

    assert refused.value.fault is Fault.DATA
    assert words in refused.value.field_errors[field]
    assert words in refused.value.message
    assert refused.value.exchanges[-1].status == 400


def test_an_existing_customer_is_updated(sim, relations):
    outcome = relations.deliver(
        "customer", customer(name="Bakkerij De Vries & Zn."), idempotency_key="k"
    )

    assert outcome.result is Result.UPDATED
    assert outcome.external_id == "D1001"
    updates = [b for b in sim.ledger() if b.get("update")]
    assert updates[-1]["body"]["name"] == "Bakkerij De Vries & Zn."


@pytest.mark.parametrize("kind", ["sales_invoice", "purchase_invoice", "journal_entry"])
def test_a_booked_record_is_not_booked_twice(sim, relations, kind):
    first = relations.deliver(kind, RECORDS[kind](), idempotency_key="k")
    again = relations.deliver(kind, RECORDS[kind](), idempotency_key="k")

    assert again.result is Result.ALREADY_BOOKED
    assert again.external_id == first.external_id
    assert len(ledger_keys(sim, ENTITIES[kind])) == 1


def test_a_lost_answer_is_in_doubt_and_then_found(sim, relations):
    sim.set_faults(drop_after_book_rate=1)
    with pytest.raises(DeliveryError) as dropped:
        relations.deliver("sales_invoice", sales_invoice(), idempotency_key="k")
    sim.set_faults(drop_after_book_rate=0)

    assert dropped.value.fault is Fault.IN_DOUBT
    assert relations.find_existing("sales_invoice", sales_invoice()) == "VF2024-000001"
    assert (
        relations.deliver("sales_invoice", sales_invoice(), idempotency_key="k").result
        is Result.ALREADY_BOOKED
    )
    assert len(ledger_keys(sim, "CustomerInvoice")) == 1


@pytest.mark.parametrize("form", ["seconds", "http-date"])
def test_429_is_transient_with_its_retry_after(sim, connector, form):
    sim.set_faults(burst_429=1, retry_after_format=form, retry_after_seconds=30)

    with pytest.raises(DeliveryError) as limited:
        connector.deliver("customer", customer(), idempotency_key="k")

    assert limited.value.fault is Fault.TRANSIENT
    assert 28 <= limited.value.retry_after <= 31
    assert connector.deliver("customer", customer(), idempotency_key="k").result is Result.BOOKED


def test_a_5xx_is_transient(sim, connector):
    sim.set_faults(error_rate=1)

    with pytest.raises(DeliveryError) as failed:
        connector.deliver("customer", customer(), idempotency_key="k")

    assert failed.value.fault is Fault.TRANSIENT
    assert ledger_keys(sim, "Customer") == []


def test_a_timeout_on_a_post_is_in_doubt_and_on_a_look_up_transient(sim, connector):
    connector.client.timeout = httpx.Timeout(5.0, read=0.3)
    sim.set_faults(timeout_rate=1, timeout_seconds=2)

    with pytest.raises(DeliveryError) as posted:
        connector.deliver("customer", customer(), idempotency_key="k")
    with pytest.raises(DeliveryError) as looked_up:
        connector.find_existing("customer", customer())

    assert posted.value.fault is Fault.IN_DOUBT
    assert looked_up.value.fault is Fault.TRANSIENT
    assert posted.value.exchanges[-1].status is None


def test_an_expiring_token_is_renewed_on_the_way(sim, connector):
    sim.set_faults(token_ttl=2)
    connector._renew(connector.credentials.load()["access_token"], [])
    for n in range(3):
        connector.deliver("customer", customer(code=f"D10{n}"), idempotency_key="k")
        time.sleep(1.1)

    assert connector.credentials.rotations >= 2
    assert len(ledger_keys(sim, "Customer")) == 3


def test_a_401_renews_the_token_once(sim, connector):
    sim.set_faults(token_ttl=1)
    store = connector.credentials
    connector._renew(store.load()["access_token"], [])
    # The store still believes the token lives an hour; the package knows better.
    store._credentials["expires_at"] = time.time() + 3600
    time.sleep(1.2)

    outcome = connector.deliver("customer", customer(), idempotency_key="k")

    assert outcome.result is Result.BOOKED
    assert [e.status for e in outcome.exchanges][:3] == [401, 200, 201]


def test_a_used_refresh_token_is_refused(sim, connector):
    old = connector.credentials.load()
    connector._renew(old["access_token"], [])
    stale = MemoryCredentialStore(**(old | {"expires_at": 0}))
    replay = MultiversConnector(
        base_url=sim.base_url,
        settings=SETTINGS,
        credentials=stale,
        client=build_client(base_url=sim.base_url),
    )

    with pytest.raises(DeliveryError) as refused:
        replay.deliver("customer", customer(), idempotency_key="k")

    assert refused.value.fault is Fault.RUN
    assert "reconnect the integration" in refused.value.message


def test_revoked_credentials_stop_the_run(sim, connector):
    sim.set_faults(revoke_tokens=True)

    with pytest.raises(DeliveryError) as refused:
        connector.deliver("customer", customer(), idempotency_key="k")

    assert refused.value.fault is Fault.RUN
    assert refused.value.message.startswith("Multivers Online refused the login")


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
