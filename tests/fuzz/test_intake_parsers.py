"""Fuzzing the intake's readers (JSON stream and CSV): only the intake's own refusal.

Whatever bytes arrive, reading and checking a batch either gives lines to store or
raises ``IntakeError`` (a 4xx with a message); any other exception would be a 500.
Bounded for CI by ``FUZZ_EXAMPLES`` (default 200 per test); run longer with, e.g.::

    FUZZ_EXAMPLES=20000 bin/test tests/fuzz/test_intake_parsers.py -p no:cacheprovider
"""

from __future__ import annotations

import io
import json
import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from integrations.canonical import KINDS, example_record
from runs import intake
from runs.intake import checking, csv_rows

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "200"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])

_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30)
_json_values = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=20,
)
_field_names = st.sampled_from(sorted(csv_rows.known_columns() - {"kind", "identifier"}))


@st.composite
def _records(draw: st.DrawFn) -> dict:
    """A record near the real shape, so the checks behind the reader are reached too."""
    kind = draw(st.sampled_from([*KINDS, "unknown"]))
    data = example_record(kind if kind in KINDS else "customer", draw(st.integers(0, 99)))
    for name in draw(st.lists(_field_names, max_size=3)):
        data[name] = draw(_json_values)
    record = {"kind": kind, "identifier": draw(st.text(max_size=12) | st.integers()), "data": data}
    if draw(st.booleans()):
        record[draw(st.text(max_size=5))] = draw(_json_values)
    return record


def _read_and_check(read) -> None:  # type: ignore[no-untyped-def]
    try:
        list(checking.BatchCheck().lines(read()))
    except intake.IntakeError as refusal:
        assert 400 <= refusal.status < 500
        assert refusal.body()["detail"]


@FUZZ
@given(st.binary(max_size=300))
def test_any_bytes_as_json(body: bytes) -> None:
    _read_and_check(lambda: intake.records_from_json_stream(io.BytesIO(body)))


@FUZZ
@given(st.lists(_records(), max_size=5), st.integers(0, 40), st.binary(max_size=3))
def test_a_batch_cut_or_spoiled_anywhere(records: list, cut: int, junk: bytes) -> None:
    body = json.dumps({"records": records}, allow_nan=True).encode()
    at = len(body) * cut // 40
    spoiled = body[:at] + junk + body[at + len(junk) :]
    for variant in (body, spoiled, body[:at]):
        _read_and_check(
            lambda variant=variant: intake.records_from_json_stream(io.BytesIO(variant))
        )


_cells = st.text(alphabet=st.characters(codec="utf-8"), max_size=12) | st.sampled_from(
    ["", '"', ",", ";", "\n", "\r\n", "\x00", "customer", "sales_invoice", "VF1", "2025-03-15"]
)


@FUZZ
@given(
    st.lists(_field_names, min_size=0, max_size=5, unique=True),
    st.lists(st.lists(_cells, max_size=9), max_size=6),
    st.sampled_from([",", ";"]),
)
def test_any_csv_export(columns: list[str], rows: list[list[str]], separator: str) -> None:
    header = ["kind", "identifier", *columns]
    text = "\n".join(separator.join(cells) for cells in [header, *rows])
    _read_and_check(lambda: intake.records_from_csv(text.encode()))


@FUZZ
@given(st.binary(max_size=300))
def test_any_bytes_as_csv(content: bytes) -> None:
    _read_and_check(lambda: intake.records_from_csv(content))
