"""Intake: a batch from Reflex 3000 becomes one queued Run, or is refused whole.

The batch is checked completely before anything is stored (shape, kinds, identifiers,
duplicates, the canonical schema), so a refusal names every bad line and field and
leaves nothing behind. Two forms arrive: JSON (``{"records": [...]}``) and the ERP's
CSV export (one row per invoice line; see docs/intake.md).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import IntegrityError

from integrations.canonical import KINDS, NATURAL_KEY, SCHEMAS, validate_record
from integrations.canonical.messages import RECORD_PATH
from integrations.models import Integration
from runs.models import Run, Trigger
from runs.services.runs import NewLine, run_create

if TYPE_CHECKING:
    from django.contrib.auth.models import User

# CSV columns of an invoice's or entry's lines carry this prefix: ``line_amount``.
LINE_PREFIX = "line_"
_ERRORS_SHOWN = 1000  # a refusal names at most this many problems (and says so)


@dataclass
class IntakeError(Exception):
    """A refused batch: the HTTP status, one sentence, and every problem found."""

    status: int
    detail: str
    errors: list[dict[str, Any]] = field(default_factory=list)

    def body(self) -> dict[str, Any]:
        answer: dict[str, Any] = {"detail": self.detail}
        if self.errors:
            answer["errors"] = self.errors[:_ERRORS_SHOWN]
            if len(self.errors) > _ERRORS_SHOWN:
                answer["errors_not_shown"] = len(self.errors) - _ERRORS_SHOWN
        return answer


@dataclass(frozen=True)
class IntakeResult:
    run: Run
    created: bool  # False: the Idempotency-Key named an earlier run


def body_hash(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def check_size(length: int) -> None:
    if length > settings.INTAKE_MAX_BYTES:
        raise IntakeError(
            413, f"The batch is {length} bytes; at most {settings.INTAKE_MAX_BYTES} are accepted."
        )


def _check_count(count: int) -> None:
    if count > settings.INTAKE_MAX_LINES:
        raise IntakeError(
            413,
            f"The batch has {count} records; at most {settings.INTAKE_MAX_LINES} are accepted "
            "in one run. Split it.",
        )


def _problem(line: int, identifier: Any, field: str | None, message: str) -> dict[str, Any]:
    return {"line": line, "identifier": identifier, "field": field, "message": message}


# --- JSON -----------------------------------------------------------------------------------


def records_from_json(body: bytes) -> list[tuple[int, Any]]:
    """``[(line number, record)]`` from a JSON body; 400 when it is not the expected shape."""
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, ValueError) as exc:
        raise IntakeError(400, f"The body is not valid JSON: {exc}.") from None
    if not isinstance(document, dict) or not isinstance(document.get("records"), list):
        raise IntakeError(400, 'Send a JSON object with a list of records: {"records": [...]}.')
    records = document["records"]
    _check_count(len(records))
    return list(enumerate(records, start=1))


# --- CSV ------------------------------------------------------------------------------------


def records_from_csv(content: bytes) -> list[tuple[int, dict[str, Any]]]:
    """``[(row number, record)]`` from the ERP's CSV export.

    One row per invoice or entry line, the record's own columns repeated (or left empty)
    on its following rows; a relation is one row. Rows of one record follow each other.
    """
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise IntakeError(400, "The file is not UTF-8 text.") from None
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header = [name.strip() for name in next(reader)]
    except StopIteration:
        raise IntakeError(400, "The file is empty.") from None
    except csv.Error as exc:
        raise IntakeError(400, f"Row 1 is not valid CSV: {exc}.") from None
    _check_header(header)
    grouped = _group_rows(reader, header)
    _check_count(len(grouped))
    return grouped


def _known_columns() -> set[str]:
    columns = {"kind", "identifier"}
    for schema in SCHEMAS.values():
        for name, info in schema.model_fields.items():
            if name != "lines":
                columns.add(name)
                continue
            item = info.annotation.__args__[0]  # list[InvoiceLine] → InvoiceLine
            columns |= {LINE_PREFIX + sub for sub in item.model_fields}
    return columns


def _check_header(header: list[str]) -> None:
    missing = {"kind", "identifier"} - set(header)
    if missing:
        raise IntakeError(400, f"The header lacks the column(s) {', '.join(sorted(missing))}.")
    unknown = [name for name in header if name not in _known_columns()]
    if unknown:
        raise IntakeError(
            400,
            f"Unknown column(s) in the header: {', '.join(unknown)}. See docs/intake.md.",
            [_problem(1, None, name, "Unknown column.") for name in unknown],
        )
    if len(set(header)) != len(header):
        raise IntakeError(400, "A column appears twice in the header.")


def _group_rows(reader: Iterable[list[str]], header: list[str]) -> list[tuple[int, dict[str, Any]]]:
    grouped: list[tuple[int, dict[str, Any]]] = []
    current: tuple[str, str] | None = None
    row_number = 1
    broken: list[dict[str, Any]] = []
    try:
        for row_number, cells in enumerate(reader, start=2):
            if not any(cell.strip() for cell in cells):
                continue
            if len(cells) != len(header):
                broken.append(
                    _problem(
                        row_number,
                        None,
                        None,
                        f"The row has {len(cells)} cells; the header has {len(header)}.",
                    )
                )
                continue
            values = dict(zip(header, cells, strict=True))
            key = (values["kind"].strip(), values["identifier"].strip())
            record, item = _split_row(values)
            if key != current or not grouped:
                grouped.append((row_number, record))
                current = key
            if item:
                grouped[-1][1].setdefault("data", {}).setdefault("lines", []).append(item)
    except csv.Error as exc:
        broken.append(_problem(row_number + 1, None, None, f"Not valid CSV: {exc}."))
    if broken:
        raise IntakeError(400, "The file has rows that are not valid CSV.", broken)
    return grouped


def _split_row(values: Mapping[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    data = {
        name: cell
        for name, cell in values.items()
        if name not in ("kind", "identifier") and not name.startswith(LINE_PREFIX) and cell.strip()
    }
    item = {
        name.removeprefix(LINE_PREFIX): cell
        for name, cell in values.items()
        if name.startswith(LINE_PREFIX) and cell.strip()
    }
    return {
        "kind": values["kind"].strip(),
        "identifier": values["identifier"].strip(),
        "data": data,
    }, item


# --- a file -------------------------------------------------------------------------------


def records_from_file(*, name: str, content: bytes) -> list[tuple[int, Any]]:
    """The records of an export file, read by its extension: ``.csv`` or ``.json``.

    The same readers as the API's two endpoints; a consultant's upload of a file that
    Reflex 3000 wrote (or a JSON batch) is checked exactly as if the ERP had sent it.
    """
    suffix = PurePath(name).suffix.lower()
    if suffix == ".csv":
        return records_from_csv(content)
    if suffix == ".json":
        return records_from_json(content)
    raise IntakeError(400, "Upload the export as a .csv or a .json file.")


# --- the batch ------------------------------------------------------------------------------


def batch_validate(records: list[tuple[int, Any]]) -> list[NewLine]:
    """Every record checked; 422 naming each problem, or the lines to store."""
    problems: list[dict[str, Any]] = []
    seen: dict[tuple[str, str], int] = {}
    lines: list[NewLine] = []
    for number, record in records:
        found = _record_problems(number, record, seen)
        if found:
            problems.extend(found)
        elif not problems:
            lines.append(
                NewLine(
                    kind=record["kind"],
                    identifier=_text(record["identifier"]),
                    payload=record["data"],
                )
            )
    if problems:
        bad = len({problem["line"] for problem in problems})
        raise IntakeError(
            422,
            f"{bad} of {len(records)} records are not valid; nothing was stored. Correct them and send the batch again.",
            problems,
        )
    if not lines:
        raise IntakeError(422, "The batch has no records.")
    return lines


def _text(value: Any) -> str:
    return (
        str(value).strip() if isinstance(value, str | int) and not isinstance(value, bool) else ""
    )


def _record_problems(
    number: int, record: Any, seen: dict[tuple[str, str], int]
) -> list[dict[str, Any]]:
    if not isinstance(record, dict):
        return [
            _problem(number, None, None, 'A record is an object: {"kind", "identifier", "data"}.')
        ]
    identifier = _text(record.get("identifier"))
    problems = []
    unknown = set(record) - {"kind", "identifier", "data"}
    for name in sorted(unknown):
        problems.append(_problem(number, identifier or None, name, "Unknown field."))
    kind = record.get("kind")
    if kind not in KINDS:
        problems.append(
            _problem(
                number, identifier or None, "kind", f"Unknown kind; use one of {', '.join(KINDS)}."
            )
        )
    if not identifier:
        problems.append(
            _problem(number, None, "identifier", "Enter the record's identifier as text.")
        )
    data = record.get("data")
    if not isinstance(data, dict):
        problems.append(
            _problem(number, identifier or None, "data", "Enter the record's fields as an object.")
        )
    if problems:
        return problems
    if (kind, identifier) in seen:
        problems.append(
            _problem(
                number,
                identifier,
                "identifier",
                f"The {kind} {identifier} is in the batch twice (also line {seen[kind, identifier]}).",
            )
        )
    seen.setdefault((kind, identifier), number)
    key = NATURAL_KEY[kind]
    if _text(data.get(key)) and _text(data.get(key)) != identifier:
        problems.append(
            _problem(
                number,
                identifier,
                "identifier",
                f"The identifier must equal the record's {key} ({data.get(key)}).",
            )
        )
    _, errors = validate_record(kind, data)
    for path, message in errors.items():
        problems.append(
            _problem(number, identifier, None if path == RECORD_PATH else path, message)
        )
    return problems


def intake_accept(
    *,
    integration: Integration,
    records: list[tuple[int, Any]],
    idempotency_key: str | None,
    digest: str,
    trigger: Trigger = Trigger.INTAKE,
    created_by: User | None = None,
) -> IntakeResult:
    """Store a valid batch as one queued run, or answer the run the key already made.

    ``trigger`` and ``created_by`` tell a consultant's upload (``manual``) from the ERP's.
    """
    if idempotency_key:
        earlier = _earlier(integration, idempotency_key, digest)
        if earlier is not None:
            return IntakeResult(earlier, created=False)
    lines = batch_validate(records)
    try:
        run = run_create(
            integration=integration,
            trigger=trigger,
            created_by=created_by,
            lines=lines,
            idempotency_key=idempotency_key or None,
            body_hash=digest,
        )
    except IntegrityError:
        # The same key, sent twice at once: the other request stored it first.
        earlier = _earlier(integration, idempotency_key or "", digest)
        if earlier is None:
            raise
        return IntakeResult(earlier, created=False)
    return IntakeResult(run, created=True)


def _earlier(integration: Integration, key: str, digest: str) -> Run | None:
    run = Run.objects.filter(integration=integration, idempotency_key=key).first()
    if run is not None and run.body_hash != digest:
        raise IntakeError(
            409,
            f"The Idempotency-Key {key!r} was used for a different batch (run #{run.number}). "
            "Send a new key with a new batch.",
        )
    return run


def lines_page(*, run: Run, after: int, limit: int) -> Iterator[dict[str, Any]]:
    """A page of the run's lines in position order, for the ERP to read back."""
    rows = (
        run.lines.filter(position__gt=after)
        .order_by("position")
        .values(
            "position", "kind", "identifier", "status", "message", "field_errors", "external_id"
        )[:limit]
    )
    yield from rows
