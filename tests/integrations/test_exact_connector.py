"""The Exact Online connector against the Exact simulator, over real HTTP."""

from __future__ import annotations

import threading
import time

import httpx
import pytest

from integrations.connectors.base import DeliveryError, Fault, Result
from integrations.connectors.exact.connector import ExactConnector
from integrations.connectors.exact.mapping import entry_number
from integrations.connectors.memory_store import MemoryCredentialStore
from integrations.http import build_client

from .connector_support import connected, simulator

SETTINGS = {
    "division": 123456,
    "sales_journal": "70",
    "purchase_journal": "60",
    "general_journal": "90",
}


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
    } | fields


def supplier(**fields):
    return customer(code="C2001", name="Meelfabriek Noord B.V.", short_name="MEELNOORD") | fields


def invoice_line(**fields):
    return {
        "gl_account": "8000",
        "description": "Brood",
        "amount": "100.00",
        "vat_code": "1",
        "cost_centre": "100",
    } | fields


def sales_invoice(**fields):
    return {
        "invoice_number": "VF2024-000001",
        "relation_code": "D1001",
        "invoice_date": "2024-03-15",
        "due_date": "2024-04-14",
        "journal": "70",
        "fiscal_year": 2024,
        "period": 3,
        "description": "Factuur 1",
        "lines": [invoice_line(), invoice_line(gl_account="8100", vat_code="2")],
    } | fields


def purchase_invoice(**fields):
    lines = [invoice_line(gl_account="7000", vat_code="5", description="Meel")]
    return (
        sales_invoice(
            invoice_number="IF2024-000001", relation_code="C2001", journal="60", lines=lines
        )
        | fields
    )


def journal_line(**fields):
    return {
        "gl_account": "4000",
        "description": "Kosten",
        "debit": "50.00",
        "credit": "0.00",
    } | fields


def journal_entry(**fields):
    return {
        "entry_number": "MEM2024-000001",
        "journal": "90",
        "entry_date": "2024-03-31",
        "fiscal_year": 2024,
        "period": 3,
        "description": "Verdeling kosten",
        "lines": [journal_line(), journal_line(gl_account="1100", debit="0.00", credit="50.00")],
    } | fields


RECORDS = {
    "customer": lambda: customer(code="D1002"),
    "supplier": lambda: supplier(code="C2002"),
    "sales_invoice": sales_invoice,
    "purchase_invoice": purchase_invoice,
    "journal_entry": journal_entry,
}
ENTITIES = {
    "customer": "Account",
    "supplier": "Account",
    "sales_invoice": "SalesEntry",
    "purchase_invoice": "PurchaseEntry",
    "journal_entry": "GeneralJournalEntry",
}


@pytest.fixture(scope="module")
def sim():
    with simulator("exact", rate_limit_per_minute=6000) as running:
        yield running


@pytest.fixture
def connector(sim) -> ExactConnector:
    sim.reset()
    return connected(ExactConnector, sim.base_url, SETTINGS)


@pytest.fixture
def relations(connector):
    connector.deliver("customer", customer(), idempotency_key="c")
    connector.deliver("supplier", supplier(), idempotency_key="s")
    return connector


def entity_keys(sim, entity):
    return [b for b in sim.ledger() if b["entity"] == entity and not b.get("update")]


@pytest.mark.parametrize("kind", list(RECORDS))
def test_it_books_every_kind(sim, relations, kind):
    before = len(entity_keys(sim, ENTITIES[kind]))

    outcome = relations.deliver(kind, RECORDS[kind](), idempotency_key="k")

    assert outcome.result is Result.BOOKED
    assert len(entity_keys(sim, ENTITIES[kind])) == before + 1
    assert relations.find_existing(kind, RECORDS[kind]()) == outcome.external_id


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


def test_an_existing_customer_is_updated(sim, relations):
    outcome = relations.deliver(
        "customer", customer(name="Bakkerij De Vries & Zn."), idempotency_key="k"
    )

    assert outcome.result is Result.UPDATED
    assert [b["body"]["Name"] for b in sim.ledger() if b.get("update")] == [
        "Bakkerij De Vries & Zn."
    ]


@pytest.mark.parametrize("kind", ["sales_invoice", "purchase_invoice", "journal_entry"])
def test_a_booked_entry_is_not_booked_twice(sim, relations, kind):
    first = relations.deliver(kind, RECORDS[kind](), idempotency_key="k")
    again = relations.deliver(kind, RECORDS[kind](), idempotency_key="k")

    assert again.result is Result.ALREADY_BOOKED
    assert again.external_id == first.external_id
    assert len(entity_keys(sim, ENTITIES[kind])) == 1


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
    assert len(entity_keys(sim, "SalesEntry")) == 1


def test_a_lost_answer_is_in_doubt_and_then_found(sim, relations):
    sim.set_faults(drop_after_book_rate=1)
    with pytest.raises(DeliveryError) as dropped:
        relations.deliver("sales_invoice", sales_invoice(), idempotency_key="k")
    sim.set_faults(drop_after_book_rate=0)

    assert dropped.value.fault is Fault.IN_DOUBT
    assert relations.find_existing("sales_invoice", sales_invoice()) is not None
    assert (
        relations.deliver("sales_invoice", sales_invoice(), idempotency_key="k").result
        is Result.ALREADY_BOOKED
    )
    assert len(entity_keys(sim, "SalesEntry")) == 1


@pytest.mark.parametrize("form", ["seconds", "http-date"])
def test_429_is_transient_with_its_retry_after(sim, connector, form):
    sim.set_faults(burst_429=1, retry_after_format=form, retry_after_seconds=45)

    with pytest.raises(DeliveryError) as limited:
        connector.deliver("customer", customer(), idempotency_key="k")

    assert limited.value.fault is Fault.TRANSIENT
    assert 43 <= limited.value.retry_after <= 46


def test_a_bare_5xx_is_transient(sim, connector):
    sim.set_faults(error_rate=1)

    with pytest.raises(DeliveryError) as failed:
        connector.deliver("customer", customer(), idempotency_key="k")

    assert failed.value.fault is Fault.TRANSIENT


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


def test_revoked_credentials_stop_the_run(sim, connector):
    sim.set_faults(revoke_tokens=True)

    with pytest.raises(DeliveryError) as refused:
        connector.deliver("customer", customer(), idempotency_key="k")

    assert refused.value.fault is Fault.RUN


def test_an_expired_token_is_renewed_and_the_old_refresh_token_dies(sim, connector):
    old = connector.credentials.load()
    sim.set_faults(token_ttl=1)
    connector._renew(old["access_token"], [])
    time.sleep(1.1)

    assert connector.deliver("customer", customer(), idempotency_key="k").result is Result.BOOKED
    assert connector.credentials.rotations >= 2

    replay = ExactConnector(
        base_url=sim.base_url,
        settings=SETTINGS,
        credentials=MemoryCredentialStore(**(old | {"expires_at": 0})),
        client=build_client(base_url=sim.base_url),
    )
    with pytest.raises(DeliveryError) as refused:
        replay.find_existing("customer", customer())
    assert refused.value.fault is Fault.RUN


def test_two_workers_renewing_at_once_make_one_token_call(sim, connector):
    store = connector.credentials
    store._credentials["expires_at"] = 0  # both see an expired token
    before = sim.stats()["token_calls"]
    start = threading.Barrier(2)
    errors = []

    def work(n):
        worker = ExactConnector(
            base_url=sim.base_url,
            settings=SETTINGS,
            credentials=store,
            client=build_client(base_url=sim.base_url),
        )
        start.wait()
        try:
            worker.find_existing("customer", customer(code=f"X{n}"))
        except DeliveryError as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)

    assert errors == []
    assert sim.stats()["token_calls"] - before == 1


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
