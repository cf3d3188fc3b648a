"""Streaming JSON: ``{"records": [...]}`` read one record at a time.

The reader never holds the body whole: it decodes one record, hands it on, and reads
the next piece of the stream only when it needs more text.
"""

from __future__ import annotations

import codecs
import io
import json
import math
import re
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _

from runs.intake.problems import IntakeError, check_count
from runs.intake.spooling import CHUNK, Readable


def records_from_json(body: bytes) -> list[tuple[int, Any]]:
    """``[(line number, record)]`` from a JSON body; 400 when it is not the expected shape."""
    return list(records_from_json_stream(io.BytesIO(body)))


def records_from_json_stream(stream: Readable) -> Iterator[tuple[int, Any]]:
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
        raise IntakeError(400, _('Send a JSON object with a list of records: {"records": [...]}.'))
    if unknown:
        names = ", ".join(repr(name) for name in unknown[:10])
        raise IntakeError(
            400,
            _(
                "Unknown key(s) in the batch: %(names)s. Send a JSON object with a list of "
                'records only: {"records": [...]}.'
            )
            % {"names": names},
        )
    check_count(count)


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

    def __init__(self, stream: Readable) -> None:
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
        while len(first) < 4 and (data := stream.read(CHUNK)):
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
                _("The body is not valid JSON: %(reason)s.")
                % {"reason": f"'{exc.encoding}' codec can't decode {where}: {exc.reason}"},
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

    def _more(self, size: int = CHUNK) -> bool:
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
        size = CHUNK
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
        raise IntakeError(
            400, _("The body is not valid JSON: %(reason)s.") % {"reason": f"{message}: {where}"}
        )
