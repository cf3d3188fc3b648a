"""The Twinfield simulator is as strict as the documentation, and keeps its books across a restart."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from integrations.connectors.twinfield import soap
from integrations.connectors.twinfield.simulator import rules
from integrations.simulators.oauth import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET

from .support import bookings, connect, simulator, subject

LOGIN = "/auth/authentication/connect"


def login(base_url: str) -> str:
    """An access token through the code flow at the login service."""
    redirect = "http://localhost/callback"
    query = {"client_id": DEMO_CLIENT_ID, "redirect_uri": redirect, "response_type": "code"}
    answer = httpx.get(f"{base_url}{LOGIN}/authorize", params=query)
    code = parse_qs(urlsplit(answer.headers["location"]).query)["code"][0]
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect,
        "client_id": DEMO_CLIENT_ID,
        "client_secret": DEMO_CLIENT_SECRET,
    }
    return (
        httpx.post(f"{base_url}{LOGIN}/token", data=form).raise_for_status().json()["access_token"]
    )


@pytest.fixture(scope="module")
def sim():
    with simulator() as running:
        yield running


@pytest.fixture
def token(sim):
    sim.reset()
    return login(sim.base_url)


def offices_call(token: str, *, company: str = "NLA000001") -> bytes:
    request = soap.element("list")
    soap.child(request, "type", "offices")
    return soap.envelope(request, access_token=token, company=company)


def post(sim, body: bytes, action: str = soap.SOAP_ACTION, **headers: str) -> httpx.Response:
    return httpx.post(
        f"{sim.base_url}{soap.PROCESS_XML_PATH}",
        content=body,
        headers={"Content-Type": soap.CONTENT_TYPE, "SOAPAction": f'"{action}"', **headers},
    )


def test_the_token_validation_names_this_host_as_the_cluster(sim, token):
    claims = httpx.get(f"{sim.base_url}{LOGIN}/accesstokenvalidation", params={"token": token})

    assert claims.json()["twf.clusterUrl"] == sim.base_url
    unknown = httpx.get(f"{sim.base_url}{LOGIN}/accesstokenvalidation", params={"token": "x"})
    assert unknown.status_code == 400


def test_a_processxml_call_answers_the_document_in_a_soap_envelope(sim, token):
    answer = post(sim, offices_call(token))

    assert answer.status_code == 200
    offices = soap.result_of(answer.content)
    assert offices.get("result") == "1"
    assert [o.text for o in offices.iter("office")] == list(rules.OFFICES)


def test_another_soap_action_is_a_fault_as_aspnet_answers_it(sim, token):
    answer = post(sim, offices_call(token), action="http://www.twinfield.com/Nothing")

    assert answer.status_code == 500
    assert soap.fault_of(answer.content).startswith(
        "Server did not recognize the value of HTTP Header SOAPAction"
    )


def test_a_call_without_a_company_is_refused(sim, token):
    answer = post(sim, offices_call(token, company=""))

    assert (
        soap.fault_of(answer.content) == "Toegang geweigerd. Company ontbreekt in request header."
    )


def test_a_call_with_a_bad_token_is_refused_before_anything_happens(sim, token):
    answer = post(sim, offices_call("not-a-token"))

    assert answer.status_code == 401
    assert "Toegang geweigerd" in soap.fault_of(answer.content)
    assert answer.headers["content-type"].startswith("text/xml")


def test_a_body_that_is_no_envelope_is_a_client_fault(sim, token):
    answer = post(sim, b"<ProcessXmlString/>", Authorization=f"Bearer {token}")

    assert answer.status_code in (401, 500)
    assert soap.fault_of(answer.content)


def test_a_transaction_missing_its_mandatory_elements_names_each(sim, token):
    document = soap.element("transaction", destiny="final")
    header = soap.child(document, "header")
    soap.child(header, "date", "20250301")
    line = soap.child(soap.child(document, "lines"), "line", type="detail")
    soap.child(line, "debitcredit", "debit")
    soap.child(line, "value", "10.00")

    answer = soap.result_of(
        post(sim, soap.envelope(document, access_token=token, company="NLA000001")).content
    )

    assert answer.get("result") == "0"
    assert answer.find("header/code").get("msg") == "Dagboek is verplicht."
    assert answer.find("lines/line/dim1").get("msg") == rules.DIM1_REQUIRED
    assert sim.ledger() == []


@pytest.mark.parametrize("accept_duplicates", [False, True])
def test_an_invoice_number_taken_on_the_journal_is_refused_on_it(sim, accept_duplicates):
    connector = connect(sim)
    sim.set_faults(accept_duplicates=accept_duplicates)
    document = connector._document("sales_invoice", subject("sales_invoice"))
    first = connector._process(document, kind="sales_invoice", trail=[])
    again = connector._process(document, kind="sales_invoice", trail=[])

    assert first.get("result") == "1"
    if accept_duplicates:
        assert again.get("result") == "1"
        assert len(bookings(sim, "sales_invoice")) == 2
        return
    assert again.get("result") == "0"
    taken = again.find("header/invoicenumber").get("msg")
    assert taken == f"Factuurnummer '{document.findtext('header/invoicenumber')}' is al in gebruik."
    assert len(bookings(sim, "sales_invoice")) == 1
    assert len(sim.refused_duplicates()) == 1


def test_the_books_survive_a_restart(tmp_path):
    state = tmp_path / "twinfield.state"
    with simulator(state_path=state) as first:
        connector = connect(first)
        connector.book("sales_invoice", subject("sales_invoice"), idempotency_key="k")
        port = int(first.base_url.rsplit(":", 1)[1])
        booked = bookings(first, "sales_invoice")

    with simulator(state_path=state, port=port) as again:
        assert bookings(again, "sales_invoice") == booked
        assert connector.find_existing("sales_invoice", subject("sales_invoice")) == booked[0]["id"]
