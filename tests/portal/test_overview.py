"""The consultant's overview: every integration of every company they see, in one table."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from integrations.models import Integration
from portal.models import Company, Membership, Role
from portal.selectors import OverviewFilter, overview_page
from runs.models import LineStatus, Run, RunLine, RunStatus, Trigger
from tests.conftest import PASSWORD

OVERVIEW = reverse("overview")


def _companies(user, count: int, *, prefix: str = "Klant") -> list[Integration]:
    companies = Company.objects.bulk_create(
        Company(
            name=f"{prefix} {n:04d} BV",
            slug=f"{prefix.lower()}-{n}",
            reflex_code=f"{prefix[:2]}{n}",
        )
        for n in range(count)
    )
    Membership.objects.bulk_create(
        Membership(user=user, company=company, role=Role.CONSULTANT) for company in companies
    )
    return Integration.objects.bulk_create(
        Integration(
            company=company,
            name="Accounting link",
            connector="multivers" if n % 2 else "exact",
            base_url="http://127.0.0.1:8101/V22",
            connected_at=timezone.now(),
            token_refreshed_at=timezone.now(),
        )
        for n, company in enumerate(companies)
    )


def _failed_run(integration: Integration, failures: int, *, number: int = 1) -> Run:
    run = Run.objects.create(
        integration=integration,
        number=number,
        trigger=Trigger.INTAKE,
        status=RunStatus.FINISHED,
        total=failures,
        failed=failures,
    )
    RunLine.objects.bulk_create(
        RunLine(
            run=run,
            integration=integration,
            position=n,
            kind="customer",
            identifier=f"{10000 + n}",
            payload={},
            status=LineStatus.FAILED,
            message=f"Klant '{10000 + n}' bestaat niet.",
            finished_at=timezone.now() - dt.timedelta(hours=n),
        )
        for n in range(1, failures + 1)
    )
    Integration.objects.filter(pk=integration.pk).update(last_run_number=number)
    return run


def _queries(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(OVERVIEW)
    assert response.status_code == 200
    return len(queries)


def test_the_overview_costs_the_same_queries_for_3_and_500_companies(client, consultant):
    client.force_login(consultant)
    small = _companies(consultant, 3, prefix="Few")
    for integration in small:
        _failed_run(integration, 2)
    few = _queries(client)
    many = _companies(consultant, 497, prefix="Many")
    for integration in many[:40]:
        _failed_run(integration, 3)
    assert Membership.objects.filter(user=consultant).count() == 502
    assert _queries(client) == few


def test_a_consultant_sees_exactly_the_integrations_of_their_companies(
    client, consultant, integration, other_integration
):
    stranger = Company.objects.create(name="Vreemd BV", slug="vreemd", reflex_code="RX9")
    Integration.objects.create(
        company=stranger, name="Hidden link", connector="exact", base_url="http://127.0.0.1:8102"
    )
    page = overview_page(user=consultant)
    assert {row.integration.pk for row in page.rows} == {integration.pk, other_integration.pk}
    client.force_login(consultant)
    text = client.get(OVERVIEW).text
    assert "Vreemd BV" not in text and "Hidden link" not in text


def test_a_customer_with_one_company_is_never_shown_others(
    client, editor, company, integration, other_integration
):
    landing = client.post(
        reverse("login"), {"username": "editor", "password": PASSWORD}, REMOTE_ADDR="10.0.0.9"
    )
    assert client.get(landing["Location"])["Location"] == reverse("my_company")
    for url in (reverse("my_company"), OVERVIEW):
        text = client.get(url).text
        assert company.name in text
        assert other_integration.company.name not in text


def test_needs_attention_keeps_refused_logins_and_open_failures(consultant):
    _quiet, failing, refused = _companies(consultant, 3)
    _failed_run(failing, 2)
    Integration.objects.filter(pk=refused.pk).update(
        connection_error="Login refused: invalid_grant"
    )
    page = overview_page(user=consultant, wanted=OverviewFilter(attention=True))
    assert {row.integration.pk for row in page.rows} == {failing.pk, refused.pk}
    states = {row.integration.pk: row.connection for row in page.rows}
    assert states == {failing.pk: "ok", refused.pk: "refused"}


def test_lines_in_doubt_alone_need_attention_and_are_shown(client, consultant):
    _quiet, doubtful = _companies(consultant, 2)
    Run.objects.create(
        integration=doubtful,
        number=1,
        trigger=Trigger.INTAKE,
        status=RunStatus.FINISHED,
        total=3,
        succeeded=1,
        in_doubt=2,
    )
    Integration.objects.filter(pk=doubtful.pk).update(last_run_number=1)

    page = overview_page(user=consultant, wanted=OverviewFilter(attention=True))
    assert [row.integration.pk for row in page.rows] == [doubtful.pk]
    assert page.rows[0].needs_attention

    client.force_login(consultant)
    html = client.get(OVERVIEW).content.decode()
    row = html[html.index(f'id="integration-{doubtful.pk}"') :]
    row = " ".join(row[: row.index("</tr>")].split())
    open_lines = reverse("open_failures", args=[doubtful.company.slug, doubtful.pk])
    assert f'href="{open_lines}#in-doubt-title">2 in doubt</a>' in row
    assert "Needs attention" in row


def test_stuck_and_paused_runs_are_counted_with_the_pause_reason(consultant):
    (integration,) = _companies(consultant, 1)
    long_ago = timezone.now() - dt.timedelta(hours=2)
    stuck = Run.objects.create(integration=integration, number=1, trigger=Trigger.INTAKE)
    Run.objects.filter(pk=stuck.pk).update(queued_at=long_ago)
    paused = Run.objects.create(
        integration=integration, number=2, trigger=Trigger.INTAKE, status=RunStatus.RUNNING
    )
    RunLine.objects.create(
        run=paused,
        integration=integration,
        position=1,
        kind="customer",
        identifier="1",
        payload={},
        next_attempt_at=timezone.now(),
        message="Multivers Online was unavailable (HTTP 503).",
    )
    (row,) = overview_page(user=consultant).rows
    assert (row.integration.stuck_runs, row.integration.paused_runs) == (1, 1)
    assert row.integration.paused_reason == "Multivers Online was unavailable (HTTP 503)."
    assert row.needs_attention


def test_sorting_by_open_failures_pages_by_keyset_without_gaps(consultant):
    integrations = _companies(consultant, 7)
    for n, integration in enumerate(integrations):
        if n:
            _failed_run(integration, n)
    seen, after = [], None
    while True:
        page = overview_page(user=consultant, sort="failures", after=after, limit=3)
        seen += [row.open_failures for row in page.rows]
        after = page.next_after
        if after is None:
            break
    assert seen == [6, 5, 4, 3, 2, 1, 0]


def test_sorting_by_oldest_failure_puts_integrations_without_failures_last(consultant):
    quiet, young, old = _companies(consultant, 3)
    _failed_run(young, 1)
    _failed_run(old, 5)
    pages = [overview_page(user=consultant, sort="oldest", limit=1)]
    while pages[-1].next_after:
        pages.append(
            overview_page(user=consultant, sort="oldest", limit=1, after=pages[-1].next_after)
        )
    assert [page.rows[0].integration.pk for page in pages] == [old.pk, young.pk, quiet.pk]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"package": "exact"}, {"Klant 0000 BV", "Klant 0002 BV"}),
        ({"q": "0001"}, {"Klant 0001 BV"}),
    ],
)
def test_the_filters_narrow_the_table(client, consultant, query, expected):
    _companies(consultant, 3)
    client.force_login(consultant)
    text = client.get(OVERVIEW, query).text
    shown = {f"Klant {n:04d} BV" for n in range(3) if f"Klant {n:04d} BV" in text}
    assert shown == expected


def test_assigned_to_me_lists_only_integrations_with_my_lines(consultant):
    _first, second = _companies(consultant, 2)
    run = _failed_run(second, 2)
    RunLine.objects.filter(run=run, position=1).update(assigned_to=consultant)
    page = overview_page(user=consultant, wanted=OverviewFilter(assigned_to_me=True))
    assert [(row.integration.pk, row.integration.assigned_to_me) for row in page.rows] == [
        (second.pk, 1)
    ]


def test_a_bad_page_cursor_shows_the_first_page(client, consultant):
    _companies(consultant, 2)
    client.force_login(consultant)
    response = client.get(OVERVIEW, {"after": "[not json", "sort": "oldest"})
    assert response.status_code == 200
    assert "Klant 0000 BV" in response.text
