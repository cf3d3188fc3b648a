"""The intake API: what Reflex 3000 sends, and every way a batch is refused whole."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from integrations.canonical import example_record, identifier_of
from runs.models import Run, RunLine

pytestmark = pytest.mark.django_db


def rec(kind: str, n: int, **changes) -> dict:
    data = example_record(kind, n) | changes
    return {"kind": kind, "identifier": identifier_of(kind, data), "data": data}


@pytest.fixture
def token(integration) -> str:
    return integration.issue_intake_token()


@pytest.fixture
def api(client, token):
    class Api:
        def post(self, records=None, *, body=None, headers=None):
            payload = body if body is not None else json.dumps({"records": records})
            return client.post(
                "/api/v1/runs",
                payload,
                content_type="application/json",
                headers={"Authorization": f"Bearer {token}", **(headers or {})},
            )

        def upload(self, text: str, headers=None):
            from django.core.files.uploadedfile import SimpleUploadedFile

            return client.post(
                "/api/v1/uploads",
                {"file": SimpleUploadedFile("export.csv", text.encode(), content_type="text/csv")},
                headers={"Authorization": f"Bearer {token}", **(headers or {})},
            )

        def get(self, url):
            return client.get(url, headers={"Authorization": f"Bearer {token}"})

    return Api()


def test_it_stores_a_batch_as_one_queued_run(api, integration):
    records = [rec("customer", 0), rec("sales_invoice", 0), rec("journal_entry", 0)]
    answer = api.post(records)

    assert answer.status_code == 201, answer.json()
    body = answer.json()
    run = Run.objects.get(pk=body["id"])
    assert run.integration == integration
    assert (body["number"], body["status"], body["total"]) == (1, "queued", 3)
    assert body["url"].endswith(f"/api/v1/runs/{run.pk}")
    assert [line.identifier for line in run.lines.order_by("position")] == [
        "10000",
        "VF2025-000001",
        "MEM2025-000001",
    ]
    assert run.lines.get(kind="customer").payload == records[0]["data"]


def test_it_reads_a_run_back_with_each_lines_outcome(api):
    created = api.post([rec("customer", n) for n in range(5)]).json()
    RunLine.objects.filter(run_id=created["id"], identifier="10001").update(
        status="succeeded", external_id="10001"
    )

    first = api.get(created["url"] + "?limit=2").json()
    assert first["status"] == "queued" and first["total"] == 5
    assert [line["identifier"] for line in first["lines"]] == ["10000", "10001"]
    assert first["lines"][1]["external_id"] == "10001"
    rest = api.get(first["next"]).json()
    assert [line["identifier"] for line in rest["lines"]] == ["10002", "10003"]


@pytest.mark.parametrize(
    "body",
    ['{"records": [', "[]", '{"records": {}}', "not json at all", '{"recs": []}'],
)
def test_it_refuses_a_body_that_is_not_a_batch(api, body):
    answer = api.post(body=body)

    assert answer.status_code == 400
    assert answer.json()["detail"]
    assert not Run.objects.exists()


def test_it_names_every_bad_line_and_field_and_stores_nothing(api):
    bad_amount = rec("sales_invoice", 1)
    bad_amount["data"]["lines"][0]["amount"] = "lots"
    wrong_type = rec("customer", 2)
    wrong_type["data"]["name"] = ["a", "list"]
    records = [
        rec("customer", 0),
        bad_amount,
        {"kind": "invoice", "identifier": "X1", "data": {}},
        wrong_type,
        rec("customer", 0),
        {"kind": "customer", "identifier": "99999", "data": example_record("customer", 3)},
        "just text",
    ]
    answer = api.post(records)

    assert answer.status_code == 422
    body = answer.json()
    assert "nothing was stored" in body["detail"]
    found = {(e["line"], e["field"]) for e in body["errors"]}
    assert (2, "lines.0.amount") in found
    assert (3, "kind") in found
    assert (4, "name") in found
    assert (5, "identifier") in found  # duplicate of line 1
    assert (6, "identifier") in found  # not the record's code
    assert (7, None) in found
    assert {e["line"] for e in body["errors"]} == {2, 3, 4, 5, 6, 7}
    assert next(e for e in body["errors"] if e["line"] == 2)["identifier"] == "VF2025-000002"
    assert not Run.objects.exists() and not RunLine.objects.exists()


def test_it_refuses_a_batch_over_the_size_limits(api, settings):
    settings.INTAKE_MAX_LINES = 3
    assert api.post([rec("customer", n) for n in range(4)]).status_code == 413
    settings.INTAKE_MAX_BYTES = 1000
    answer = api.post([rec("customer", n) for n in range(3)])
    assert answer.status_code == 413
    assert "bytes" in answer.json()["detail"]
    assert not Run.objects.exists()


@pytest.mark.parametrize("header", [None, "Bearer wrong", "Basic abc", "Bearer "])
def test_it_refuses_a_missing_or_wrong_token(client, integration, token, header):
    headers = {"Authorization": header} if header else {}
    answer = client.post("/api/v1/runs", "{}", content_type="application/json", headers=headers)

    assert answer.status_code == 401
    assert answer.json()["detail"]


def test_it_refuses_a_revoked_token(api, integration):
    integration.revoke_intake_token()
    assert api.post([rec("customer", 0)]).status_code == 401


def test_it_hides_another_integrations_run(api, other_integration):
    other_token = other_integration.issue_intake_token()
    from django.test import Client

    other = (
        Client()
        .post(
            "/api/v1/runs",
            json.dumps({"records": [rec("customer", 0)]}),
            content_type="application/json",
            headers={"Authorization": f"Bearer {other_token}"},
        )
        .json()
    )

    assert api.get(f"/api/v1/runs/{other['id']}").status_code == 404
    assert api.get("/api/v1/runs/999999").status_code == 404


def test_the_same_idempotency_key_answers_the_first_run(api):
    records = [rec("customer", 0)]
    first = api.post(records, headers={"Idempotency-Key": "batch-2025-01"})
    again = api.post(records, headers={"Idempotency-Key": "batch-2025-01"})
    different = api.post([rec("customer", 1)], headers={"Idempotency-Key": "batch-2025-01"})

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    assert different.status_code == 409
    assert "different batch" in different.json()["detail"]
    assert Run.objects.count() == 1


CSV_HEADER = "kind,identifier,code,name,short_name,invoice_number,relation_code,invoice_date,journal,line_gl_account,line_amount,line_vat_code"


def test_it_takes_the_erps_csv_export_one_row_per_invoice_line(api):
    text = "\n".join(
        [
            CSV_HEADER,
            "customer,10000,10000,Bakkerij De Vries BV,DEVRIES,,,,,,,",
            "sales_invoice,VF1,,,,VF1,10000,2025-03-15,70,8000,100.00,1",
            "sales_invoice,VF1,,,,,,,,8100,50.00,2",
        ]
    )
    answer = api.upload(text)

    assert answer.status_code == 201, answer.json()
    run = Run.objects.get(pk=answer.json()["id"])
    invoice = run.lines.get(kind="sales_invoice")
    assert [item["amount"] for item in invoice.payload["lines"]] == ["100.00", "50.00"]
    assert invoice.payload["relation_code"] == "10000"


def test_it_refuses_a_csv_with_a_broken_row(api):
    text = "\n".join(
        [CSV_HEADER, "customer,10000,10000,De Vries,DV,,,,,,,", "customer,10001,10001,too,few"]
    )
    answer = api.upload(text)

    assert answer.status_code == 400
    assert answer.json()["errors"][0]["line"] == 3
    assert not Run.objects.exists()


def test_it_names_the_csv_row_of_a_bad_record(api):
    text = "\n".join(
        [
            CSV_HEADER,
            "customer,10000,10000,De Vries,DV,,,,,,,",
            "sales_invoice,VF1,,,,VF1,10000,15-03-2025,70,8000,100.00,1",
        ]
    )
    answer = api.upload(text)

    assert answer.status_code == 422
    assert answer.json()["errors"] == [
        {
            "line": 3,
            "identifier": "VF1",
            "field": "invoice_date",
            "message": "Enter a valid date (YYYY-MM-DD).",
        }
    ]


def test_it_refuses_an_unknown_csv_column(api):
    answer = api.upload("kind,identifier,colour\ncustomer,1,red")
    assert answer.status_code == 400
    assert "colour" in answer.json()["detail"]


def test_the_openapi_document_lists_the_endpoints(client):
    answer = client.get("/api/v1/openapi.json")

    assert answer.status_code == 200
    document = answer.json()
    assert document["openapi"].startswith("3.")
    assert {"/api/v1/runs", "/api/v1/uploads", "/api/v1/runs/{run_id}"} <= set(document["paths"])
    assert "Idempotency-Key" in json.dumps(document["paths"]["/api/v1/runs"])
    assert client.get("/api/v1/docs").status_code == 404  # no page that loads a CDN


def test_intake_stores_a_big_batch_in_a_fixed_number_of_queries(api):
    # Speed is measured in bench/intake.py; what a test can hold is that storage is
    # bulk: a batch ten times larger makes no more queries.
    def queries_for(count: int, start: int) -> int:
        records = [rec("sales_invoice", n) for n in range(start, start + count)]
        with CaptureQueriesContext(connection) as captured:
            answer = api.post(records)
        assert answer.status_code == 201, answer.content
        return len(captured)

    small = queries_for(1_000, 0)
    large = queries_for(10_000, 1_000)
    assert RunLine.objects.count() == 11_000
    assert large <= small + 10, (small, large)  # one INSERT per 1,000 rows on SQLite
