"""Reflex 3000's own fmuta6.csv through the intake: read, refused whole, booked in both packages."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from runs.models import LineStatus, Run, RunStatus, Trigger
from runs.services.runs import run_create
from tests.runs.conftest import connect
from tests.runs.conftest import record as example_record
from tests.runs.test_delivery import line
from tests.runs.test_package_limits import EXACT_SETTINGS

EXAMPLE = (Path(__file__).resolve().parents[2] / "docs/examples/fmuta6.csv").read_text()
# The example carries Exact's journal numbers; a Multivers company knows them by letter.
MULTIVERS_JOURNALS = {";70;": ";V;", ";60;": ";I;", ";90;": ";M;"}
# A bank statement's entry: a payment, which the link does not carry.
BANK_ROW = (
    "1;0;B;20;3;2025;25200001;Bankafschrift;20032025;1100;10000;;25000101;2.479,10"
    + ";" * 19
    + "\r\n"
)


def for_multivers(text: str) -> str:
    for exact, multivers in MULTIVERS_JOURNALS.items():
        text = text.replace(exact, multivers, text.count("\n"))
    return text


def upload(client, integration, text: str, name: str = "fmuta6.csv"):
    token = integration.issue_intake_token()
    return client.post(
        "/api/v1/uploads",
        {"file": SimpleUploadedFile(name, text.encode("utf-8"), content_type="text/csv")},
        headers={"Authorization": f"Bearer {token}"},
    )


def upload_by_hand(client, integration, text: str, **headers):
    """The consultant's upload screen (the client is logged in)."""
    return client.post(
        reverse(
            "integration_upload",
            kwargs={"company_slug": integration.company.slug, "integration_id": integration.pk},
        ),
        {"file": SimpleUploadedFile("fmuta6.csv", text.encode(), content_type="text/csv")},
        **headers,
    )


def spoil(text: str, row: int, position: int, value: str) -> str:
    rows = text.splitlines()
    cells = rows[row - 1].split(";")
    cells[position - 1] = value
    rows[row - 1] = ";".join(cells)
    return "\r\n".join(rows) + "\r\n"


@pytest.mark.django_db
def test_a_realistic_fmuta6_becomes_one_record_per_entry(client, integration):
    answer = upload(client, integration, EXAMPLE)

    assert answer.status_code == 201, answer.json()
    run = Run.objects.get(pk=answer.json()["id"])
    records = {line.identifier: (line.kind, line.payload) for line in run.lines.all()}
    assert {key: kind for key, (kind, _) in records.items()} == {
        "25000101": "sales_invoice",
        "25000102": "sales_invoice",
        "25600011": "purchase_invoice",
        "25900003": "journal_entry",
    }
    sales = records["25000101"][1]
    assert sales["relation_code"] == "10000"
    assert (sales["invoice_date"], sales["due_date"]) == ("2025-03-15", "2025-04-14")
    assert sales["journal"] == "70" and sales["payment_reference"] == "25000101"
    assert sales["payment_terms_code"] == "30"  # the days from the date to the due date
    assert [
        (item["gl_account"], item["amount"], item["vat_amount"]) for item in sales["lines"]
    ] == [
        ("8000", "1250.00", "112.50"),
        ("8100", "1024.40", "92.20"),
    ]
    assert sales["lines"][0]["cost_centre"] == "100"
    assert records["25600011"][1]["relation_code"] == "20000"
    memorial = records["25900003"][1]
    assert [
        (item["gl_account"], item.get("debit"), item.get("credit")) for item in memorial["lines"]
    ] == [
        ("4000", "3150.75", None),
        ("1600", None, "3150.75"),
    ]


@pytest.mark.django_db
def test_a_bad_row_refuses_the_file_whole_naming_row_and_column(client, integration):
    text = spoil(EXAMPLE, 7, 14, "zeshonderd")  # the amount of the purchase invoice's first line

    answer = upload(client, integration, text)

    assert answer.status_code == 400
    assert answer.json()["errors"] == [
        {
            "line": 7,
            "identifier": None,
            "field": "amt-curr (column 14)",
            "message": "'zeshonderd' is not an amount; write it as 1.250,00 or 1250,00 "
            "(or 1250.00).",
        }
    ]
    assert not Run.objects.exists()


@pytest.mark.django_db
def test_a_record_the_schema_refuses_names_the_entrys_row_and_field(client, integration):
    text = spoil(EXAMPLE, 11, 14, "-3.000,00")  # the memorial entry no longer balances

    answer = upload(client, integration, text)

    assert answer.status_code == 422
    [error] = answer.json()["errors"]
    assert (error["line"], error["identifier"]) == (9, "25900003")
    assert "does not balance" in error["message"]
    assert not Run.objects.exists()


@pytest.mark.django_db
def test_cash_and_bank_rows_are_refused_with_their_own_message(client, integration):
    answer = upload(client, integration, EXAMPLE + BANK_ROW)

    assert answer.status_code == 400
    [error] = answer.json()["errors"]
    assert error["line"] == 12 and error["field"] == "journal-type (column 3)"
    assert "bank entry (journal type B) is a payment" in error["message"]
    assert not Run.objects.exists()


@pytest.mark.django_db
def test_a_dutch_consultant_reads_the_files_problems_in_dutch(client, integration, consultant):
    text = spoil(EXAMPLE + BANK_ROW, 4, 9, "31022025")  # no 31 February
    client.force_login(consultant)

    page = upload_by_hand(client, integration, text, HTTP_ACCEPT_LANGUAGE="nl").content.decode()

    page = " ".join(page.split())
    assert (
        "Het bestand fmuta6.csv heeft regels die de koppeling niet kan lezen; "
        "er is niets opgeslagen." in page
    )
    assert "&#x27;31022025&#x27; is geen datum in de vorm DDMMJJJJ." in page
    assert "Een bankboeking (dagboektype B) is een betaling" in page
    assert not Run.objects.exists()


@pytest.mark.django_db
def test_the_consultants_upload_screen_takes_fmuta6_too(client, integration, consultant):
    client.force_login(consultant)
    answer = upload_by_hand(client, integration, EXAMPLE)

    assert answer.status_code == 302
    assert Run.objects.get(integration=integration).total == 4


@pytest.mark.usefixtures("fast_engine")
@pytest.mark.parametrize("package", ["multivers", "exact"])
def test_the_example_books_in_both_packages(
    package, client, integration, shared_state, eager, request
):
    sim = request.getfixturevalue(package)
    text = EXAMPLE
    if package == "exact":
        integration.connector, integration.settings = "exact", EXACT_SETTINGS
        integration.save()
    else:
        text = for_multivers(EXAMPLE)
    connect(integration, sim)
    relations = [line(kind, example_record(kind, 0, package)) for kind in ("customer", "supplier")]
    run_create(integration=integration, trigger=Trigger.INTAKE, lines=relations)

    answer = upload(client, integration, text)

    assert answer.status_code == 201, answer.json()
    run = Run.objects.get(pk=answer.json()["id"])
    failures = [line.message for line in run.lines.filter(status=LineStatus.FAILED)]
    assert (run.status, run.succeeded) == (RunStatus.FINISHED, 4), failures


@pytest.mark.django_db
@pytest.mark.parametrize(("written", "read"), [("1250,5", "1250.5"), ("1250.50", "1250.50")])
def test_amounts_are_read_with_a_decimal_comma_or_point(client, integration, written, read):
    answer = upload(client, integration, spoil(EXAMPLE, 2, 14, written))

    assert answer.status_code == 201, answer.json()
    sales = Run.objects.get().lines.get(identifier="25000101").payload
    assert sales["lines"][0]["amount"] == read


@pytest.mark.django_db
def test_an_amount_that_could_be_thousands_or_decimals_is_refused(client, integration):
    answer = upload(client, integration, spoil(EXAMPLE, 2, 14, "1.250"))

    assert answer.status_code == 400
    assert answer.json()["errors"][0]["line"] == 2
    assert not Run.objects.exists()


@pytest.mark.django_db
def test_a_sub_row_without_its_header_row_is_refused(client, integration):
    rows = EXAMPLE.splitlines()
    answer = upload(client, integration, "\r\n".join(rows[:3] + rows[4:]) + "\r\n")

    assert answer.status_code == 400
    [error] = answer.json()["errors"]
    assert (error["line"], error["field"]) == (4, "entry-nr (column 7)")
    assert "does not follow a header row" in error["message"]
