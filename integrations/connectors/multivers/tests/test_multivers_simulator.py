from __future__ import annotations

import email.utils
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from integrations.simulators.testing import REDIRECT_URI, api_client

DB = "/api/MVL00001"
CUSTOMER = {"customerId": "C0001", "shortName": "ACME", "name": "Acme BV", "creditSqueezeId": "0"}
LINE = {
    "accountId": "8000",
    "description": "Work",
    "creditAmount": 100,
    "transactionDate": "15-3-2024",
    "vatCodeId": "1",
}


def invoice(**changes: object) -> dict:
    body = {
        "invoiceId": "F2024-001",
        "customerId": "C0001",
        "fiscalYear": 2024,
        "periodNumber": 3,
        "invoiceDate": "15-3-2024",
        "journalId": "V",
        "journalTransaction": 1,
        "paymentConditionId": "30",
        "customerInvoiceLines": [dict(LINE)],
    }
    return {**body, **changes}


def entry(**changes: object) -> dict:
    body = {
        "journalId": "M",
        "fiscalYear": 2024,
        "periodNumber": 3,
        "journalTransaction": 7,
        "transactionDate": "15-3-2024",
        "finTransEntries": [
            {"accountId": "4000", "debitAmount": 50},
            {"accountId": "1100", "creditAmount": 50},
        ],
    }
    return {**body, **changes}


def only_message(answer: httpx.Response) -> tuple[str, str]:
    assert answer.status_code == 400, answer.text
    [message] = answer.json()["messages"]
    assert message["messageType"] == "Error"
    return message.get("path", ""), message["message"]


def test_the_code_flow_hands_out_tokens_that_open_the_api(multivers):
    answer = httpx.get(multivers.authorize_url(state="xyz"))
    assert answer.status_code == 302
    query = parse_qs(urlsplit(answer.headers["location"]).query)
    assert query["state"] == ["xyz"] and query["code"]
    with api_client(multivers) as api:
        assert api.get("/api/AdministrationNVL").json()[0] == {
            "name": "MVL00001",
            "value": "Demo BV",
        }


def test_a_code_works_only_once(multivers):
    location = httpx.get(multivers.authorize_url()).headers["location"]
    form = {
        "grant_type": "authorization_code",
        "code": parse_qs(urlsplit(location).query)["code"][0],
        "redirect_uri": REDIRECT_URI,
    }
    form |= {"client_id": multivers.client_id, "client_secret": multivers.client_secret}
    assert httpx.post(multivers.token_url, data=form).status_code == 200
    assert httpx.post(multivers.token_url, data=form).json()["error"] == "invalid_grant"


def test_an_unknown_client_is_sent_back_with_unauthorized_client(multivers):
    url = multivers.authorize_url().replace("cloud-portal-demo", "stranger")
    assert "error=unauthorized_client" in httpx.get(url).headers["location"]


def test_a_redirect_uri_off_localhost_gets_a_400_page(multivers):
    assert (
        httpx.get(multivers.authorize_url(redirect_uri="https://evil.example/cb")).status_code
        == 400
    )


def test_every_refresh_rotates_and_the_old_refresh_token_is_refused(multivers):
    tokens = multivers.login()
    form = {
        "grant_type": "refresh_token",
        "client_id": multivers.client_id,
        "client_secret": multivers.client_secret,
    }
    fresh = httpx.post(
        multivers.token_url, data={**form, "refresh_token": tokens["refresh_token"]}
    ).json()
    assert fresh["refresh_token"] != tokens["refresh_token"] and fresh["expires_in"] == 3600
    again = httpx.post(multivers.token_url, data={**form, "refresh_token": tokens["refresh_token"]})
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"


def test_an_expired_token_answers_401_in_multivers_words(multivers):
    multivers.set_faults(token_ttl=0)
    with api_client(multivers) as api:
        answer = api.get("/api/AdministrationNVL")
    assert answer.status_code == 401
    assert answer.json() == {"Message": "Authorization has been denied for this request."}


def test_revoked_tokens_are_refused_and_cannot_be_refreshed(multivers):
    tokens = multivers.login()
    multivers.set_faults(revoke_tokens=True)
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert (
        httpx.get(multivers.base_url + "/api/AdministrationNVL", headers=headers).status_code == 401
    )
    form = {
        "grant_type": "refresh_token",
        "refresh_token": tokens["refresh_token"],
        "client_id": multivers.client_id,
    }
    assert (
        httpx.post(multivers.token_url, data={**form, "client_secret": "demo-secret"}).status_code
        == 400
    )


def test_an_unknown_administration_is_404(multivers):
    with api_client(multivers) as api:
        assert api.post("/api/MVL09999/Customer", json=CUSTOMER).status_code == 404


def test_a_customer_is_booked_and_found_by_its_code(multivers):
    with api_client(multivers) as api:
        assert api.post(f"{DB}/Customer", json=CUSTOMER).status_code == 201
        assert api.get(f"{DB}/Customer/C0001").json()["shortName"] == "ACME"
        assert api.get(f"{DB}/Customer/C9999").status_code == 404
    [booking] = multivers.ledger()
    assert (booking["entity"], booking["key"], booking["id"]) == ("Customer", "C0001", "C0001")


@pytest.mark.parametrize(
    ("body", "path", "message"),
    [
        ({**CUSTOMER, "shortName": ""}, "/shortName", "ShortName is verplicht."),
        (
            {**CUSTOMER, "vatNumber": "NL123456789B01"},
            "/vatNumber",
            "Btwnummer 'NL123456789B01' is niet geldig. Het btw-nummer voldoet niet aan de 97-proef "
            "en moet de vorm NL999999999B99 hebben.",
        ),
    ],
)
def test_a_customer_with_a_bad_field_is_refused_on_that_field(multivers, body, path, message):
    with api_client(multivers) as api:
        assert only_message(api.post(f"{DB}/Customer", json=body)) == (path, message)
    assert multivers.ledger() == []


@pytest.mark.parametrize("number", ["NL000099998B57", "NL123456782B01", "BE0123456789"])
def test_valid_vat_numbers_pass_the_97_and_eleven_tests(multivers, number):
    with api_client(multivers) as api:
        assert api.post(f"{DB}/Customer", json={**CUSTOMER, "vatNumber": number}).status_code == 201


def test_a_second_customer_with_the_same_code_is_refused_and_recorded(multivers):
    with api_client(multivers) as api:
        api.post(f"{DB}/Customer", json=CUSTOMER)
        assert only_message(api.post(f"{DB}/Customer", json=CUSTOMER)) == (
            "/customerId",
            "Klant 'C0001' bestaat al.",
        )
    assert len(multivers.ledger()) == 1
    assert multivers.refused_duplicates()[0]["key"] == "C0001"


@pytest.mark.parametrize(
    ("changes", "path", "message"),
    [
        ({"customerId": "C0404"}, "/customerId", "Klant 'C0404' bestaat niet."),
        ({"periodNumber": None}, "/periodNumber", "PeriodNumber is verplicht."),
        (
            {"customerInvoiceLines": [{**LINE, "vatCodeId": "9"}]},
            "/customerInvoiceLines/0/vatCodeId",
            "Btwcode '9' bestaat niet.",
        ),
        (
            {"customerInvoiceLines": [{**LINE, "accountId": "9999"}]},
            "/customerInvoiceLines/0/accountId",
            "Grootboekrekening '9999' bestaat niet.",
        ),
    ],
)
def test_an_invoice_with_a_bad_field_is_refused_on_that_field(multivers, changes, path, message):
    with api_client(multivers) as api:
        api.post(f"{DB}/Customer", json=CUSTOMER)
        assert only_message(api.post(f"{DB}/CustomerInvoice", json=invoice(**changes))) == (
            path,
            message,
        )


def test_an_invoice_number_is_booked_once_and_found_by_its_id(multivers):
    with api_client(multivers) as api:
        api.post(f"{DB}/Customer", json=CUSTOMER)
        assert api.post(f"{DB}/CustomerInvoice", json=invoice()).status_code == 201
        second = api.post(f"{DB}/CustomerInvoice", json=invoice(journalTransaction=2))
        assert only_message(second) == ("/invoiceId", "Factuurnummer 'F2024-001' is al geboekt.")
        assert api.get(f"{DB}/CustomerInvoice/F2024-001").json()["invoiceId"] == "F2024-001"
        assert api.get(f"{DB}/CustomerInvoice/nope").status_code == 404
    assert [b["entity"] for b in multivers.ledger()] == ["Customer", "CustomerInvoice"]


def test_the_next_journal_transaction_is_reserved_for_whoever_asked(multivers):
    with api_client(multivers) as api:
        query = {"fiscalYear": 2024, "journalId": "V"}
        numbers = [
            api.post(f"{DB}/GetNextJournalTransactionCommand", params=query).json()
            for _ in range(2)
        ]
    assert numbers == [1, 2]


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        # Documented with POST only.
        ("GET", "/GetNextJournalTransactionCommand?fiscalYear=2024&journalId=V", 405),
        # Invented list look-ups the reference does not show.
        ("GET", "/Customer?customerId=C0001", 405),
        ("GET", "/CustomerInvoice?invoiceId=F2024-001", 405),
        ("GET", "/FinTrans?document=MEM2025-000001", 405),
        # No .json suffix, and the reference's casing only.
        ("GET", "/Customer.json/C0001", 404),
        ("GET", "/customer/C0001", 404),
        ("GET", "/FinTrans/2024/M", 404),
        ("POST", "/VatCodeInfoList", 405),
    ],
)
def test_only_the_documented_calls_are_answered(multivers, method, path, status):
    with api_client(multivers) as api:
        api.post(f"{DB}/Customer", json=CUSTOMER)
        answer = api.request(method, DB + path)
    assert answer.status_code == status, answer.text
    assert "Message" in answer.json()


def test_with_accept_duplicates_a_second_copy_is_booked(multivers):
    multivers.set_faults(accept_duplicates=True)
    with api_client(multivers) as api:
        statuses = [api.post(f"{DB}/Customer", json=CUSTOMER).status_code for _ in range(2)]
    assert statuses == [201, 201]
    assert [b["key"] for b in multivers.ledger()] == ["C0001", "C0001"]
    assert multivers.refused_duplicates() == []


def test_a_relation_with_invoices_keeps_its_journal(multivers):
    with api_client(multivers) as api:
        api.post(f"{DB}/Customer", json=CUSTOMER)
        assert api.put(f"{DB}/Customer/C0001", json={"name": "Acme Holding"}).status_code == 200
        api.post(f"{DB}/CustomerInvoice", json=invoice())
        answer = api.put(f"{DB}/Customer/C0001", json={"journalId": "M"})
    assert only_message(answer) == ("/journalId", "Journaalcode mag niet gewijzigd worden.")
    assert multivers.ledger()[1]["update"] is True


def test_an_unbalanced_journal_entry_is_refused_and_a_balanced_one_found_by_its_key(multivers):
    with api_client(multivers) as api:
        unbalanced = entry(
            finTransEntries=[
                {"accountId": "4000", "debitAmount": 50},
                {"accountId": "1100", "creditAmount": 40},
            ]
        )
        assert only_message(api.post(f"{DB}/FinTrans", json=unbalanced)) == (
            "/finTransEntries",
            "Boeking is niet in balans.",
        )
        assert api.post(f"{DB}/FinTrans", json=entry()).status_code == 201
        assert api.get(f"{DB}/FinTrans/2024/M/7").json()["journalTransaction"] == 7
        assert api.get(f"{DB}/FinTrans/2024%2FM%2F7").status_code == 200


def test_rate_limits_answer_429_with_retry_after_in_seconds_or_as_a_date(multivers):
    multivers.set_faults(rate_limit_per_minute=1)
    with api_client(multivers) as api:
        assert api.get(f"{DB}/VatCodeInfoList").status_code == 200
        first = api.get(f"{DB}/VatCodeInfoList")
        multivers.set_faults(retry_after_format="http-date")
        second = api.get(f"{DB}/VatCodeInfoList")
    assert first.status_code == 429 and 1 <= int(first.headers["Retry-After"]) <= 60
    assert email.utils.parsedate_to_datetime(second.headers["Retry-After"]) is not None
    assert multivers.stats()["sent_429"] == 2


def test_a_burst_of_429s_ends_after_n_calls(multivers):
    multivers.set_faults(burst_429=2)
    with api_client(multivers) as api:
        statuses = [api.get(f"{DB}/JournalInfoList").status_code for _ in range(3)]
    assert statuses == [429, 429, 200]


def test_transient_errors_come_before_booking(multivers):
    multivers.set_faults(error_rate=1.0, seed=1)
    with api_client(multivers) as api:
        assert api.post(f"{DB}/Customer", json=CUSTOMER).status_code in (500, 503)
    assert multivers.ledger() == []


def test_a_timeout_books_nothing(multivers):
    multivers.set_faults(timeout_rate=1.0, timeout_seconds=5)
    with api_client(multivers) as api, pytest.raises(httpx.ReadTimeout):
        api.post(f"{DB}/Customer", json=CUSTOMER, timeout=0.3)
    assert multivers.ledger() == []


def test_a_dropped_connection_after_booking_leaves_the_booking_in_the_ledger(multivers):
    multivers.set_faults(drop_after_book_rate=1.0)
    with api_client(multivers) as api, pytest.raises(httpx.RemoteProtocolError):
        api.post(f"{DB}/Customer", json=CUSTOMER)
    assert [b["key"] for b in multivers.ledger()] == ["C0001"]


def test_reset_forgets_bookings_tokens_and_faults(multivers):
    headers = multivers.auth_headers()
    multivers.set_faults(error_rate=1.0)
    httpx.post(multivers.base_url + f"{DB}/Customer", json=CUSTOMER, headers=headers)
    multivers.reset()
    assert multivers.ledger() == [] and multivers.stats()["requests"] == 0
    assert (
        httpx.get(multivers.base_url + "/api/AdministrationNVL", headers=headers).status_code == 401
    )
