"""Find a record across runs: every run that offered it, newest first, and how it went."""

from __future__ import annotations

import os

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from integrations.canonical import example_record
from runs.models import Kind, LineStatus, RunLine, Trigger
from runs.selectors import record_search

from .conftest import client_for, make_line, make_run


def search_url(integration, slug="de-vries"):
    return reverse("record_search", kwargs={"company_slug": slug, "integration_id": integration.pk})


def invoice(number: str) -> dict:
    return {**example_record("sales_invoice", 1), "invoice_number": number}


@pytest.fixture
def timeline(integration):
    """VF2025-000123 failed in run #1, was re-offered in #2 and booked there; others around it."""
    first = make_run(integration, number=1, total=2, failed=1, succeeded=1)
    failed = make_line(
        first,
        1,
        kind="sales_invoice",
        payload=invoice("VF2025-000123"),
        status=LineStatus.FAILED,
        message="Btw-code 9 bestaat niet",
    )
    make_line(
        first, 2, kind="sales_invoice", payload=invoice("VF2025-000124"), status=LineStatus.FAILED
    )
    second = make_run(
        integration, number=2, total=1, succeeded=1, trigger=Trigger.RETRY, retry_of=first
    )
    booked = make_line(
        second,
        1,
        kind="sales_invoice",
        payload=invoice("VF2025-000123"),
        status=LineStatus.SUCCEEDED,
        external_id="MV-88123",
        finished_at=timezone.now(),
        source_line=failed,
    )
    failed.reoffered_in = second
    failed.save(update_fields=["reoffered_in"])
    third = make_run(integration, number=3, total=1, succeeded=1)
    make_line(third, 1, kind="customer", payload=example_record("customer", 1), status="succeeded")
    return {"failed": failed, "booked": booked, "second": second}


def test_anonymous_users_are_sent_to_login(client, integration):
    response = client.get(search_url(integration), {"q": "VF"})
    assert response.status_code == 302
    assert reverse("login") in response["Location"]


def test_it_hides_other_companies_integrations(
    outsider, consultant, integration, other_integration
):
    assert client_for(outsider).get(search_url(integration)).status_code == 404
    assert client_for(consultant).get(search_url(other_integration)).status_code == 404


def test_an_exact_identifier_shows_each_run_newest_first(viewer, timeline):
    integration = timeline["booked"].integration
    response = client_for(viewer).get(search_url(integration), {"q": "VF2025-000123"})
    assert response.status_code == 200
    [record] = response.context["search"].records
    assert (record.kind, record.identifier) == ("sales_invoice", "VF2025-000123")
    assert [line.run.number for line in record.lines] == [2, 1]
    page = response.content.decode()
    assert "MV-88123" in page
    assert "Re-offered in #2" in page
    assert "Btw-code 9 bestaat niet" in page
    for line in (timeline["failed"], timeline["booked"]):
        assert (
            reverse("run_detail", kwargs={"company_slug": "de-vries", "run_id": line.run_id})
            in page
        )
        assert (
            reverse("line_detail", kwargs={"company_slug": "de-vries", "line_id": line.pk}) in page
        )


def test_a_prefix_finds_every_record_that_starts_with_it(viewer, timeline):
    integration = timeline["booked"].integration
    response = client_for(viewer).get(search_url(integration), {"q": "VF2025-0001"})
    records = response.context["search"].records
    assert [r.identifier for r in records] == ["VF2025-000123", "VF2025-000124"]
    assert response.context["search"].capped is False


def test_the_search_ignores_case(viewer, timeline):
    """People type "vf2025" for VF2025-000123; the identifier is shown as the ERP wrote it."""
    integration = timeline["booked"].integration
    response = client_for(viewer).get(search_url(integration), {"q": "vf2025-000123"})
    records = response.context["search"].records
    assert [r.identifier for r in records] == ["VF2025-000123"]
    assert [line.run.number for line in records[0].lines] == [2, 1]


@pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="the plan of PostgreSQL's pattern index",
)
def test_a_search_in_any_case_seeks_on_the_folded_index(viewer, timeline):
    """The index's expression must stay the one `istartswith` compiles to, or every
    search becomes a scan of all the lines of every run."""
    integration = timeline["booked"].integration
    query = RunLine.objects.filter(
        integration=integration, kind__in=Kind.values, identifier__istartswith="vf2025"
    ).values_list("kind", "identifier")
    with connection.cursor() as cursor:
        # Tiny tables: leave the planner no other road (the test's transaction undoes this).
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(
            "SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
            " WHERE i.indrelid = 'runs_runline'::regclass AND NOT i.indisunique"
            " AND c.relname <> 'line_identity_folded'"
        )
        for (name,) in cursor.fetchall():
            cursor.execute(f'DROP INDEX "{name}"')
        plan = query.explain()
    assert "line_identity_folded" in plan


def test_only_the_beginning_matches_not_the_middle(viewer, timeline):
    integration = timeline["booked"].integration
    response = client_for(viewer).get(search_url(integration), {"q": "000123"})
    assert response.context["search"].records == []
    assert "No record of this integration" in response.content.decode()


def test_records_of_another_integration_are_never_found(viewer, timeline, other_integration):
    run = make_run(other_integration, number=1, total=1, succeeded=1)
    make_line(run, 1, kind="sales_invoice", payload=invoice("VF2025-000999"), status="succeeded")
    integration = timeline["booked"].integration
    response = client_for(viewer).get(search_url(integration), {"q": "VF2025-000999"})
    assert response.context["search"].records == []


def test_without_a_query_it_shows_only_the_box(viewer, integration):
    response = client_for(viewer).get(search_url(integration))
    assert response.status_code == 200
    assert response.context["search"] is None
    assert '<label for="record-query">' in response.content.decode()


def test_history_has_the_find_a_record_box(viewer, integration):
    url = reverse(
        "run_history", kwargs={"company_slug": "de-vries", "integration_id": integration.pk}
    )
    page = client_for(viewer).get(url).content.decode()
    assert "Find a record" in page
    assert f'action="{search_url(integration)}"' in page


def test_an_htmx_search_gets_only_the_results(viewer, timeline):
    integration = timeline["booked"].integration
    response = client_for(viewer).get(
        search_url(integration), {"q": "VF2025"}, HTTP_HX_REQUEST="true"
    )
    page = response.content.decode()
    assert page.lstrip().startswith('<div id="results"')
    assert "<html" not in page


def test_a_broad_prefix_is_capped_with_a_note(viewer, integration, monkeypatch):
    monkeypatch.setattr("runs.views.records.RECORDS_SHOWN", 2)
    run = make_run(integration, number=1, total=3, succeeded=3)
    for n in range(3):
        make_line(
            run, n + 1, kind="customer", payload=example_record("customer", n), status="succeeded"
        )
    response = client_for(viewer).get(search_url(integration), {"q": "1000"})
    assert len(response.context["search"].records) == 2
    assert response.context["search"].capped is True
    assert "Showing the first 2 records." in response.content.decode()


def test_a_record_offered_in_many_runs_shows_its_latest_offers(viewer, integration):
    for number in (1, 2, 3):
        run = make_run(integration, number=number, total=1, failed=1)
        make_line(run, 1, kind="sales_invoice", payload=invoice("VF9"), status=LineStatus.FAILED)
    [record] = record_search(integration=integration, query="VF9", offers_per_record=2).records
    assert [line.run.number for line in record.lines] == [3, 2]
    assert record.offered == 3 and record.more == 1


def test_the_query_count_does_not_grow_with_records_or_runs(
    viewer, integration, django_assert_num_queries
):
    client = client_for(viewer)
    url = search_url(integration)
    client.get(url, {"q": "VF"})

    def grow(start: int) -> None:
        for number in range(start, start + 3):
            run = make_run(integration, number=number, total=4, failed=4)
            for position in range(1, 5):
                make_line(
                    run,
                    position,
                    kind="sales_invoice",
                    payload=invoice(f"VF{position}"),
                    status=LineStatus.FAILED,
                    reoffered_in=run if position == 1 else None,
                )

    grow(1)
    # Session, user, membership, integration, the records, their lines.
    with django_assert_num_queries(6):
        client.get(url, {"q": "VF"})
    grow(4)
    with django_assert_num_queries(6):
        response = client.get(url, {"q": "VF"})
    assert len(response.context["search"].records) == 4
