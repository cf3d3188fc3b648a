"""The open items schedule (beat's periodic task on a clock we control), and its screens."""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from integrations.connectors.multivers.connector import MultiversConnector
from integrations.simulators.testing import run_simulator
from runs.models import OpenItem, Run, RunKind, RunStatus, Trigger
from runs.services.open_items import (
    open_items_import_start,
    open_items_interval_set,
    open_items_schedule,
)
from tests.runs.conftest import connect
from tests.runs.screens.conftest import client_for
from tests.runs.test_open_items import book

NEXT_PAGE = re.compile(r'<a href="([^"]+)">Next page</a>')


@pytest.fixture
def linked(integration, shared_state, eager, fast_engine):
    with run_simulator("multivers", seed=7) as sim:
        yield connect(integration, sim)


def imports(integration) -> list[Run]:
    return list(Run.objects.filter(integration=integration, kind=RunKind.OPEN_ITEMS))


def last_queued(integration) -> dt.datetime:
    return (
        Run.objects.filter(integration=integration, kind=RunKind.OPEN_ITEMS)
        .latest("number")
        .queued_at
    )


def test_beat_starts_an_import_each_interval(linked):
    open_items_interval_set(integration=linked, minutes=1)

    [first] = open_items_schedule(now=timezone.now())
    at = last_queued(linked)
    assert open_items_schedule(now=at + dt.timedelta(seconds=30)) == []
    [second] = open_items_schedule(now=at + dt.timedelta(seconds=61))

    assert [run.trigger for run in (first, second)] == [Trigger.SCHEDULE] * 2
    assert {run.status for run in imports(linked)} == {RunStatus.FINISHED}
    assert len(imports(linked)) == 2


def test_a_changed_interval_takes_effect_and_off_means_never(linked):
    open_items_schedule(now=timezone.now())
    at = last_queued(linked)
    open_items_interval_set(integration=linked, minutes=60)
    assert open_items_schedule(now=at + dt.timedelta(minutes=2)) == []

    open_items_interval_set(integration=linked, minutes=1)
    assert len(open_items_schedule(now=at + dt.timedelta(minutes=2))) == 1

    open_items_interval_set(integration=linked, minutes=None)
    assert open_items_schedule(now=at + dt.timedelta(days=30)) == []


def test_never_two_imports_of_one_integration_at_once(linked):
    later = timezone.now() + dt.timedelta(days=1)  # long past the interval
    under_way = Run.objects.create(
        integration=linked,
        number=99,
        kind=RunKind.OPEN_ITEMS,
        trigger=Trigger.SCHEDULE,
        status=RunStatus.RUNNING,
        heartbeat_at=later,  # its worker is alive at that moment
    )

    assert open_items_schedule(now=later) == []
    assert open_items_import_start(integration=linked, trigger=Trigger.MANUAL) is None
    with pytest.raises(IntegrityError), transaction.atomic():
        Run.objects.create(
            integration=linked, number=100, kind=RunKind.OPEN_ITEMS, trigger=Trigger.MANUAL
        )
    assert imports(linked) == [under_way]


def test_an_import_whose_worker_died_fails_and_the_snapshot_stays(linked, settings):
    book(linked)
    open_items_schedule(now=timezone.now())
    before = sorted(OpenItem.objects.values_list("invoice_number", "open_amount", "closed_at"))
    stale = timezone.now() - dt.timedelta(seconds=settings.RUN_HEARTBEAT_STALE_SECONDS + 1)
    died = Run.objects.create(
        integration=linked,
        number=99,
        kind=RunKind.OPEN_ITEMS,
        trigger=Trigger.SCHEDULE,
        status=RunStatus.RUNNING,
        heartbeat_at=stale,
    )

    open_items_schedule(now=timezone.now())

    died.refresh_from_db()
    assert died.status == RunStatus.FAILED
    assert "previous open items stay current" in died.error
    after = sorted(OpenItem.objects.values_list("invoice_number", "open_amount", "closed_at"))
    assert after == before


def test_an_export_never_waits_for_an_import_beside_it(linked):
    Run.objects.create(
        integration=linked,
        number=99,
        kind=RunKind.OPEN_ITEMS,
        trigger=Trigger.SCHEDULE,
        status=RunStatus.RUNNING,
        heartbeat_at=timezone.now(),
    )

    book(linked)  # finishes: the running import is no export that holds the integration


def test_a_package_without_open_items_is_left_out(linked, monkeypatch, consultant):
    monkeypatch.setattr(MultiversConnector, "supports_open_items", False)

    assert open_items_schedule(now=timezone.now()) == []
    assert open_items_import_start(integration=linked, trigger=Trigger.MANUAL) is None
    url = reverse("open_items", kwargs={"company_slug": "de-vries", "integration_id": linked.pk})
    assert client_for(consultant).get(url).status_code == 404


# --- screens --------------------------------------------------------------------------------


def _url(name: str, integration, slug: str = "de-vries") -> str:
    return reverse(name, kwargs={"company_slug": slug, "integration_id": integration.pk})


def test_only_a_consultant_sets_the_interval(viewer, editor, consultant, integration):
    url = _url("open_items_schedule", integration)
    for user in (viewer, editor):
        assert client_for(user).post(url, {"interval": "5"}).status_code == 403

    response = client_for(consultant).post(url, {"interval": "5"})

    assert response.status_code == 302
    assert response["Location"] == _url("integration_settings", integration)
    integration.refresh_from_db()
    assert integration.open_items_interval == 5
    page = client_for(consultant).get(response["Location"]).text
    assert 'name="interval" min="0" max="10080" value="5"' in page


def test_an_interval_out_of_range_is_refused_with_its_reason(consultant, integration):
    url = _url("open_items_schedule", integration)

    response = client_for(consultant).post(url, {"interval": "-3"}, follow=True)

    assert "Interval not saved" in response.text
    integration.refresh_from_db()
    assert integration.open_items_interval == 30


def test_another_companys_integration_is_not_found(consultant, outsider, integration):
    for name in ("open_items", "open_items_fetch", "open_items_schedule"):
        elsewhere = _url(name, integration, slug="jansen")
        method = client_for(consultant).get if name == "open_items" else client_for(consultant).post
        assert method(elsewhere).status_code == 404
        own = _url(name, integration)
        method = client_for(outsider).get if name == "open_items" else client_for(outsider).post
        assert method(own).status_code == 404


def test_fetch_now_is_for_consultants_and_starts_one_import(viewer, editor, consultant, linked):
    url = _url("open_items_fetch", linked)
    for user in (viewer, editor):
        assert client_for(user).post(url).status_code == 403

    page = client_for(consultant).post(url, follow=True).text

    [run] = imports(linked)
    assert run.trigger == Trigger.MANUAL
    assert f"Import #{run.number} of open items is queued." in page


def _item(integration, n: int, due: dt.date | None, relation: str, **extra) -> OpenItem:
    now = timezone.now()
    return OpenItem.objects.create(
        integration=integration,
        side="receivable",
        package_id=f"P{n}",
        relation_code=relation,
        invoice_number=f"VF-{n}",
        due_date=due,
        open_amount="10.00",
        currency="EUR",
        first_seen_at=now,
        changed_at=now,
        change=1,
        **extra,
    )


def test_the_open_items_page_shows_overdue_first_and_filters_by_relation(viewer, integration):
    today = timezone.localdate()
    _item(integration, 1, today + dt.timedelta(days=10), "10001")
    _item(integration, 2, today - dt.timedelta(days=5), "10002")
    _item(integration, 3, None, "10001")
    _item(integration, 4, today - dt.timedelta(days=1), "10001", closed_at=timezone.now())
    client = client_for(viewer)

    page = client.get(_url("open_items", integration)).text
    mine = client.get(_url("open_items", integration), {"relation": "10001"}).text

    assert page.index("VF-2") < page.index("VF-1") < page.index("VF-3")
    assert "VF-4" not in page  # closed
    assert page.count("Overdue</span>") == 1
    assert "VF-2" not in mine and "VF-1" in mine and "VF-3" in mine
    assert "Fetch now" not in page  # a viewer cannot start one


def test_the_open_items_page_pages_on(viewer, integration, monkeypatch):
    from runs.views import open_items as view

    monkeypatch.setattr(view, "ITEMS_PER_PAGE", 2)
    today = timezone.localdate()
    for n in range(5):
        _item(integration, n, today + dt.timedelta(days=n), "10001")
    client = client_for(viewer)
    seen: list[str] = []
    url: str | None = _url("open_items", integration)
    while url:
        page = client.get(url).text
        seen += [f"VF-{n}" for n in range(5) if f"<td>VF-{n}</td>" in page]
        following = NEXT_PAGE.search(page)
        url = html.unescape(following.group(1)) if following else None
    assert seen == [f"VF-{n}" for n in range(5)]


def test_a_failed_import_shows_its_reason_in_history_and_on_its_page(viewer, integration):
    run = Run.objects.create(
        integration=integration,
        number=7,
        kind=RunKind.OPEN_ITEMS,
        trigger=Trigger.SCHEDULE,
        status=RunStatus.FAILED,
        error="Multivers Online answered what the portal cannot read: x.",
        items_read=3,
    )
    client = client_for(viewer)

    history = client.get(_url("run_history", integration)).text
    detail = client.get(
        reverse("run_detail", kwargs={"company_slug": "de-vries", "run_id": run.pk})
    ).text
    items_page = client.get(_url("open_items", integration)).text

    assert "Open items import" in history
    assert "3 read, 0 changed, 0 closed" in history
    assert "answered what the portal cannot read" in history
    assert "Items read" in detail and "answered what the portal cannot read" in detail
    assert "Resume" not in detail
    assert "answered what the portal cannot read" in items_page
