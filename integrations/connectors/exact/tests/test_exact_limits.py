"""Exact Online's limits as the simulator enforces them, each shortened by a knob."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from integrations.connectors.exact.tests.test_exact_simulator import (
    DIV,
    create_account,
    error_value,
    sales_entry,
)
from integrations.simulators.testing import REDIRECT_URI, api_client


def refresh(exact, refresh_token: str) -> httpx.Response:
    form = {
        "grant_type": "refresh_token",
        "refresh_token": refresh_token,
        "client_id": exact.client_id,
        "client_secret": exact.client_secret,
    }
    return httpx.post(exact.token_url, data=form)


def code_form(exact, code: str, redirect_uri: str = REDIRECT_URI) -> dict[str, str]:
    return {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,
        "client_id": exact.client_id,
        "client_secret": exact.client_secret,
    }


def new_code(exact, redirect_uri: str = REDIRECT_URI) -> str:
    location = httpx.get(exact.authorize_url(redirect_uri=redirect_uri)).headers["location"]
    return parse_qs(urlsplit(location).query)["code"][0]


# --- the error limit -------------------------------------------------------------------
def test_the_eleventh_error_on_an_endpoint_blocks_the_key_there_for_the_window(exact):
    exact.set_faults(error_window_seconds=2)
    with api_client(exact) as api:
        customer = create_account(api, "C0001")
        bad = sales_entry(customer, Journal=None)
        answers = [api.post(f"{DIV}/salesentry/SalesEntries", json=bad) for _ in range(11)]
        blocked = api.post(f"{DIV}/salesentry/SalesEntries", json=sales_entry(customer))
        elsewhere = api.get(f"{DIV}/crm/Accounts", params={"$select": "ID"})
        ledger = httpx.get(exact.root_url + "/_sim/errors").json()
        time.sleep(2.1)
        lifted = api.post(f"{DIV}/salesentry/SalesEntries", json=sales_entry(customer))

    assert [a.status_code for a in answers] == [400] * 11
    assert blocked.status_code == 429 and error_value(blocked) == "API rate limit exceeded"
    assert int(blocked.headers["Retry-After"]) <= 2
    assert elsewhere.status_code == 200  # per endpoint
    endpoint = ledger["endpoints"]["123456/salesentry/SalesEntries"]
    assert endpoint["errors_in_window"] == 11 and endpoint["by_status"] == {"400": 11}
    assert [b["endpoint"] for b in ledger["blocks"]] == ["123456/salesentry/SalesEntries"]
    assert lifted.status_code == 201
    assert exact.stats()["error_blocks"] == 1


def test_ten_errors_do_not_block_and_404s_and_401s_count_too(exact):
    with api_client(exact) as api:
        missing = [
            api.get(f"{DIV}/crm/Accounts(guid'00000000-0000-0000-0000-00000000000{n}')")
            for n in range(9)
        ]
        unauthorized = httpx.get(
            exact.base_url + f"{DIV}/crm/Accounts", headers={"Accept": "application/json"}
        )
        still_open = api.get(f"{DIV}/crm/Accounts")
    assert {a.status_code for a in missing} == {404} and unauthorized.status_code == 401
    assert still_open.status_code == 200
    errors = httpx.get(exact.root_url + "/_sim/errors").json()
    assert errors["endpoints"]["123456/crm/Accounts"]["by_status"] == {"401": 1, "404": 9}
    assert errors["blocks"] == []


# --- tokens ----------------------------------------------------------------------------
def test_a_token_sooner_than_570_seconds_is_refused_as_exact_refuses_it(exact):
    tokens = exact.login()
    early = refresh(exact, tokens["refresh_token"])
    assert early.status_code == 400
    assert early.json() == {
        "error": "access_denied",
        "error_description": "Rate limit exceeded: access_token not expired",
    }
    # The refused call did not use the refresh token up.
    exact.set_faults(token_min_interval=0)
    assert refresh(exact, tokens["refresh_token"]).status_code == 200


def test_the_token_interval_and_daily_token_calls_are_knobs(exact):
    exact.set_faults(token_min_interval=0.5, token_calls_per_day=3)
    tokens = exact.login()
    time.sleep(0.55)
    second = refresh(exact, tokens["refresh_token"]).json()
    time.sleep(0.55)
    third = refresh(exact, second["refresh_token"]).json()
    time.sleep(0.55)
    fourth = refresh(exact, third["refresh_token"])
    assert fourth.status_code == 400 and fourth.json()["error"] == "access_denied"


def test_the_cadence_is_counted_per_grant(exact):
    """Another user's link (another authorization) has its own 570 s."""
    first, second = exact.login(), exact.login()
    assert refresh(exact, first["refresh_token"]).status_code == 400
    assert second["access_token"] != first["access_token"]


def test_an_authorization_code_lives_about_three_minutes(exact):
    exact.set_faults(code_ttl=0.2)
    code = new_code(exact)
    time.sleep(0.3)
    answer = httpx.post(exact.token_url, data=code_form(exact, code))
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_grant"
    assert exact.set_faults()["code_ttl"] == 0.2
    exact.reset()
    assert exact.set_faults()["code_ttl"] == 180


def test_the_token_call_must_name_the_redirect_uri_of_the_code(exact):
    code = new_code(exact)
    answer = httpx.post(exact.token_url, data=code_form(exact, code, "http://localhost/other"))
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_grant"


def test_only_the_registered_redirect_uri_is_accepted_when_one_is_registered(exact):
    exact.set_faults(registered_redirect_uri="http://localhost:8000/cb")
    assert (
        httpx.get(exact.authorize_url(redirect_uri="http://localhost:8001/cb")).status_code == 400
    )
    code = new_code(exact, "http://localhost:8000/cb")
    answer = httpx.post(exact.token_url, data=code_form(exact, code, "http://localhost:8000/cb"))
    assert answer.status_code == 200


# --- the daily cap ---------------------------------------------------------------------
def test_the_daily_cap_answers_429_until_the_shortened_midnight(exact):
    exact.set_faults(rate_limit_per_day=3, day_seconds=2, rate_limit_per_minute=None)
    with api_client(exact) as api:
        # Start at the beginning of a simulated day, so the cap cannot reset mid-test.
        time.sleep(2 - time.time() % 2 + 0.05)
        answers = [api.get(f"{DIV}/vat/VATCodes") for _ in range(4)]
        reset_ms = int(answers[-1].headers["X-RateLimit-Reset"])
        time.sleep(max(0, reset_ms / 1000 - time.time()) + 0.05)
        after_midnight = api.get(f"{DIV}/vat/VATCodes")
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert [a.headers["X-RateLimit-Remaining"] for a in answers] == ["2", "1", "0", "0"]
    assert answers[0].headers["X-RateLimit-Limit"] == "3"
    assert after_midnight.status_code == 200
    assert after_midnight.headers["X-RateLimit-Remaining"] == "2"


# --- OData -----------------------------------------------------------------------------
def test_filter_takes_and_and_or(exact):
    with api_client(exact) as api:
        for code in ("A1", "A2", "A3"):
            create_account(api, code)
        padded = {code: code.rjust(18) for code in ("A1", "A2", "A3")}
        either = api.get(
            f"{DIV}/crm/Accounts",
            params={"$filter": f"Code eq '{padded['A1']}' or Code eq '{padded['A3']}'"},
        )
        both = api.get(
            f"{DIV}/crm/Accounts",
            params={"$filter": f"Code eq '{padded['A2']}' and Name eq 'Relation A2'"},
        )
    assert [r["Code"].strip() for r in either.json()["d"]["results"]] == ["A1", "A3"]
    assert [r["Code"].strip() for r in both.json()["d"]["results"]] == ["A2"]


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"$filter": "Colour eq 'red'"}, "No property 'Colour'"),
        ({"$select": "ID,Colour"}, "No property 'Colour'"),
        ({"$top": "abc"}, "Invalid value 'abc' for $top"),
        ({"$filter": "Code = 'x'"}, "Syntax error"),
        ({"$skiptoken": "guid'00000000-0000-0000-0000-000000000000'"}, "skip token"),
    ],
)
def test_a_bad_query_is_a_400_in_exacts_error_body(exact, params, words):
    with api_client(exact) as api:
        answer = api.get(f"{DIV}/crm/Accounts", params=params)
    assert answer.status_code == 400
    assert words in error_value(answer)


def test_pages_follow_next_with_a_url_encoded_guid_skiptoken(exact):
    exact.set_faults(rate_limit_per_minute=None)
    with api_client(exact) as api:
        ids = [create_account(api, f"P{n:03}") for n in range(130)]
        url, seen, pages = f"{DIV}/crm/Accounts?$select=ID,Code", [], 0
        while url:
            answer = api.get(url).json()["d"]
            seen += [row["ID"] for row in answer["results"]]
            url, pages = answer.get("__next"), pages + 1
            if url:
                assert "%24skiptoken=guid%27" in url or "$skiptoken=guid%27" in url
                assert f"guid%27{answer['results'][-1]['ID']}%27" in url
    assert pages == 3 and seen == ids


def test_json_only_when_asked_for(exact):
    token = exact.login()["access_token"]
    answer = httpx.get(
        exact.base_url + "/api/v1/current/Me", headers={"Authorization": f"Bearer {token}"}
    )
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/atom+xml")


def test_messages_come_in_the_connected_users_language(exact):
    exact.set_faults(user_language="nl-NL")
    with api_client(exact) as api:
        assert api.get("/api/v1/current/Me").json()["d"]["results"][0]["LanguageCode"] == "nl-NL"
        customer = create_account(api, "C0001")
        answer = api.post(
            f"{DIV}/salesentry/SalesEntries", json=sales_entry(customer, Journal=None)
        )
        numbered = sales_entry(customer, EntryNumber=5)
        api.post(f"{DIV}/salesentry/SalesEntries", json=numbered)
        in_use = api.post(f"{DIV}/salesentry/SalesEntries", json=numbered)
    assert error_value(answer) == "Verplicht: Dagboek"
    assert error_value(in_use) == "In gebruik: Boekstuknummer"


def test_with_accept_duplicates_a_reused_code_is_booked_twice(exact):
    exact.set_faults(accept_duplicates=True)
    with api_client(exact) as api:
        create_account(api, "C0001")
        create_account(api, "C0001")
    assert [b["key"] for b in exact.ledger()] == ["C0001", "C0001"]


def test_stats_show_when_each_grant_got_its_tokens_and_what_was_refused(exact):
    exact.set_faults(token_min_interval=0.3)
    tokens = exact.login()
    assert refresh(exact, tokens["refresh_token"]).status_code == 400
    time.sleep(0.35)
    assert refresh(exact, tokens["refresh_token"]).status_code == 200

    stats = exact.stats()
    [times] = stats["token_grants"]
    assert len(times) == 2 and times[1] - times[0] >= 0.3
    assert stats["token_refusals"] == {"early": 1}
    assert stats["token_calls"] == 3
