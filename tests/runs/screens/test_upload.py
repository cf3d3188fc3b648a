"""Start a run by hand: a consultant uploads a Reflex 3000 export (CSV) or a JSON batch."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from integrations.canonical import example_record, identifier_of
from runs.models import Run, RunLine, Trigger

from .conftest import client_for

CSV_HEADER = (
    "kind,identifier,code,name,short_name,invoice_number,relation_code,invoice_date,journal,"
    "line_gl_account,line_amount,line_vat_code"
)
GOOD_CSV = "\n".join(
    [
        CSV_HEADER,
        "customer,10000,10000,Bakkerij De Vries BV,DEVRIES,,,,,,,",
        "sales_invoice,VF1,,,,VF1,10000,2025-03-15,70,8000,100.00,1",
        "sales_invoice,VF1,,,,,,,,8100,50.00,2",
    ]
)


def upload_url(integration, slug="de-vries"):
    return reverse(
        "integration_upload", kwargs={"company_slug": slug, "integration_id": integration.pk}
    )


def history_url(integration):
    return reverse(
        "run_history", kwargs={"company_slug": "de-vries", "integration_id": integration.pk}
    )


def export(name: str, text: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, text.encode(), content_type="application/octet-stream")


def rec(kind: str, n: int, **changes) -> dict:
    data = example_record(kind, n) | changes
    return {"kind": kind, "identifier": identifier_of(kind, data), "data": data}


def test_anonymous_users_are_sent_to_login(client, integration):
    response = client.get(upload_url(integration))
    assert response.status_code == 302
    assert reverse("login") in response["Location"]


def test_it_hides_other_companies_integrations(
    outsider, consultant, integration, other_integration
):
    assert client_for(outsider).get(upload_url(integration)).status_code == 404
    # A consultant of both companies still cannot reach one company's integration via the other.
    client = client_for(consultant)
    assert client.get(upload_url(integration, slug="jansen")).status_code == 404
    response = client.post(
        upload_url(other_integration, slug="de-vries"), {"file": export("x.csv", GOOD_CSV)}
    )
    assert response.status_code == 404
    assert not Run.objects.exists()


@pytest.mark.parametrize("role", ["viewer", "editor"])
def test_viewers_and_editors_get_no_button_and_403(request, role, integration):
    client = client_for(request.getfixturevalue(role))
    assert "Upload export file" not in client.get(history_url(integration)).content.decode()
    assert client.get(upload_url(integration)).status_code == 403
    response = client.post(upload_url(integration), {"file": export("x.csv", GOOD_CSV)})
    assert response.status_code == 403
    assert not Run.objects.exists()


def test_a_consultant_finds_the_button_on_history(consultant, integration):
    page = client_for(consultant).get(history_url(integration)).content.decode()
    assert "Upload export file" in page
    assert upload_url(integration) in page


def test_the_form_takes_a_csv_or_json_file(consultant, integration):
    response = client_for(consultant).get(upload_url(integration))
    page = response.content.decode()
    assert response.status_code == 200
    assert 'enctype="multipart/form-data"' in page
    assert 'accept=".csv,.json"' in page
    assert '<label for="id_file">' in page


def test_a_good_csv_export_starts_a_manual_run_with_its_lines(consultant, integration):
    response = client_for(consultant).post(
        upload_url(integration), {"file": export("export.csv", GOOD_CSV)}, follow=True
    )
    run = Run.objects.get()
    assert run.trigger == Trigger.MANUAL
    assert run.created_by == consultant
    assert run.status == "queued"
    assert run.total == 2
    assert list(run.lines.order_by("position").values_list("kind", "identifier")) == [
        ("customer", "10000"),
        ("sales_invoice", "VF1"),
    ]
    invoice = run.lines.get(kind="sales_invoice")
    assert [row["gl_account"] for row in invoice.payload["lines"]] == ["8000", "8100"]
    assert response.redirect_chain == [
        (reverse("run_detail", kwargs={"company_slug": "de-vries", "run_id": run.pk}), 302)
    ]
    assert f"Run #{run.number} started with 2 lines." in response.content.decode()


def test_a_good_json_batch_starts_a_manual_run(
    consultant, integration, django_capture_on_commit_callbacks
):
    batch = {"records": [rec("customer", 0), rec("journal_entry", 0)]}
    with django_capture_on_commit_callbacks() as queued:
        response = client_for(consultant).post(
            upload_url(integration), {"file": export("batch.JSON", json.dumps(batch))}
        )
    run = Run.objects.get()
    assert response.status_code == 302
    assert run.trigger == Trigger.MANUAL
    assert run.created_by == consultant
    assert run.lines.count() == 2
    assert len(queued) == 1, "queued for delivery like an intake run"


def test_a_bad_file_names_every_bad_line_and_field_and_stores_nothing(consultant, integration):
    text = "\n".join(
        [
            CSV_HEADER,
            "customer,10000,10000,De Vries,DV,,,,,,,",
            "sales_invoice,VF1,,,,VF1,10000,15-03-2025,70,8000,100.00,1",
            "sales_invoice,VF2,,,,VF2,10000,2025-03-15,70,8000,twelve,1",
            "customer,10000,10000,De Vries again,DV,,,,,,,",
        ]
    )
    response = client_for(consultant).post(
        upload_url(integration), {"file": export("export.csv", text)}
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "export.csv was not accepted; nothing was stored." in page
    problems = response.context["refusal"]["errors"]
    assert {(p["line"], p["identifier"], p["field"]) for p in problems} == {
        (3, "VF1", "invoice_date"),
        (4, "VF2", "lines.0.amount"),
        (5, "10000", "identifier"),
    }
    for problem in problems:
        assert problem["message"] in page
    assert "<code>lines.0.amount</code>" in page
    assert not Run.objects.exists()
    assert not RunLine.objects.exists()


def test_a_dutch_consultant_reads_the_refusal_in_dutch(consultant, integration):
    """The file's problems come from the same checks as the API's, in the reader's language."""
    text = "\n".join([CSV_HEADER + ",colour", "customer,10000,10000,De Vries,DV,,,,,,,,red"])
    response = client_for(consultant).post(
        upload_url(integration),
        {"file": export("export.csv", text)},
        HTTP_ACCEPT_LANGUAGE="nl",
    )
    page = response.content.decode()
    assert "Onbekende kolom(men) in de kopregel: colour." in page
    assert "Onbekende kolom." in page
    assert "Unknown column" not in page
    assert not Run.objects.exists()


def test_a_dutch_consultant_reads_a_records_problems_in_dutch(consultant, integration):
    text = "\n".join(
        [
            CSV_HEADER,
            "customer,10000,10000,De Vries,DV,,,,,,,",
            "customer,20000,20000,Jansen,JA,,,,,,,",
            "customer,10000,10000,De Vries,DV,,,,,,,",
        ]
    )
    response = client_for(consultant).post(
        upload_url(integration), {"file": export("export.csv", text)}, HTTP_ACCEPT_LANGUAGE="nl"
    )
    page = " ".join(response.content.decode().split())
    assert "1 van de 3 records zijn niet geldig; er is niets opgeslagen." in page
    [problem] = response.context["refusal"]["errors"]
    assert problem["message"] == "customer 10000 staat twee keer in de batch (ook op regel 2)."
    assert problem["message"] in page


def test_a_file_that_is_not_csv_or_json_is_refused(consultant, integration):
    response = client_for(consultant).post(
        upload_url(integration), {"file": export("export.xlsx", GOOD_CSV)}
    )
    assert "Upload the export as a .csv or a .json file." in response.content.decode()
    assert not Run.objects.exists()


def test_broken_json_is_refused_with_its_reason(consultant, integration):
    response = client_for(consultant).post(
        upload_url(integration), {"file": export("batch.json", '{"records": [')}
    )
    assert "The body is not valid JSON" in response.content.decode()
    assert not Run.objects.exists()


def test_posting_without_a_file_asks_for_one(consultant, integration):
    response = client_for(consultant).post(upload_url(integration), {})
    assert response.status_code == 200
    assert response.context["form"].errors["file"]
    assert not Run.objects.exists()


def test_an_oversized_file_is_refused_with_the_limit(consultant, integration, settings):
    settings.INTAKE_MAX_BYTES = 1024
    text = CSV_HEADER + "\n" + "customer,10000,10000,De Vries,DV,,,,,,,\n" * 40
    response = client_for(consultant).post(
        upload_url(integration), {"file": export("export.csv", text)}
    )
    assert f"The batch is {len(text)} bytes; at most 1024 are accepted." in (
        response.content.decode()
    )
    assert not Run.objects.exists()


def test_a_file_with_too_many_records_is_refused_with_the_limit(consultant, integration, settings):
    settings.INTAKE_MAX_LINES = 2
    batch = {"records": [rec("customer", n) for n in range(3)]}
    response = client_for(consultant).post(
        upload_url(integration), {"file": export("batch.json", json.dumps(batch))}
    )
    assert "The batch has 3 records; at most 2 are accepted in one run." in (
        response.content.decode()
    )
    assert not Run.objects.exists()


def test_uploading_needs_a_csrf_token(consultant, integration):
    client = client_for(consultant)
    client.handler.enforce_csrf_checks = True
    response = client.post(upload_url(integration), {"file": export("export.csv", GOOD_CSV)})
    assert response.status_code == 403
    assert not Run.objects.exists()


def test_a_disabled_integration_warns_before_upload(consultant, integration):
    integration.enabled = False
    integration.save(update_fields=["enabled"])
    page = client_for(consultant).get(upload_url(integration)).content.decode()
    assert "This integration is disabled" in page


def test_the_page_costs_a_fixed_number_of_queries(
    consultant, integration, django_assert_num_queries
):
    client = client_for(consultant)
    client.get(upload_url(integration))
    # Session, user, membership, integration.
    with django_assert_num_queries(4):
        client.get(upload_url(integration))
