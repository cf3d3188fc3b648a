"""Intake read as a stream: the same answers as parsing the body whole, without holding it.

The JSON body is read in pieces and stored with COPY on PostgreSQL as it is checked, so
these tests pin what must not change with that: json's own messages and positions for a
broken body (also when a value is cut between two pieces), the batch refused whole when
the breakage comes after records were already written, and each stored column the value
the model gives it.
"""

from __future__ import annotations

import io
import json

import pytest

from integrations.canonical import example_record, identifier_of
from runs import intake
from runs.intake import json_stream
from runs.models import Run, RunLine
from runs.services.runs import NewLine, run_create

pytestmark = pytest.mark.django_db


def rec(kind: str, n: int, **changes) -> dict:
    data = example_record(kind, n) | changes
    return {"kind": kind, "identifier": identifier_of(kind, data), "data": data}


@pytest.fixture
def post(client, integration):
    token = integration.issue_intake_token()

    def post(body: str | bytes, **headers):
        return client.post(
            "/api/v1/runs",
            body,
            content_type="application/json",
            headers={"Authorization": f"Bearer {token}", **headers},
        )

    return post


def whole(body: bytes) -> tuple[str, object]:
    """What reading the body whole answers (the behaviour before streaming)."""
    try:
        document = json.loads(body)
    except ValueError as exc:
        return "400", f"The body is not valid JSON: {exc}."
    if not isinstance(document, dict) or not isinstance(document.get("records"), list):
        return "400", "shape"
    if set(document) != {"records"}:  # nothing else beside the records (issue 14)
        return "400", "unknown keys"
    return "ok", list(enumerate(document["records"], start=1))


def streamed(body: bytes) -> tuple[str, object]:
    try:
        return "ok", list(intake.records_from_json_stream(io.BytesIO(body)))
    except intake.IntakeError as refusal:
        assert refusal.status == 400
        if refusal.detail.startswith("Unknown key"):
            return "400", "unknown keys"
        return "400", "shape" if "list of records" in refusal.detail else refusal.detail


@pytest.mark.parametrize("chunk", [1, 3, 7, 65536])
@pytest.mark.parametrize(
    "body",
    [
        b'{"records": [1, -2.5e3, "x", null, true, {"a": [1, {"b": "c\\"d"}]}, []]}',
        b'{"before": {"records": 1}, "records": [{"kind": "customer"}], "after": [1, 2]}',
        b' \n{ "records" :\n[\n]\n}\n ',
        b'\xef\xbb\xbf{"records": ["\xc3\xa9"]}',
        '{"records": [1, "é"]}'.encode("utf-16"),
        b"",
        b"[]",
        b'{"recs": []}',
        b'{"records": {}}',
        b'{"records": [1,]}',
        b'{"records": [1 2]}',
        b'{"records": [1], }',
        b'{"records": [1e]}',
        b'{"records": [1]} and more',
        b'{"records": [1]',
        b'{"records": ["\xff"]}',
        b'{"a" 1}',
        b"not json at all",
    ],
)
def test_a_body_read_in_pieces_answers_as_one_read_whole(monkeypatch, body, chunk):
    monkeypatch.setattr(json_stream, "CHUNK", chunk)
    assert streamed(body) == whole(body)


@pytest.mark.parametrize("value", ["NaN", "-Infinity", "1e999"])
def test_numbers_that_cannot_be_stored_are_not_json(post, value):
    answer = post('{"records": [%s]}' % value)  # noqa: UP031 - JSON braces

    assert answer.status_code == 400
    assert "not valid JSON" in answer.json()["detail"]


def test_a_body_broken_after_its_records_stores_nothing(post):
    records = json.dumps({"records": [rec("customer", n) for n in range(50)]})

    answer = post(records[:-2] + "}")  # the list never closes

    assert answer.status_code == 400
    assert not Run.objects.exists() and not RunLine.objects.exists()


def test_too_many_records_are_counted_to_the_end(post, settings):
    settings.INTAKE_MAX_LINES = 3

    answer = post(json.dumps({"records": [rec("customer", n) for n in range(5)]}))

    assert answer.status_code == 413
    assert "has 5 records" in answer.json()["detail"]
    assert not Run.objects.exists()


def test_a_second_records_list_is_refused_rather_than_guessed(post):
    answer = post('{"records": [], "records": []}')

    assert answer.status_code == 400
    assert not Run.objects.exists()


def test_a_refusal_lists_a_thousand_problems_and_counts_the_rest(post):
    bad = [{"kind": "customer", "identifier": str(n), "data": {}} for n in range(1, 601)]

    answer = post(json.dumps({"records": bad}))

    body = answer.json()
    assert answer.status_code == 422
    # Each empty customer lacks its code and its name: 1,200 problems in 600 records.
    assert body["detail"].startswith("600 of 600 records are not valid")
    assert len(body["errors"]) == 1000
    assert body["errors_not_shown"] == 200
    assert not Run.objects.exists()


def test_a_reused_key_is_checked_before_the_body_is_read(post):
    first = post(json.dumps({"records": [rec("customer", 0)]}), **{"Idempotency-Key": "k1"})

    again = post("{not even json", **{"Idempotency-Key": "k1"})

    assert first.status_code == 201
    assert again.status_code == 409


def test_lines_are_stored_with_the_values_the_model_gives_them(integration):
    data = example_record("customer", 0)
    source = run_create(
        integration=integration,
        trigger="intake",
        lines=[NewLine(kind="customer", identifier="10000", payload=data)],
    )
    tricky = {"name": 'Tab\there, new\nline, back\\slash, quote" and é', "n": [1, None]}

    run = run_create(
        integration=integration,
        trigger="retry",
        retry_of=source,
        lines=[
            NewLine(
                kind="customer",
                identifier="10000\t1",
                payload=tricky,
                source_line_id=source.lines.get().pk,
            ),
            NewLine(kind="supplier", identifier="20000", payload=data),
        ],
    )

    first, second = run.lines.order_by("position")
    assert (run.total, first.position, second.position) == (2, 1, 2)
    assert (first.identifier, first.payload, first.source_line_id) == (
        "10000\t1",
        tricky,
        source.lines.get().pk,
    )
    assert (second.kind, second.payload, second.source_line_id) == ("supplier", data, None)
    assert first.integration_id == integration.pk
    fresh = RunLine()  # every other column: the model's default
    given = {"id", "run", "integration", "position", "kind", "identifier", "payload", "source_line"}
    for field in RunLine._meta.concrete_fields:
        if field.name not in given:
            assert getattr(second, field.attname) == getattr(fresh, field.attname), field.name
