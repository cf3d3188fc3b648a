"""The correction services: edit, re-offer, resolve and Retry, with their audit trail."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from runs.models import LineEdit, LineStatus, Run, Trigger
from runs.services.corrections import (
    CorrectionInvalid,
    LineNotOpen,
    NothingToRetry,
    ReasonRequired,
    StaleEdit,
    line_correct,
    line_set_reoffer,
    lines_reoffer,
    lines_resolve,
    run_retry,
)

GOOD_VAT = "NL123464708B37"


def corrected(line, **changes):
    return {**line.payload, **changes}


def test_a_correction_is_stored_beside_the_untouched_payload(customer_line, editor):
    offered = dict(customer_line.payload)
    line = line_correct(
        line=customer_line,
        user=editor,
        data=corrected(customer_line, vat_number=GOOD_VAT),
        version=1,
        reoffer=True,
    )
    assert line.payload == offered
    assert line.correction["vat_number"] == GOOD_VAT
    assert line.reoffer is True
    assert line.version == 2
    assert line.edited_by == editor


def test_each_changed_field_leaves_one_edit_history_row(customer_line, editor):
    data = corrected(customer_line, vat_number=GOOD_VAT, city="Zwolle")
    line_correct(line=customer_line, user=editor, data=data, version=1, reoffer=True)
    edits = {(e.action, e.field): e for e in LineEdit.objects.filter(line=customer_line)}
    assert set(edits) == {("edit", "vat_number"), ("edit", "city"), ("reoffer", "")}
    assert edits["edit", "vat_number"].old_value == "NL123"
    assert edits["edit", "vat_number"].new_value == GOOD_VAT
    assert edits["edit", "city"].user == editor


def test_a_changed_invoice_line_is_recorded_by_its_dotted_path(invoice_line, editor):
    data = corrected(invoice_line)
    data["lines"] = [dict(row) for row in data["lines"]]
    data["lines"][1]["vat_code"] = "2"
    line_correct(line=invoice_line, user=editor, data=data, version=1, reoffer=False)
    assert list(
        LineEdit.objects.filter(line=invoice_line).values_list("field", "old_value", "new_value")
    ) == [("lines.1.vat_code", "1", "2")]


def test_an_edit_on_an_older_version_is_refused_and_nothing_is_stored(
    customer_line, editor, consultant
):
    line_correct(
        line=customer_line,
        user=consultant,
        data=corrected(customer_line, vat_number=GOOD_VAT),
        version=1,
        reoffer=False,
    )
    mine = corrected(customer_line, city="Zwolle")
    with pytest.raises(StaleEdit) as refused:
        line_correct(line=customer_line, user=editor, data=mine, version=1, reoffer=True)
    assert "consultant" in str(refused.value)
    assert "Your changes were not saved" in str(refused.value)
    assert refused.value.data == mine
    customer_line.refresh_from_db()
    assert customer_line.correction["city"] != "Zwolle"
    assert customer_line.reoffer is False
    assert not LineEdit.objects.filter(line=customer_line, user=editor).exists()


def test_an_invalid_correction_is_refused_with_its_field_errors(customer_line, editor):
    with pytest.raises(CorrectionInvalid) as refused:
        line_correct(
            line=customer_line,
            user=editor,
            data=corrected(customer_line, vat_number="NL1"),
            version=1,
            reoffer=True,
        )
    assert "vat_number" in refused.value.field_errors
    customer_line.refresh_from_db()
    assert customer_line.correction is None
    assert customer_line.version == 1
    assert not LineEdit.objects.exists()


def test_the_records_key_cannot_be_changed_by_a_correction(customer_line, editor):
    with pytest.raises(CorrectionInvalid) as refused:
        line_correct(
            line=customer_line,
            user=editor,
            data=corrected(customer_line, code="OTHER-1", vat_number="NL000099998B57"),
            version=1,
            reoffer=True,
        )
    assert "cannot be changed" in refused.value.field_errors["code"]
    customer_line.refresh_from_db()
    assert customer_line.correction is None


def test_a_line_that_did_not_fail_cannot_be_corrected(failed_run, editor):
    succeeded = failed_run.lines.get(status=LineStatus.SUCCEEDED)
    with pytest.raises(LineNotOpen):
        line_correct(line=succeeded, user=editor, data=succeeded.payload, version=1, reoffer=True)


def test_marking_and_unmarking_for_reoffer_is_recorded(customer_line, editor):
    line_set_reoffer(line=customer_line, user=editor, reoffer=True)
    line_set_reoffer(line=customer_line, user=editor, reoffer=False)
    assert list(
        LineEdit.objects.filter(line=customer_line).order_by("id").values_list("action", flat=True)
    ) == ["reoffer", "unreoffer"]
    customer_line.refresh_from_db()
    assert customer_line.version == 3


def test_retry_makes_one_run_with_the_corrected_payloads(
    failed_run, customer_line, invoice_line, editor
):
    line_correct(
        line=customer_line,
        user=editor,
        data=corrected(customer_line, vat_number=GOOD_VAT),
        version=1,
        reoffer=True,
    )
    lines_reoffer(run=failed_run, line_ids=[invoice_line.pk], user=editor)

    new_run = run_retry(run=failed_run, user=editor)

    assert new_run.trigger == Trigger.RETRY
    assert new_run.retry_of == failed_run
    assert new_run.number == 2
    assert new_run.total == 2
    offered = {line.identifier: line for line in new_run.lines.all()}
    assert offered[customer_line.identifier].payload["vat_number"] == GOOD_VAT
    assert offered[customer_line.identifier].source_line == customer_line
    assert offered[invoice_line.identifier].payload == invoice_line.payload
    for old in (customer_line, invoice_line):
        old.refresh_from_db()
        assert old.reoffered_in == new_run
        assert old.reoffer is False
        assert not old.is_open_failure


def test_lines_not_marked_stay_behind_on_retry(failed_run, customer_line, invoice_line, editor):
    line_set_reoffer(line=customer_line, user=editor, reoffer=True)
    new_run = run_retry(run=failed_run, user=editor)
    assert list(new_run.lines.values_list("identifier", flat=True)) == [customer_line.identifier]
    invoice_line.refresh_from_db()
    assert invoice_line.is_open_failure


def test_retry_pressed_twice_makes_one_run(failed_run, customer_line, editor):
    line_set_reoffer(line=customer_line, user=editor, reoffer=True)
    first = run_retry(run=failed_run, user=editor)
    with pytest.raises(NothingToRetry) as second:
        run_retry(run=failed_run, user=editor)
    assert (
        str(second.value)
        == f"Nothing to retry: these lines were already re-offered in run #{first.number}."
    )
    assert Run.objects.filter(retry_of=failed_run).count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_retries_at_the_same_moment_make_one_run(failed_run, customer_line, editor):
    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL; set DATABASE_URL=postgres://…")
    line_set_reoffer(line=customer_line, user=editor, reoffer=True)
    barrier = threading.Barrier(2)
    outcomes: list[object] = []

    def press_retry():
        try:
            barrier.wait()
            outcomes.append(run_retry(run=failed_run, user=editor))
        except NothingToRetry as exc:
            outcomes.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=press_retry) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(type(outcome).__name__ for outcome in outcomes) == ["NothingToRetry", "Run"]
    assert Run.objects.filter(retry_of=failed_run).count() == 1
    assert Run.objects.get(retry_of=failed_run).lines.count() == 1


def test_resolved_lines_stop_counting_as_open(failed_run, customer_line, invoice_line, editor):
    count = lines_resolve(
        run=failed_run, line_ids=[customer_line.pk], user=editor, reason="Booked by hand"
    )
    assert count == 1
    customer_line.refresh_from_db()
    assert not customer_line.is_open_failure
    assert customer_line.resolution == "Booked by hand"
    assert customer_line.resolved_by == editor
    assert LineEdit.objects.get(line=customer_line).action == "resolve"
    with pytest.raises(NothingToRetry):
        run_retry(run=failed_run, user=editor)


def test_resolving_needs_a_reason(failed_run, customer_line, editor):
    with pytest.raises(ReasonRequired):
        lines_resolve(run=failed_run, line_ids=[customer_line.pk], user=editor, reason="  ")
    customer_line.refresh_from_db()
    assert customer_line.is_open_failure


def test_lines_of_another_run_are_ignored_by_bulk_actions(failed_run, foreign_line, editor):
    assert lines_reoffer(run=failed_run, line_ids=[foreign_line.pk], user=editor) == 0
    foreign_line.refresh_from_db()
    assert foreign_line.reoffer is False
