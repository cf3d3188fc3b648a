"""What only Twinfield does, against its simulator over real HTTP.

Login at the login service and calls to the cluster its token names; SOAP envelopes
with the token in the header; refusals answered in the document (``result="0"``) and
shown on our own fields; look-ups of a record in doubt through documented calls only.
"""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from integrations.connectors.base import DeliveryError, Fault, Result
from integrations.connectors.twinfield import soap
from integrations.connectors.twinfield.connector import TwinfieldConnector
from integrations.connectors.twinfield.forms import TwinfieldSettingsForm
from integrations.http import build_client

from .support import (
    KINDS,
    RELATIONS,
    SETTINGS,
    Store,
    bookings,
    connect,
    connected,
    natural_key,
    record,
    simulator,
    subject,
)


@pytest.fixture(scope="module")
def sim():
    with simulator() as running:
        yield running


@pytest.fixture
def twinfield(sim):
    return connect(sim)


def test_the_token_names_the_cluster_every_call_goes_to(sim):
    sim.reset()
    connector = connected(sim.base_url)

    assert connector.check_connection() == "NLA000001 — Demo BV"

    trail: list = []
    connector.find_existing("customer", record("customer", 5))
    connector._process(soap.element("list"), kind="", trail=trail, reads=True)
    urls = [exchange.url for exchange in trail]
    # Validated once per token: the cluster is kept for the token's life.
    assert all(url.endswith("/webservices/processxml.asmx") for url in urls)
    assert sim.stats()["token_calls"] == 1


def test_the_login_asks_for_the_claims_that_name_the_cluster_and_a_refresh_token(sim):
    sim.reset()
    connector = connected(sim.base_url)

    query = parse_qs(urlsplit(connector.authorize_url(redirect_uri="http://x/cb", state="s")).query)

    assert set(query["scope"][0].split()) >= {"openid", "twf.organisation", "offline_access"}
    assert query["nonce"][0]  # Twinfield wants one on every authorize request
    assert connector.credentials.load()["refresh_token"]


@pytest.mark.parametrize(
    ("office", "error"),
    [
        (" nla000001 ", None),
        ("NLA 000001", "An office code has letters, digits, - and _ only, e.g. NLA000001."),
    ],
)
def test_the_settings_form_takes_an_office_code(office, error):
    form = TwinfieldSettingsForm(
        {
            "base_url": "https://login.twinfield.com",
            "office": office,
            "destiny": "final",
            "debtors_account": "1300",
            "creditors_account": "1600",
        }
    )

    assert form.is_valid() is (error is None)
    if error is None:
        assert form.cleaned_data["office"] == "NLA000001"
    else:
        assert form.errors["office"] == [error]


def test_a_token_naming_a_cluster_outside_twinfield_stops_the_run():
    """A token must never be sent to a host the login service's answer made up."""

    def login_service(request: httpx.Request) -> httpx.Response:
        assert request.url.path.endswith("/accesstokenvalidation")
        return httpx.Response(200, json={"twf.clusterUrl": "https://evil.example.com"})

    connector = TwinfieldConnector(
        base_url="https://login.twinfield.com",
        settings={"office": "NLA000001"},
        credentials=Store(access_token="t", refresh_token="r", expires_at=9e12),  # noqa: S106
        client=httpx.Client(transport=httpx.MockTransport(login_service)),
    )

    with pytest.raises(DeliveryError) as refused:
        connector.check_connection()

    assert refused.value.fault is Fault.RUN
    assert "evil.example.com" in refused.value.message


def test_an_office_the_login_does_not_list_stops_the_run(sim):
    sim.reset()
    connector = connected(sim.base_url, {"office": "NLA999999"})

    with pytest.raises(DeliveryError) as refused:
        connector.check_connection()

    assert refused.value.fault is Fault.RUN
    assert "NLA999999" in refused.value.message


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_is_booked_with_our_key_where_twinfield_keeps_it(sim, twinfield, kind):
    data = subject(kind)

    outcome = twinfield.book(kind, data, idempotency_key="k")

    assert outcome.result is Result.BOOKED
    [booked] = bookings(sim, kind, natural_key(kind, data))
    assert booked["id"] == outcome.external_id
    if kind in RELATIONS:
        assert (booked["body"]["type"], booked["body"]["name"]) == (
            {"customer": "DEB", "supplier": "CRD"}[kind],
            data["name"],
        )
    else:
        journal = {"sales_invoice": "VRK", "purchase_invoice": "INK", "journal_entry": "MEMO"}
        assert booked["body"]["journal"] == journal[kind]
        assert outcome.external_id == f"NLA000001/{journal[kind]}/{booked['body']['number']}"


def test_an_invoice_is_a_total_line_on_the_relation_and_a_detail_line_a_line():
    connector = TwinfieldConnector(
        base_url="https://login.twinfield.com",
        settings={"office": "NLA000001"},
        credentials=Store(),
        client=httpx.Client(),
    )
    sale = record("sales_invoice", 9)  # example 9 is a credit note: negative amounts
    purchase = record("purchase_invoice", 1)

    credit_note = soap.parse(connector.to_package("sales_invoice", sale)["xml"])
    bill = soap.parse(connector.to_package("purchase_invoice", purchase)["xml"])

    assert credit_note.get("destiny") == "final"
    total, *details = credit_note.iterfind("lines/line")
    assert (total.get("type"), total.findtext("dim1"), total.findtext("dim2")) == (
        "total",
        "1300",
        sale["relation_code"],
    )
    assert total.findtext("debitcredit") == "credit"  # a credit note turns the sides round
    assert [d.findtext("debitcredit") for d in details] == ["debit"] * len(sale["lines"])
    assert {d.findtext("vatcode") for d in details} <= {"VH", "VL"}
    assert credit_note.findtext("header/invoicenumber") == sale["invoice_number"]
    assert credit_note.findtext("header/period") == f"{sale['fiscal_year']}/{sale['period']:02d}"
    bill_total = bill.find("lines/line[@type='total']")
    assert (bill_total.findtext("dim1"), bill_total.findtext("debitcredit")) == ("1600", "credit")
    assert {d.findtext("vatcode") for d in bill.iterfind("lines/line[@type='detail']")} <= {
        "IH",
        "IL",
    }


def test_a_journal_entry_carries_its_number_on_every_line():
    connector = TwinfieldConnector(
        base_url="https://login.twinfield.com",
        settings={"office": "NLA000001"},
        credentials=Store(),
        client=httpx.Client(),
    )
    entry = record("journal_entry", 3)

    document = soap.parse(connector.to_package("journal_entry", entry)["xml"])

    lines = list(document.iterfind("lines/line"))
    assert {line.get("type") for line in lines} == {"detail"}
    assert {line.findtext("invoicenumber") for line in lines} == {entry["entry_number"]}
    assert [line.findtext("debitcredit") for line in lines] == ["debit", "debit", "credit"]


@pytest.mark.parametrize(
    ("kind", "change", "field"),
    [
        ("sales_invoice", {"vat_code": "IH"}, "lines.0.vat_code"),
        ("sales_invoice", {"gl_account": "9999"}, "lines.0.gl_account"),
        ("purchase_invoice", {"cost_centre": "999"}, "lines.0.cost_centre"),
        ("journal_entry", {"cost_centre": "100"}, "lines.2.cost_centre"),
    ],
)
def test_a_refused_line_shows_twinfields_message_on_our_field(sim, twinfield, kind, change, field):
    data = subject(kind)
    line = 2 if kind == "journal_entry" else 0  # line 2 of the entry is a balance account
    data["lines"][line] |= change

    with pytest.raises(DeliveryError) as refused:
        twinfield.book(kind, data, idempotency_key="k")

    assert refused.value.fault is Fault.DATA
    assert list(refused.value.field_errors) == [field]
    assert refused.value.field_errors[field] in refused.value.message
    assert bookings(sim, kind) == []


def test_an_invoice_to_an_unknown_customer_lands_on_the_relation_code(sim, twinfield):
    with pytest.raises(DeliveryError) as refused:
        twinfield.book(
            "sales_invoice", subject("sales_invoice", relation_code="99999"), idempotency_key="k"
        )

    assert refused.value.field_errors == {"relation_code": "Debiteur '99999' bestaat niet."}


def test_a_relation_without_a_name_is_refused_on_the_name(sim, twinfield):
    """A missing mandatory element answers result="0" with the message on that element."""
    document = soap.element("dimension")
    soap.child(document, "type", "DEB")
    soap.child(document, "code", "D77")

    answer = twinfield._process(document, kind="customer", trail=[])

    assert answer.get("result") == "0"
    assert answer.find("name").get("msg") == "Naam is verplicht."
    with pytest.raises(DeliveryError) as refused:
        twinfield._raise_refusal("customer", answer, [])
    assert refused.value.field_errors == {"name": "Naam is verplicht."}


def test_an_existing_customer_is_changed_not_doubled(sim, twinfield):
    existing = record("customer", 0)

    outcome = twinfield.book("customer", existing | {"name": "Bakkerij & Zn."}, idempotency_key="k")

    assert (outcome.result, outcome.external_id) == (Result.UPDATED, existing["code"])
    assert [b["body"]["name"] for b in sim.ledger() if b.get("update")] == ["Bakkerij & Zn."]
    assert len(bookings(sim, "customer", existing["code"])) == 1


@pytest.mark.parametrize("kind", KINDS)
def test_a_booking_whose_answer_was_lost_is_found_and_not_booked_again(sim, twinfield, kind):
    data = subject(kind)
    sim.set_faults(drop_after_book_rate=1)
    try:
        with pytest.raises(DeliveryError) as dropped:
            twinfield.book(kind, data, idempotency_key="k")
    finally:
        sim.set_faults(drop_after_book_rate=0)
    assert dropped.value.fault is Fault.IN_DOUBT
    [booked] = bookings(sim, kind, natural_key(kind, data))

    if kind not in twinfield.findable:
        with pytest.raises(DeliveryError) as unknown:
            twinfield.find_existing(kind, data)
        assert unknown.value.fault is Fault.IN_DOUBT
        assert "check in Twinfield" in unknown.value.message
        return
    assert twinfield.find_existing(kind, data) == booked["id"]
    again = twinfield.book(kind, data, idempotency_key="k")
    expected = Result.UPDATED if kind in RELATIONS else Result.ALREADY_BOOKED
    assert (again.result, again.external_id) == (expected, booked["id"])
    assert len(bookings(sim, kind, natural_key(kind, data))) == 1


def test_a_number_twinfield_refuses_as_taken_is_already_booked(sim, twinfield):
    """The look-up before posting missed it (booked meanwhile): the refusal is the outcome."""

    class LooksTooEarly(TwinfieldConnector):
        looked = 0

        def _browse_invoice(self, kind, record, trail):
            self.looked += 1
            return None if self.looked == 1 else super()._browse_invoice(kind, record, trail)

    data = subject("sales_invoice")
    first = twinfield.book("sales_invoice", data, idempotency_key="k")
    late = LooksTooEarly(
        base_url=twinfield.base_url,
        settings=twinfield.settings,
        credentials=twinfield.credentials,
        client=twinfield.client,
    )

    again = late.book("sales_invoice", data, idempotency_key="k")

    assert (again.result, again.external_id) == (Result.ALREADY_BOOKED, first.external_id)
    assert sim.refused_duplicates()[-1]["key"] == data["invoice_number"]
    assert len(bookings(sim, "sales_invoice", data["invoice_number"])) == 1


def test_another_suppliers_invoice_with_the_same_number_is_not_this_one(sim, twinfield):
    twinfield.book("supplier", record("supplier", 1), idempotency_key="s")
    theirs = subject("purchase_invoice")
    twinfield.book("purchase_invoice", theirs, idempotency_key="k")
    ours = theirs | {"relation_code": record("supplier", 1)["code"]}

    assert twinfield.find_existing("purchase_invoice", ours) is None
    booked = twinfield.book("purchase_invoice", ours, idempotency_key="k")

    assert booked.result is Result.BOOKED
    assert len(bookings(sim, "purchase_invoice", theirs["invoice_number"])) == 2


def test_revoked_tokens_stop_the_run(sim, twinfield):
    sim.set_faults(revoke_tokens=True)

    with pytest.raises(DeliveryError) as refused:
        twinfield.book("customer", subject("customer"), idempotency_key="k")

    assert refused.value.fault is Fault.RUN
    assert refused.value.message.startswith("Twinfield refused the login: ")


def test_a_token_the_cluster_no_longer_takes_is_renewed_once(sim, twinfield):
    sim.set_faults(token_ttl=1)
    twinfield._renew(twinfield.credentials.load()["access_token"], [])
    # The token dies at the cluster while the connector still thinks it good.
    twinfield.credentials.credentials["expires_at"] = 9e12
    time.sleep(1.2)
    sim.set_faults(token_ttl=3600)

    outcome = twinfield.book("customer", subject("customer"), idempotency_key="k")

    assert outcome.result is Result.BOOKED
    assert twinfield.credentials.rotations == 2


@pytest.mark.parametrize("form", ["seconds", "http-date"])
def test_429_is_transient_with_its_retry_after(sim, twinfield, form):
    sim.set_faults(burst_429=1, retry_after_format=form, retry_after_seconds=45)

    with pytest.raises(DeliveryError) as limited:
        twinfield.book("customer", subject("customer"), idempotency_key="k")

    assert limited.value.fault is Fault.TRANSIENT
    assert 43 <= limited.value.retry_after <= 46


def test_a_5xx_is_transient_and_books_nothing(sim, twinfield):
    sim.set_faults(error_rate=1)

    with pytest.raises(DeliveryError) as failed:
        twinfield.book("sales_invoice", subject("sales_invoice"), idempotency_key="k")

    assert failed.value.fault is Fault.TRANSIENT
    sim.set_faults(error_rate=0)
    assert bookings(sim, "sales_invoice") == []


def test_failing_reads_are_transient_and_book_nothing(sim, twinfield):
    sim.set_faults(get_error_rate=1)

    with pytest.raises(DeliveryError) as failed:
        twinfield.book("sales_invoice", subject("sales_invoice"), idempotency_key="k")

    assert failed.value.fault is Fault.TRANSIENT
    sim.set_faults(get_error_rate=0)
    assert bookings(sim, "sales_invoice") == []


def test_the_access_token_never_reaches_the_exchanges(sim, twinfield):
    token = twinfield.credentials.load()["access_token"]

    outcome = twinfield.book("customer", subject("customer"), idempotency_key="k")
    twinfield.cache.clear()  # the token's cluster forgotten: it is validated again
    trail: list = []
    twinfield._process(soap.element("list"), kind="", trail=trail, reads=True)

    shown = [e.url + e.request_body + e.response_body for e in [*outcome.exchanges, *trail]]
    assert any("accesstokenvalidation" in text for text in shown)
    assert all(token not in text for text in shown)


def test_a_token_is_validated_once_for_every_connector_that_shares_the_cache(sim, twinfield):
    """Each worker and each slice of a run builds its own connector; with the
    integration's shared cache the login service is asked once per token, not by each."""
    trail: list = []
    twinfield._process(soap.element("list"), kind="", trail=trail, reads=True)
    another = TwinfieldConnector(
        base_url=sim.base_url,
        settings=SETTINGS,
        credentials=twinfield.credentials,
        client=build_client(base_url=sim.base_url),
        cache=twinfield.cache,
    )
    again: list = []
    another._process(soap.element("list"), kind="", trail=again, reads=True)

    assert again
    assert not [e for e in again if "accesstokenvalidation" in e.url]
    # The cache holds the cluster under a digest, never the token.
    token = twinfield.credentials.load()["access_token"]
    assert all(token not in key for key in twinfield.cache)
