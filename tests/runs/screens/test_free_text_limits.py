"""Every free text has a length limit and refuses NUL, alike on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from django.urls import reverse

from integrations.canonical import example_record, identifier_of
from runs.models import Run, RunLine
from tests.runs.screens.conftest import client_for

pytestmark = pytest.mark.django_db


def _resolve(editor, run, line, reason: str):
    client = client_for(editor)
    url = reverse("lines_bulk", args=[run.integration.company.slug, run.pk])
    return client.post(url, {"action": "resolve", "line": [line.pk], "reason": reason}, follow=True)


def test_a_resolve_reason_over_the_limit_is_refused_with_a_message(
    editor, failed_run, customer_line
):
    answer = _resolve(editor, failed_run, customer_line, "x" * 501)
    assert "Keep the reason to 500 characters; it has 501." in answer.text
    customer_line.refresh_from_db()
    assert customer_line.resolved_at is None


def test_a_resolve_reason_with_a_nul_is_refused_with_a_message(editor, failed_run, customer_line):
    answer = _resolve(editor, failed_run, customer_line, "dubbel\x00geboekt")
    assert "Remove the NUL character" in answer.text
    customer_line.refresh_from_db()
    assert customer_line.resolved_at is None


def test_a_record_with_a_nul_is_refused_by_the_intake_naming_the_field(client, integration):
    token = integration.issue_intake_token()
    data = example_record("customer", 1) | {"name": "Bakkerij\x00"}
    answer = client.post(
        "/api/v1/runs",
        {
            "records": [
                {"kind": "customer", "identifier": identifier_of("customer", data), "data": data}
            ]
        },
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert answer.status_code == 422
    assert "Remove the NUL character (\\0) from name." in answer.json()["errors"][0]["message"]
    assert not Run.objects.exists()


def test_a_correction_with_a_nul_is_not_saved(editor, failed_run, customer_line):
    client = client_for(editor)
    url = reverse("line_detail", args=[failed_run.integration.company.slug, customer_line.pk])
    page = client.get(url)
    assert page.status_code == 200
    data = dict(customer_line.payload, name="Bakkerij\x00", version=str(customer_line.version))
    answer = client.post(url, data)
    assert "Remove the NUL character" in answer.text
    customer_line.refresh_from_db()
    assert customer_line.correction in (None, {})


@pytest.mark.parametrize("name", ["run_detail", "record_search"])
def test_a_search_for_a_nul_answers_the_page(viewer, failed_run, name):
    company = failed_run.integration.company.slug
    args = (
        [company, failed_run.pk] if name == "run_detail" else [company, failed_run.integration.pk]
    )
    answer = client_for(viewer).get(reverse(name, args=args), {"q": "VF\x00"})
    assert answer.status_code == 200
    assert RunLine.objects.exists()
