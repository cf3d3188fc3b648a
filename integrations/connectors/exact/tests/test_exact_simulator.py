from __future__ import annotations

import time

import httpx
import pytest

from integrations.connectors.exact.simulator.entries import gl_guid
from integrations.simulators.testing import api_client

DIV = "/api/v1/123456"
REPRESENTATION = {"Prefer": "return=representation"}


def error_value(answer: httpx.Response) -> str:
    return answer.json()["error"]["message"]["value"]


def create_account(api: httpx.Client, code: str, **fields: object) -> str:
    answer = api.post(
        f"{DIV}/crm/Accounts", json={"Code": code, "Name": f"Relation {code}", **fields}
    )
    assert answer.status_code == 201, answer.text
    return answer.json()["d"]["ID"]


def sales_entry(customer: str, **changes: object) -> dict:
    line = {"GLAccount": gl_guid("8000"), "AmountFC": 100, "VATCode": "1", "Description": "Work"}
    body = {
        "Journal": "70",
        "Customer": customer,
        "EntryDate": "2024-03-15",
        "YourRef": "F2024-001",
        "SalesEntryLines": [line],
    }
    return {**body, **changes}


def journal_entry(*amounts: int, **line_changes: object) -> dict:
    lines = [
        {"GLAccount": gl_guid("4000"), "AmountFC": a, "Date": "2021-12-31", **line_changes}
        for a in amounts
    ]
    return {"JournalCode": "90", "GeneralJournalEntryLines": lines}


def test_me_names_the_current_division(exact):
    with api_client(exact) as api:
        assert api.get("/api/v1/current/Me").json()["d"]["results"][0]["CurrentDivision"] == 123456


def test_another_division_is_forbidden(exact):
    with api_client(exact) as api:
        answer = api.get("/api/v1/999/crm/Accounts")
    assert answer.status_code == 403 and error_value(answer) == "Forbidden - WrongDivision"


def test_an_expired_token_answers_401_in_exact_words(exact):
    exact.set_faults(token_ttl=0)
    with api_client(exact) as api:
        answer = api.get("/api/v1/current/Me")
    assert answer.status_code == 401
    assert answer.json() == {
        "error": {"code": "", "message": {"lang": "", "value": "Unauthorized"}}
    }


def test_the_old_refresh_token_is_refused_after_a_refresh(exact):
    exact.set_faults(token_min_interval=0)
    tokens = exact.login()
    assert tokens["expires_in"] == 600
    form = {
        "grant_type": "refresh_token",
        "client_id": exact.client_id,
        "client_secret": exact.client_secret,
    }
    assert (
        httpx.post(
            exact.token_url, data={**form, "refresh_token": tokens["refresh_token"]}
        ).status_code
        == 200
    )
    again = httpx.post(exact.token_url, data={**form, "refresh_token": tokens["refresh_token"]})
    assert again.json() == {
        "error": "invalid_grant",
        "error_description": "Old refresh token used.",
    }


def test_an_account_code_comes_back_padded_and_eq_finds_only_the_padded_value(exact):
    with api_client(exact) as api:
        answer = api.post(
            f"{DIV}/crm/Accounts", json={"Code": "C0001", "Name": "Acme"}, headers=REPRESENTATION
        )
        assert answer.json()["d"]["Code"] == "C0001".rjust(18)
        found = {
            code: api.get(
                f"{DIV}/crm/Accounts", params={"$filter": f"Code eq '{code}'", "$select": "ID,Code"}
            ).json()["d"]["results"]
            for code in ("C0001", "C0001".rjust(18))
        }
        assert found["C0001"] == []
        assert [row["Code"] for row in found["C0001".rjust(18)]] == ["C0001".rjust(18)]
        assert (
            error_value(api.post(f"{DIV}/crm/Accounts", json={"Code": "C0001", "Name": "Again"}))
            == "In use: Code"
        )
        key = answer.json()["d"]["ID"]
        assert (
            api.put(f"{DIV}/crm/Accounts(guid'{key}')", json={"Name": "Acme Holding"}).status_code
            == 204
        )
        assert api.get(f"{DIV}/crm/Accounts(guid'{key}')").json()["d"]["Name"] == "Acme Holding"
    assert [b.get("update", False) for b in exact.ledger()] == [False, True]


def test_the_same_your_ref_twice_is_booked_twice_as_real_exact_does(exact):
    with api_client(exact) as api:
        customer = create_account(api, "C0001")
        created = [
            api.post(
                f"{DIV}/salesentry/SalesEntries", json=sales_entry(customer), headers=REPRESENTATION
            )
            for _ in range(2)
        ]
        assert [c.status_code for c in created] == [201, 201]
        assert [c.json()["d"]["EntryNumber"] for c in created] == [1, 2]
        found = api.get(
            f"{DIV}/salesentry/SalesEntries", params={"$filter": "YourRef eq 'F2024-001'"}
        )
    assert [row["EntryID"] for row in found.json()["d"]["results"]] == [
        c.json()["d"]["EntryID"] for c in created
    ]
    assert [b["key"] for b in exact.ledger() if b["entity"] == "SalesEntry"] == ["F2024-001"] * 2


def test_a_reused_entry_number_is_in_use(exact):
    with api_client(exact) as api:
        customer = create_account(api, "C0001")
        body = sales_entry(customer, EntryNumber=7)
        first = api.post(f"{DIV}/salesentry/SalesEntries", json=body)
        again = api.post(f"{DIV}/salesentry/SalesEntries", json=body | {"YourRef": "other"})
    assert first.status_code == 201
    assert again.status_code == 400 and error_value(again) == "In use: Document number"
    assert exact.refused_duplicates()[0]["entity"] == "SalesEntry"


@pytest.mark.parametrize(
    ("changes", "line_changes", "message"),
    [
        ({"Journal": None}, {}, "Required: Journal"),
        ({"EntryDate": "2019-12-31"}, {}, "Unknown: Financial year (Period-date table)"),
        ({}, {"CostCenter": "999"}, "Invalid: Cost center link"),
        ({}, {"GLAccount": None}, "Mandatory: Account"),
        ({}, {"GLAccount": gl_guid("9999")}, "Not found: Account"),
    ],
)
def test_a_sales_entry_with_a_bad_field_gets_exacts_message(exact, changes, line_changes, message):
    with api_client(exact) as api:
        body = sales_entry(create_account(api, "C0001"), **changes)
        body["SalesEntryLines"][0].update(line_changes)
        answer = api.post(f"{DIV}/salesentry/SalesEntries", json=body)
    assert answer.status_code == 400 and error_value(answer) == message


def test_several_messages_come_in_one_value_one_a_line(exact):
    with api_client(exact) as api:
        body = sales_entry(create_account(api, "C0001"), Journal=None)
        body["SalesEntryLines"][0]["GLAccount"] = None
        answer = api.post(f"{DIV}/salesentry/SalesEntries", json=body)
    assert error_value(answer) == "Required: Journal\r\nMandatory: Account"


def test_a_supplier_is_no_customer_for_a_sales_entry(exact):
    with api_client(exact) as api:
        supplier = create_account(api, "S0001", IsSupplier=True)
        answer = api.post(f"{DIV}/salesentry/SalesEntries", json=sales_entry(supplier))
    assert error_value(answer) == "Invalid: Customer (Type)"


def test_a_vat_code_on_the_memorial_journal_is_not_allowed(exact):
    with api_client(exact) as api:
        answer = api.post(
            f"{DIV}/generaljournalentry/GeneralJournalEntries",
            json=journal_entry(50, -50, VATCode="1"),
        )
    assert answer.status_code == 400 and error_value(answer) == "Not allowed: VAT code"


def test_an_unbalanced_journal_entry_is_a_business_rule_500(exact):
    with api_client(exact) as api:
        answer = api.post(
            f"{DIV}/generaljournalentry/GeneralJournalEntries", json=journal_entry(50, -40)
        )
        assert (
            api.post(
                f"{DIV}/generaljournalentry/GeneralJournalEntries", json=journal_entry(50, -50)
            ).status_code
            == 201
        )
    assert (
        answer.status_code == 500
        and error_value(answer) == "This entry is not balanced on: 2021 / 12"
    )


def test_a_purchase_entry_may_reuse_an_invoice_number(exact):
    with api_client(exact) as api:
        first, second = (
            create_account(api, "S1", IsSupplier=True),
            create_account(api, "S2", IsSupplier=True),
        )
        line = {"GLAccount": gl_guid("7000"), "AmountFC": 10, "VATCode": "5"}
        body = {
            "Journal": "60",
            "EntryDate": "2024-01-02",
            "YourRef": "INV-1",
            "PurchaseEntryLines": [line],
        }
        statuses = [
            api.post(
                f"{DIV}/purchaseentry/PurchaseEntries", json={**body, "Supplier": s}
            ).status_code
            for s in (first, second, first)
        ]
    assert statuses == [201, 201, 201]


def test_the_rate_limit_headers_count_down_and_reset_in_milliseconds(exact):
    exact.set_faults(rate_limit_per_minute=2)
    with api_client(exact) as api:
        answers = [api.get("/api/v1/123456/vat/VATCodes") for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert [a.headers["X-RateLimit-Minutely-Remaining"] for a in answers] == ["1", "0", "0"]
    assert answers[2].headers["X-RateLimit-Limit"] == "5000"
    reset_ms = int(answers[2].headers["X-RateLimit-Minutely-Reset"])
    assert time.time() * 1000 < reset_ms <= (time.time() + 60) * 1000


def test_a_burst_of_429s_carries_retry_after(exact):
    exact.set_faults(burst_429=1, retry_after_seconds=3)
    with api_client(exact) as api:
        answer = api.get("/api/v1/current/Me")
    assert answer.status_code == 429 and answer.headers["Retry-After"] == "3"


def test_a_dropped_connection_after_booking_leaves_the_booking_in_the_ledger(exact):
    exact.set_faults(drop_after_book_rate=1.0)
    with api_client(exact) as api, pytest.raises(httpx.RemoteProtocolError):
        api.post(f"{DIV}/crm/Accounts", json={"Code": "C0001", "Name": "Acme"})
    assert [b["key"] for b in exact.ledger()] == ["C0001"]


def test_error_rate_answers_transient_errors_and_reset_brings_the_defaults_back(exact):
    exact.set_faults(error_rate=1.0, rate_limit_per_minute=None)
    with api_client(exact) as api:
        assert api.get("/api/v1/current/Me").status_code in (500, 503)
    exact.reset()
    with api_client(exact) as api:
        answer = api.get("/api/v1/current/Me")
    assert answer.status_code == 200 and answer.headers["X-RateLimit-Minutely-Limit"] == "60"
