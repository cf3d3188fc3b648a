"""Intake: a batch from Reflex 3000 becomes one queued Run, or is refused whole.

The batch is checked completely (shape, kinds, identifiers, duplicates, the canonical
schema) before anything is committed, so a refusal names every bad line and field and
leaves nothing behind. Records are checked and written one at a time inside the run's
transaction, which a refusal rolls back: a large batch is never held whole. Two forms
arrive: JSON (``{"records": [...]}``, read as a stream) and the ERP's CSV export (one row
per invoice line; see docs/intake.md).
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import json
import math
import re
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import IO, TYPE_CHECKING, Any, Protocol

from django.conf import settings
from django.db import IntegrityError

from integrations.canonical import KINDS, NATURAL_KEY, SCHEMAS, record_errors
from integrations.canonical.messages import RECORD_PATH
from integrations.models import Integration
from runs.models import Run, Trigger
from runs.services.runs import NewLine, run_create

if TYPE_CHECKING:
    from django.contrib.auth.models import User

# CSV columns of an invoice's or entry's lines carry this prefix: ``line_amount``.
LINE_PREFIX = "line_"
_ERRORS_SHOWN = 1000  # a refusal names at most this many problems (and says so)
# A request body is read in pieces of this size, and kept in memory up to _SPOOL_MEMORY
# (beyond that in an unnamed temporary file), so a 50,000-record batch is never held whole.
_CHUNK = 64 * 1024
_SPOOL_MEMORY = 1024 * 1024


@dataclass
class IntakeError(Exception):
    """A refused batch: the HTTP status, one sentence, and every problem found."""

    status: int
    detail: str
    errors: list[dict[str, Any]] = field(default_factory=list)
    # Problems found but not kept in ``errors`` (a batch of 50,000 bad records need not
    # hold 50,000 of them to say how many there were).
    not_kept: int = 0

    def body(self) -> dict[str, Any]:
        answer: dict[str, Any] = {"detail": self.detail}
        if self.errors:
            answer["errors"] = self.errors[:_ERRORS_SHOWN]
            not_shown = max(len(self.errors) - _ERRORS_SHOWN, 0) + self.not_kept
            if not_shown:
                answer["errors_not_shown"] = not_shown
        return answer


@dataclass(frozen=True)
class IntakeResult:
    run: Run
    created: bool  # False: the Idempotency-Key named an earlier run


def body_hash(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


class _Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


def body_spool(stream: _Readable, declared_length: int) -> tuple[IO[bytes], str]:
    """The request body copied from ``stream`` into a temporary file, and its SHA-256.

    Read in pieces, hashed and counted on the way (413 as soon as it is too long, also
    when the client declared less), so the body is never a single 23 MB bytes object
    and the Idempotency-Key can be checked before any record is read. Close the file.
    """
    check_size(declared_length)
    spool = tempfile.SpooledTemporaryFile(max_size=_SPOOL_MEMORY)  # noqa: SIM115 - returned
    digest = hashlib.sha256()
    size = 0
    try:
        while chunk := stream.read(_CHUNK):
            size += len(chunk)
            check_size(size)
            digest.update(chunk)
            spool.write(chunk)
        spool.seek(0)
    except BaseException:
        spool.close()
        raise
    return spool, digest.hexdigest()


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
    return list(records_from_json_stream(io.BytesIO(body)))


def records_from_json_stream(stream: _Readable) -> Iterator[tuple[int, Any]]:
    """``(line number, record)`` one at a time from a JSON body ``{"records": [...]}``.

    Reads the body in pieces and decodes one record at a time, so the batch is never
    held as one parsed document (for 50,000 records that is ~5 times the body's size). The
    refusals are those of ``json.loads`` on the whole: 400 for a body that is not JSON
    (with json's own message and position) or not ``{"records": [...]}`` (nothing else
    beside "records"), and 413 for
    too many records; as the whole document is read before either is raised, a broken
    end still answers 400, as it did when the body was parsed first. Raised while
    iterating, after the records before it were yielded: the caller stores nothing
    until the iteration ends (``intake_accept`` runs it inside the run's transaction).
    """
    reader = _JsonReader(stream)
    limit = settings.INTAKE_MAX_LINES
    shape_ok = found = False
    unknown: list[str] = []
    count = 0
    if reader.next_char() != "{":
        reader.value()  # a broken document is "not JSON" rather than "not a batch"
    else:
        reader.advance()
        char = reader.next_char()
        while char != "}":
            if char != '"':
                reader.fail("Expecting property name enclosed in double quotes")
            key = reader.value()
            reader.expect(":", "Expecting ':' delimiter")
            if key == "records" and not found and reader.next_char() == "[":
                shape_ok = found = True
                reader.advance()
                char = reader.next_char()
                while char != "]":
                    record = reader.value()
                    count += 1
                    if count <= limit:
                        yield count, record
                    char = reader.next_char()
                    if char == ",":
                        reader.advance()
                        char = reader.next_char()
                        if char == "]":
                            reader.fail("Expecting value")
                    elif char != "]":
                        reader.fail("Expecting ',' delimiter")
                reader.advance()
            else:
                # ``json.loads`` keeps the last of two "records"; taking the first would
                # store a different batch than the one it reads, so both are refused.
                shape_ok = shape_ok and key != "records"
                if key != "records":
                    # A key the portal does not read is most likely a typo or a field
                    # put at the wrong level; dropping it would lose what was meant.
                    unknown.append(key)
                reader.value()
            char = reader.next_char()
            if char == ",":
                reader.advance()
                char = reader.next_char()
                if char != '"':
                    reader.fail("Expecting property name enclosed in double quotes")
            elif char != "}":
                reader.fail("Expecting ',' delimiter")
        reader.advance()
    if reader.next_char():
        reader.fail("Extra data")
    if not shape_ok:
        raise IntakeError(400, 'Send a JSON object with a list of records: {"records": [...]}.')
    if unknown:
        names = ", ".join(repr(name) for name in unknown[:10])
        raise IntakeError(
            400,
            f"Unknown key(s) in the batch: {names}. Send a JSON object with a list of "
            'records only: {"records": [...]}.',
        )
    _check_count(count)


def _no_constant(name: str) -> Any:
    # NaN and Infinity are not JSON, and PostgreSQL's jsonb refuses them when stored.
    raise ValueError(f"{name} is not a JSON value")


def _finite(text: str) -> float:
    # 1e999 is read as infinity, which could not be stored either.
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"{text} is too large a number")
    return number


_WHITESPACE = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder(parse_constant=_no_constant, parse_float=_finite)
_NUMBER_GOES_ON = frozenset("0123456789+-.eE")


class _JsonReader:
    """JSON values one at a time from a byte stream, with ``json.loads``'s messages.

    The text read so far is kept from the current value on; each value is decoded by
    json's C scanner (``raw_decode``). A value cut off at the end of what was read is
    read again with more text, and the piece read doubles each time, so even a very long
    value costs linear time.
    """

    def __init__(self, stream: _Readable) -> None:
        self._stream = stream
        self._text = ""
        self._at = 0  # position in _text
        self._dropped = 0  # characters dropped before _text
        self._line = 1  # line number at _text[0]
        self._line_start = 0  # absolute position of the current line's first character
        self._eof = False
        self._bytes = 0  # bytes given to the decoder so far
        first = b""
        # Like json.loads on bytes: UTF-8, -16 or -32, told apart by the first 4 bytes
        # (a stream may answer fewer than asked for).
        while len(first) < 4 and (data := stream.read(_CHUNK)):
            first += data
        self._decoder = codecs.getincrementaldecoder(json.detect_encoding(first))("surrogatepass")
        self._append(first, final=not first)

    def _append(self, data: bytes, *, final: bool) -> None:
        held = len(self._decoder.getstate()[0])  # bytes of a character cut off last time
        try:
            text = self._decoder.decode(data, final)
        except UnicodeDecodeError as exc:
            # The message json.loads gives, with the position in the body, not the piece.
            at = self._bytes - held + exc.start
            if exc.end - exc.start == 1:
                where = f"byte 0x{exc.object[exc.start]:02x} in position {at}"
            else:
                where = f"bytes in position {at}-{at + exc.end - exc.start - 1}"
            raise IntakeError(
                400,
                f"The body is not valid JSON: '{exc.encoding}' codec can't decode {where}: "
                f"{exc.reason}.",
            ) from None
        self._bytes += len(data)
        if self._at:
            dropped = self._text[: self._at]
            newlines = dropped.count("\n")
            if newlines:
                self._line += newlines
                self._line_start = self._dropped + dropped.rindex("\n") + 1
            self._dropped += self._at
            self._text = self._text[self._at :]
            self._at = 0
        self._text += text
        self._eof = final

    def _more(self, size: int = _CHUNK) -> bool:
        """Read on; False at the end of the body."""
        if self._eof:
            return False
        data = self._stream.read(size)
        self._append(data, final=not data)
        return True

    def next_char(self) -> str:
        """The next character that is not whitespace ("" at the end); not consumed."""
        if self._at < len(self._text):  # mostly there is no whitespace to skip
            char = self._text[self._at]
            if char not in " \t\n\r":
                return char
        while True:
            self._at = _WHITESPACE.match(self._text, self._at).end()  # type: ignore[union-attr]
            if self._at < len(self._text):
                return self._text[self._at]
            if not self._more():
                return ""

    def advance(self) -> None:
        self._at += 1

    def expect(self, char: str, message: str) -> None:
        if self.next_char() != char:
            self.fail(message)
        self.advance()

    def value(self) -> Any:
        self.next_char()
        size = _CHUNK
        while True:
            try:
                value, end = _DECODER.raw_decode(self._text, self._at)
            except json.JSONDecodeError as exc:
                if self._more(size):
                    size *= 2
                    continue
                self.fail(exc.msg, exc.pos)
            except ValueError as exc:  # NaN, Infinity or 1e999
                self.fail(str(exc))
            except RecursionError:
                # json's scanner recurses per level; no record is nested this deep.
                self.fail("the value is nested too deeply")
            # A number (or true/false/null) that ends where the text read so far ends,
            # or before a character that could go on with it ("1" of "1e5" cut after
            # the "e"), may go on in the next piece; strings, objects and arrays end
            # themselves.
            if (
                not self._eof
                and self._text[end - 1] not in '"}]'
                and (end == len(self._text) or self._text[end] in _NUMBER_GOES_ON)
            ):
                self._more(size)
                size *= 2
                continue
            self._at = end
            return value

    def fail(self, message: str, at: int | None = None) -> Any:
        at = self._at if at is None else at
        before = self._text[:at]
        newlines = before.count("\n")
        line = self._line + newlines
        start = self._dropped + before.rindex("\n") + 1 if newlines else self._line_start
        position = self._dropped + at
        where = f"line {line} column {position - start + 1} (char {position})"
        raise IntakeError(400, f"The body is not valid JSON: {message}: {where}.")


# --- CSV ------------------------------------------------------------------------------------


def records_from_csv(content: bytes) -> list[tuple[int, dict[str, Any]]]:
    """``[(row number, record)]`` from the ERP's CSV export.

    One row per invoice or entry line, the record's own columns repeated (or left empty)
    on its following rows; a relation is one row. Rows of one record follow each other.
    A file in Reflex 3000's own ``fmuta6.csv`` layout is recognised by its shape.
    """
    # Imported here: runs.fmuta6 builds on this module's refusals.
    from runs.fmuta6 import looks_like_fmuta6, records_from_fmuta6

    if looks_like_fmuta6(content):
        return records_from_fmuta6(content)
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
            assert info.annotation is not None  # every schema field is annotated
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
            else:
                broken.extend(_disagreements(grouped[-1], row_number, record))
            if item:
                grouped[-1][1].setdefault("data", {}).setdefault("lines", []).append(item)
    except csv.Error as exc:
        broken.append(_problem(row_number + 1, None, None, f"Not valid CSV: {exc}."))
    if broken:
        raise IntakeError(
            400,
            "The file has rows that are not valid CSV, or rows of one record that disagree.",
            broken,
        )
    return grouped


def _disagreements(
    start: tuple[int, dict[str, Any]], row_number: int, record: dict[str, Any]
) -> list[dict[str, Any]]:
    """A following row's record columns that differ from the row the record starts on.

    A following row may repeat them or leave them empty; any other value would be
    dropped without a word (the record is built from its first row), so it refuses the file.
    """
    first_row, first = start
    given = first.get("data", {})
    return [
        _problem(
            row_number,
            record["identifier"],
            name,
            f"Row {row_number} gives {name} {value.strip()!r}, but row {first_row}, where "
            f"this record starts, gives {given.get(name, '').strip()!r}. The rows of one "
            "record must agree on its own columns.",
        )
        for name, value in record["data"].items()
        if value.strip() != given.get(name, "").strip()
    ]


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


class _BatchCheck:
    """Checks the records one by one and hands on the valid ones as lines to store.

    Holds only what a check across records needs: the (kind, identifier) pairs seen (for
    duplicates) and the first ``_ERRORS_SHOWN`` problems, so memory does not grow with
    the records themselves. Once a problem is found, no further line is handed on (the
    batch will be refused), but every record is still checked so the refusal names all.
    """

    def __init__(self) -> None:
        self.seen: dict[tuple[str, str], int] = {}
        self.problems: list[dict[str, Any]] = []
        self.not_kept = 0  # problems beyond _ERRORS_SHOWN, counted only
        self.bad = 0  # records with at least one problem
        self.count = 0

    def lines(self, records: Iterable[tuple[int, Any]]) -> Iterator[NewLine]:
        """The lines to store; raises the 422 at the end when any record was bad.

        Meant to be consumed inside the run's transaction: the refusal is raised from
        within it, so the lines already written are rolled back with the run.
        """
        for number, record in records:
            self.count += 1
            found = _record_problems(number, record, self.seen)
            if found:
                self.bad += 1
                room = _ERRORS_SHOWN - len(self.problems)
                self.problems.extend(found[:room] if room > 0 else ())
                self.not_kept += max(len(found) - max(room, 0), 0)
            elif not self.bad:
                yield NewLine(
                    kind=record["kind"],
                    identifier=_text(record["identifier"]),
                    payload=record["data"],
                )
        self.verdict()

    def verdict(self) -> None:
        if self.bad:
            raise IntakeError(
                422,
                f"{self.bad} of {self.count} records are not valid; nothing was stored. Correct them and send the batch again.",
                self.problems,
                self.not_kept,
            )
        if not self.count:
            raise IntakeError(422, "The batch has no records.")


def batch_validate(records: Iterable[tuple[int, Any]]) -> list[NewLine]:
    """Every record checked; 422 naming each problem, or the lines to store."""
    return list(_BatchCheck().lines(records))


def _text(value: Any) -> str:
    if value.__class__ is str:  # the usual case, checked first: it runs twice a record
        return value.strip()
    return (
        str(value).strip() if isinstance(value, str | int) and not isinstance(value, bool) else ""
    )


_RECORD_KEYS = frozenset({"kind", "identifier", "data"})


def _record_problems(
    number: int, record: Any, seen: dict[tuple[str, str], int]
) -> list[dict[str, Any]]:
    if not isinstance(record, dict):
        return [
            _problem(number, None, None, 'A record is an object: {"kind", "identifier", "data"}.')
        ]
    identifier = _text(record.get("identifier"))
    problems = []
    unknown = record.keys() - _RECORD_KEYS
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
    # No problems means both checks above passed: a known kind (a str) and an object.
    assert isinstance(kind, str) and isinstance(data, dict)
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
    natural = _text(data.get(key))
    if natural and natural != identifier:
        problems.append(
            _problem(
                number,
                identifier,
                "identifier",
                f"The identifier must equal the record's {key} ({data.get(key)}).",
            )
        )
    for path, message in record_errors(kind, data).items():
        problems.append(
            _problem(number, identifier, None if path == RECORD_PATH else path, message)
        )
    return problems


def intake_accept(
    *,
    integration: Integration,
    records: Iterable[tuple[int, Any]],
    idempotency_key: str | None,
    digest: str,
    trigger: Trigger = Trigger.INTAKE,
    created_by: User | None = None,
) -> IntakeResult:
    """Store a valid batch as one queued run, or answer the run the key already made.

    ``records`` may be lazy (``records_from_json_stream``): each record is checked and
    written as it is read, within the run's transaction, and a refusal raised on the
    way (400/413 from the reader, 422 from the check) rolls back the run and every line
    written before it. So the batch is still taken whole or not at all, without ever
    holding it whole.

    ``trigger`` and ``created_by`` tell a consultant's upload (``manual``) from the ERP's.
    """
    if idempotency_key:
        earlier = _earlier(integration, idempotency_key, digest)
        if earlier is not None:
            return IntakeResult(earlier, created=False)
    check = _BatchCheck()
    try:
        run = run_create(
            integration=integration,
            trigger=trigger,
            created_by=created_by,
            lines=check.lines(records),
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


def lines_page(*, run: Run, after: int, limit: int) -> Iterator[Mapping[str, Any]]:
    """A page of the run's lines in position order, for the ERP to read back."""
    rows = (
        run.lines.filter(position__gt=after)
        .order_by("position")
        .values(
            "position", "kind", "identifier", "status", "message", "field_errors", "external_id"
        )[:limit]
    )
    yield from rows
