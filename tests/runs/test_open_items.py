"""Open items back to the ERP: imports against both simulators, the snapshot, the API."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import httpx
import pytest

from integrations.canonical import identifier_of
from integrations.simulators.testing import run_simulator
from runs.models import OpenItem, Run, RunKind, RunStatus, Trigger
from runs.services.open_items import open_items_import_start
from runs.services.runs import NewLine, run_create
from tests.runs.conftest import connect, record

EXACT_SETTINGS = {
    "division": 123456,
    "sales_journal": "70",
    "purchase_journal": "60",
    "general_journal": "90",
}
# The simulators answer as fast as the engine may call: no pacing to wait out here.
FAST_EXACT = {"exact": {"rate_limit": (6000, 60)}}


@pytest.fixture(params=["multivers", "exact"])
def package(request, settings, integration, shared_state, eager, fast_engine):
    """An integration connected to a fresh simulator of each package."""
    settings.CONNECTOR_LIMITS = FAST_EXACT
    knobs = {"rate_limit_per_minute": 6000} if request.param == "exact" else {}
    with run_simulator(request.param, seed=7, **knobs) as sim:
        if request.param == "exact":
            integration.connector = "exact"
            integration.settings = EXACT_SETTINGS
            integration.save()
        yield connect(integration, sim), sim


def invoices(connector: str, count: int) -> list[NewLine]:
    """``count`` customers and suppliers, a sales and a purchase invoice for each."""
    made = []
    for kind in ("customer", "supplier", "sales_invoice", "purchase_invoice"):
        for n in range(count):
            data = record(kind, n, connector)
            made.append(NewLine(kind, identifier_of(kind, data), data))
    return made


def total(data: dict) -> Decimal:
    """What the invoice asks: its lines' amounts and VAT."""
    return sum(
        (Decimal(line["amount"]) + Decimal(line.get("vat_amount") or 0) for line in data["lines"]),
        Decimal(0),
    )


def book(integration, count: int = 2) -> dict[str, dict]:
    run = run_create(
        integration=integration,
        trigger=Trigger.INTAKE,
        lines=invoices(integration.connector, count),
    )
    run.refresh_from_db()
    assert (run.status, run.failed) == (RunStatus.FINISHED, 0), run.error
    return {
        line.payload["invoice_number"]: line.payload
        for line in run.lines.filter(kind__in=("sales_invoice", "purchase_invoice"))
    }


def fetch(integration) -> Run:
    run = open_items_import_start(integration=integration, trigger=Trigger.MANUAL)
    assert run is not None
    run.refresh_from_db()
    return run


def pay(sim, integration, side: str, invoice: str, amount: str | None = None) -> None:
    body: dict = {"side": side, "invoice": invoice}
    if amount is not None:
        body["amount"] = amount
    if integration.connector == "exact":
        body["division"] = 123456
    else:
        body["database"] = "MVL00001"
    answer = httpx.post(f"{sim.root_url}/_sim/payments", json=body)
    assert answer.status_code == 200, answer.text


def items(integration) -> dict[str, OpenItem]:
    return {item.invoice_number: item for item in OpenItem.objects.filter(integration=integration)}


def api(client, integration, token: str, **query):
    return client.get(
        "/api/v1/open-items", query, headers={"Authorization": f"Bearer {token}"}
    ).json()


def test_open_items_follow_what_was_booked_and_paid(package, client):
    integration, sim = package
    booked = book(integration)
    first = fetch(integration)

    assert first.status == RunStatus.FINISHED, first.error
    assert (first.kind, first.items_read, first.items_changed) == (RunKind.OPEN_ITEMS, 4, 4)
    found = items(integration)
    assert set(found) == set(booked)
    for number, data in booked.items():
        item = found[number]
        assert item.open_amount == total(data)
        assert item.relation_code == data["relation_code"]
        assert item.side == ("receivable" if data["journal"] in ("70", "V") else "payable")
        assert item.invoice_date.isoformat() == data["invoice_date"]
        assert item.due_date.isoformat() == data["due_date"]
        assert item.closed_at is None

    [partly, fully] = sorted(n for n, d in booked.items() if n.startswith("VF"))
    pay(sim, integration, "receivable", partly, "5.00")
    pay(sim, integration, "receivable", fully)
    second = fetch(integration)

    assert (second.items_read, second.items_changed, second.items_closed) == (3, 1, 1)
    found = items(integration)
    assert found[partly].open_amount == total(booked[partly]) - Decimal("5.00")
    assert found[partly].closed_at is None
    assert found[fully].closed_at is not None
    token = integration.issue_intake_token()
    changes = api(client, integration, token, changed_since=first.number)
    assert changes["cursor"] == second.number
    assert {(i["invoice_number"], i["status"]) for i in changes["items"]} == {
        (partly, "open"),
        (fully, "closed"),
    }
    assert api(client, integration, token, changed_since=second.number)["items"] == []
    still_open = api(client, integration, token)["items"]
    assert {i["invoice_number"] for i in still_open} == set(booked) - {fully}


def test_the_import_pages_through_the_packages_list(package, client):
    integration, sim = package
    sim.set_faults(list_page_size=1)  # Exact: one row a page; Multivers pages per relation
    booked = book(integration, count=3)

    asked = sim.stats()["requests"]
    run = fetch(integration)

    assert run.status == RunStatus.FINISHED, run.error
    assert set(items(integration)) == set(booked)
    # Exact: 3 receivables and 3 payables, a page each. Multivers: both relation lists,
    # then each of the 3 customers' and 3 suppliers' open invoices.
    pages = {"exact": 6, "multivers": 2 + 6}[integration.connector]
    assert sim.stats()["requests"] - asked == pages
    token = integration.issue_intake_token()
    first = api(client, integration, token, limit=4)
    rest = client.get(first["next"], headers={"Authorization": f"Bearer {token}"}).json()
    assert len(first["items"]) == 4
    assert rest["next"] is None
    assert {i["invoice_number"] for i in first["items"] + rest["items"]} == set(booked)


@pytest.mark.parametrize("fault", ["missing_field", "wrong_type", "empty_next"])
def test_a_bad_answer_fails_the_import_and_keeps_the_previous_snapshot(package, client, fault):
    integration, sim = package
    if fault == "empty_next" and integration.connector == "multivers":
        pytest.skip("Multivers' open-invoice lists are not paged: no next link to send")
    book(integration)
    good = fetch(integration)
    before = {n: (i.open_amount, i.closed_at) for n, i in items(integration).items()}
    sim.set_faults(open_items_fault=fault)

    bad = fetch(integration)

    assert bad.status == RunStatus.FAILED
    assert "cannot read" in bad.error
    assert "previous open items stay current" in bad.error
    expected = {
        "missing_field": "is missing",
        "wrong_type": "wrong type",
        "empty_next": "an empty page with a link to a next one",
    }[fault]
    assert expected in bad.error
    assert {n: (i.open_amount, i.closed_at) for n, i in items(integration).items()} == before
    token = integration.issue_intake_token()
    assert api(client, integration, token)["cursor"] == good.number


def test_dbopen_csv_is_the_snapshot_in_reflex_conventions(package, client):
    integration, _sim = package
    booked = book(integration, count=1)
    run = fetch(integration)
    token = integration.issue_intake_token()

    answer = client.get(
        "/api/v1/open-items",
        headers={"Authorization": f"Bearer {token}", "Accept": "text/csv"},
    )

    assert answer["Content-Type"].startswith("text/csv")
    assert answer["X-Open-Items-Cursor"] == str(run.number)
    text = b"".join(answer.streaming_content).decode()
    rows = list(csv.DictReader(io.StringIO(text), delimiter=";"))
    assert {row["invoice_number"] for row in rows} == set(booked)
    sales = next(row for row in rows if row["side"] == "receivable")
    data = booked[sales["invoice_number"]]
    assert sales["open_amount"] == f"{total(data):.2f}".replace(".", ",")
    day, month, year = sales["invoice_date"].split("-")
    assert f"{year}-{month}-{day}" == data["invoice_date"]


def test_another_integrations_token_sees_none_of_these_items(package, client, other_integration):
    integration, _sim = package
    book(integration, count=1)
    fetch(integration)
    token = other_integration.issue_intake_token()

    answer = api(client, other_integration, token)

    assert answer == {"cursor": 0, "items": [], "next": None}


def test_a_passing_fault_is_read_again_and_the_import_succeeds(package):
    integration, sim = package
    booked = book(integration, count=1)
    sim.set_faults(burst_429=1, retry_after_seconds=1)

    run = fetch(integration)

    assert run.status == RunStatus.FINISHED, run.error
    assert set(items(integration)) == set(booked)
    assert sim.stats()["sent_429"] == 1


def test_a_package_that_cannot_be_reached_fails_the_import_with_its_reason(package, settings):
    integration, _sim = package
    book(integration, count=1)
    good = fetch(integration)
    before = sorted(OpenItem.objects.values_list("invoice_number", "open_amount"))
    settings.OPEN_ITEMS_TRIES = 2
    nobody = "http://127.0.0.1:9" + ("/V22" if integration.connector == "multivers" else "")
    type(integration).objects.filter(pk=integration.pk).update(base_url=nobody)
    integration.refresh_from_db()

    run = fetch(integration)

    assert run.status == RunStatus.FAILED
    assert "could not be reached" in run.error
    assert "previous open items stay current" in run.error
    assert sorted(OpenItem.objects.values_list("invoice_number", "open_amount")) == before
    assert OpenItem.objects.filter(change__gt=good.number).count() == 0
