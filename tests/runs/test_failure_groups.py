"""Failures grouped by reason, and fixing a whole group at once, against the simulator.

Forty invoices refused for one reason (each with its own VAT code in the message) are
one group; one value set on all of them, then Retry, books all forty once.
"""

from __future__ import annotations

from collections import Counter

import pytest
from django.test import Client
from django.urls import reverse

from integrations.canonical import identifier_of
from runs.groups import failure_groups, group_lines
from runs.models import LineEdit, LineStatus, Run, RunLine, RunStatus, Trigger
from runs.services.corrections import lines_set_field
from runs.services.runs import NewLine, run_create
from tests.runs.conftest import record

pytestmark = pytest.mark.usefixtures("fast_engine")

COUNT = 40


def _batch() -> list[NewLine]:
    """Forty customers, then their forty invoices, each with a VAT code Multivers lacks."""
    lines = []
    for n in range(COUNT):
        customer = record("customer", n)
        lines.append(NewLine("customer", identifier_of("customer", customer), customer))
    for n in range(COUNT):
        invoice = record("sales_invoice", n)
        invoice["lines"][0]["vat_code"] = str(70 + n % 3)
        lines.append(NewLine("sales_invoice", identifier_of("sales_invoice", invoice), invoice))
    return lines


def _open(integration) -> list[RunLine]:
    return list(RunLine.objects.open_failures(integration=integration))


def _url(name: str, integration, key: str) -> str:
    return reverse(
        name,
        kwargs={"company_slug": "de-vries", "integration_id": integration.pk, "group_key": key},
    )


def test_forty_lines_fixed_as_one_group_are_booked_once_each(connected, multivers, eager, editor):
    run = run_create(integration=connected, trigger=Trigger.INTAKE, lines=_batch())
    run.refresh_from_db()
    assert (run.succeeded, run.failed) == (COUNT, COUNT)
    failed = _open(connected)
    # Messages that differ only in their values fall in one group, on the field they name.
    assert len({line.message for line in failed}) == 3
    (group,) = failure_groups(
        lines=RunLine.objects.open_failures(integration=connected),
        catalogue=connected.connector_class.known_messages(),
    ).groups
    assert (group.kind, group.reason, group.count) == (
        "sales_invoice",
        "Btwcode '…' bestaat niet.",
        COUNT,
    )
    assert group.field_path == "lines.*.vat_code"
    assert group.known, "the catalogue explains Multivers' unknown VAT code"

    client = Client()
    client.force_login(editor)
    page = client.get(_url("failure_group", connected, group.key))
    assert page.status_code == 200
    form = {"field": "lines.*.vat_code", "value": "2", "line": [], **{}}
    for line in failed:
        form["line"].append(str(line.pk))
        form[f"version-{line.pk}"] = str(line.version)
    response = client.post(_url("failure_group_set_field", connected, group.key), form)
    assert response.status_code == 302

    edits = LineEdit.objects.filter(line__in=failed, action=LineEdit.Action.EDIT)
    assert edits.count() == COUNT
    assert set(edits.values_list("field", "new_value")) == {("lines.0.vat_code", "2")}
    assert all(line.reoffer for line in _open(connected))

    retried = client.post(_url("failure_group_retry", connected, group.key))
    new_run = Run.objects.get(retry_of=run)
    assert retried["Location"] == reverse(
        "run_detail", kwargs={"company_slug": "de-vries", "run_id": new_run.pk}
    )
    new_run.refresh_from_db()
    assert (new_run.status, new_run.succeeded, new_run.failed) == (RunStatus.FINISHED, COUNT, 0)
    invoices = Counter(
        b["key"] for b in multivers.ledger() if not b.get("update") and b["entity"] != "Customer"
    )
    assert len(invoices) == COUNT and set(invoices.values()) == {1}, invoices
    assert _open(connected) == []


def _failed_invoices(integration, count: int) -> list[RunLine]:
    run = Run.objects.create(
        integration=integration, number=1, trigger=Trigger.INTAKE, status=RunStatus.FINISHED
    )
    lines = []
    for n in range(count):
        invoice = record("sales_invoice", n)
        lines.append(
            RunLine(
                run=run,
                integration=integration,
                position=n + 1,
                kind="sales_invoice",
                identifier=invoice["invoice_number"],
                payload=invoice,
                status=LineStatus.FAILED,
                message=f"Btwcode '{70 + n}' bestaat niet.",
                field_errors={"lines.0.vat_code": f"Btwcode '{70 + n}' bestaat niet."},
            )
        )
    return RunLine.objects.bulk_create(lines)


def test_a_stale_line_is_refused_and_the_rest_applied(integration, editor, viewer):
    lines = _failed_invoices(integration, 5)
    versions = {line.pk: line.version for line in lines}
    # Someone else saved the third line after the group page was opened.
    RunLine.objects.filter(pk=lines[2].pk).update(version=2)

    result = lines_set_field(
        integration=integration,
        versions=versions,
        field_path="lines.*.vat_code",
        value="2",
        user=editor,
    )

    assert [line.pk for line in result.stale] == [lines[2].pk]
    assert sorted(line.pk for line in result.applied) == sorted(
        line.pk for n, line in enumerate(lines) if n != 2
    )
    untouched = RunLine.objects.get(pk=lines[2].pk)
    assert (untouched.correction, untouched.reoffer, untouched.edits.count()) == (None, False, 0)
    changed = RunLine.objects.get(pk=lines[0].pk)
    assert changed.correction["lines"][0]["vat_code"] == "2"
    assert (changed.reoffer, changed.version) == (True, 2)


def test_lines_the_new_value_does_not_fix_are_listed_on_the_page(client, integration, editor):
    lines = _failed_invoices(integration, 3)
    # An amount must be a number: pre-flight refuses "twelve" on every line.
    client.force_login(editor)
    (group,) = failure_groups(
        lines=RunLine.objects.open_failures(integration=integration), catalogue={}
    ).groups
    form = {"field": "lines.*.amount", "value": "twelve", "line": [str(line.pk) for line in lines]}
    form.update({f"version-{line.pk}": "1" for line in lines})

    response = client.post(_url("failure_group_set_field", integration, group.key), form)

    assert response.status_code == 200
    assert "3 lines were not changed" in response.text
    for line in lines:
        assert line.identifier in response.text
    assert "Enter a number." in response.text
    assert not RunLine.objects.filter(pk__in=[line.pk for line in lines], reoffer=True).exists()


def test_a_viewer_cannot_fix_a_group(client, integration, viewer):
    lines = _failed_invoices(integration, 2)
    (group,) = failure_groups(
        lines=RunLine.objects.filter(pk__in=[line.pk for line in lines]), catalogue={}
    ).groups
    client.force_login(viewer)
    page = client.get(_url("failure_group", integration, group.key))
    assert page.status_code == 200 and "Set one field on all lines" not in page.text
    response = client.post(
        _url("failure_group_set_field", integration, group.key),
        {
            "field": "lines.*.vat_code",
            "value": "2",
            "line": [str(lines[0].pk)],
            f"version-{lines[0].pk}": "1",
        },
    )
    assert response.status_code == 403


def test_resolve_all_closes_the_group_with_the_reason(client, integration, editor):
    lines = _failed_invoices(integration, 4)
    (group,) = failure_groups(
        lines=RunLine.objects.open_failures(integration=integration), catalogue={}
    ).groups
    client.force_login(editor)
    response = client.post(
        _url("failure_group_bulk", integration, group.key),
        {"action": "resolve", "reason": "Booked by hand", "line": [str(line.pk) for line in lines]},
    )
    assert response["Location"].endswith("/open/")
    assert _open(integration) == []
    assert set(LineEdit.objects.filter(action="resolve").values_list("new_value", flat=True)) == {
        "Booked by hand"
    }


def test_an_unknown_group_is_a_404(client, integration, editor):
    client.force_login(editor)
    assert client.get(_url("failure_group", integration, "0123456789abcdef")).status_code == 404


def test_group_lines_are_those_with_the_reason_only(integration):
    lines = _failed_invoices(integration, 3)
    RunLine.objects.filter(pk=lines[0].pk).update(message="Grootboekrekening '8999' bestaat niet.")
    groups = failure_groups(
        lines=RunLine.objects.open_failures(integration=integration), catalogue={}
    ).groups
    assert [(g.reason, g.count) for g in groups] == [
        ("Btwcode '…' bestaat niet.", 2),
        ("Grootboekrekening '…' bestaat niet.", 1),
    ]
    assert {line.pk for line in group_lines(lines=RunLine.objects.all(), group=groups[0])} == {
        lines[1].pk,
        lines[2].pk,
    }


@pytest.mark.parametrize("max_messages", [1000, 2], ids=["all grouped", "capped"])
def test_groups_count_every_open_failure_and_the_marked_ones(
    integration, monkeypatch, max_messages
):
    """Run details takes its "N failed, M ready to re-offer" from the groups' pass: with
    more distinct messages than are grouped, the counts still cover every line."""
    monkeypatch.setattr("runs.groups.MAX_MESSAGES", max_messages)
    lines = _failed_invoices(integration, 5)
    for n, line in enumerate(lines):
        line.message = f"Reason {n % 4}."  # four distinct messages, more than 2
    lines[0].reoffer = lines[1].reoffer = True
    RunLine.objects.bulk_update(lines, ["message", "reoffer"])
    groups = failure_groups(
        lines=RunLine.objects.open_failures(integration=integration), catalogue={}
    )
    assert groups.capped is (max_messages == 2)
    assert (groups.lines, groups.marked) == (5, 2)
