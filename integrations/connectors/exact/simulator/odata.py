"""The OData v2 bits Exact Online speaks: answer wrapping, ``$filter``/``$select``/``$top``,
paging, dates, tables.

As Exact serves them (facts in ACCOUNTING_APIS.md; the simulator's choices marked *):

* ``$filter`` of ``eq`` conditions joined by ``and`` / ``or`` (``and`` binds tighter;
  parentheses are not understood*). Values compare without case but **as stored**: an
  account's ``Code`` is stored right-aligned in 18 characters, so ``Code eq 'C0001'``
  finds nothing and ``Code eq '             C0001'`` finds it.
* A query Exact cannot run is a 400 in its error body, never a 500 or a silent ``[]``:
  an unknown property in ``$filter`` or ``$select``, ``$top`` that is no number, a
  filter it cannot parse, a bad ``$skiptoken``. The wording is .NET OData's*.
* Pages of 60; ``__next`` repeats the query with ``$skiptoken=guid'<key of the last
  row>'``, URL-encoded.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from urllib.parse import quote, urlencode

from starlette.responses import JSONResponse

PAGE_SIZE = 60
_CONDITION = re.compile(r"^\s*(\w+)\s+eq\s+(.+?)\s*$", re.IGNORECASE)
_DATE = re.compile(r"^/Date\((-?\d+)\)/$")
_SKIPTOKEN = re.compile(r"^guid'([0-9a-fA-F-]{36})'$")
# One condition group of a filter: (field, value) pairs that must all hold.
Conditions = list[tuple[str, str]]


class BadQuery(ValueError):
    """A query Exact refuses with 400; the message is its text."""


def error(status: int, *messages: str) -> JSONResponse:
    """Exact's error shape: several messages in one value, one a line."""
    value = "\r\n".join(dict.fromkeys(messages))
    return JSONResponse(
        {"error": {"code": "", "message": {"lang": "", "value": value}}}, status_code=status
    )


def error_body(message: str) -> bytes:
    return bytes(error(500, message).body)


def norm(value: Any) -> str:
    """How values compare in a filter: without case, but padding and all, as stored."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value).lower()


def parse_filter(text: str, known: frozenset[str] | None) -> list[Conditions]:
    """``A eq 'x' and B eq true or C eq 1`` → [[(A, x), (B, true)], [(C, 1)]].

    Raises BadQuery for what Exact would refuse; ``known`` the entity's properties
    (None: any).
    """
    if not text.strip():
        return [[]]
    groups = []
    for alternative in re.split(r"\s+or\s+", text.strip(), flags=re.IGNORECASE):
        group = []
        for part in re.split(r"\s+and\s+", alternative, flags=re.IGNORECASE):
            match = _CONDITION.match(part)
            if match is None:
                raise BadQuery(f"Syntax error at position {text.find(part.strip())} in '{text}'.")
            field, raw = match.groups()
            _check_property(field, known)
            if raw.lower().startswith("guid'") and raw.endswith("'"):
                raw = raw[5:-1]
            elif raw.startswith("'") and raw.endswith("'"):
                raw = raw[1:-1].replace("''", "'")
            group.append((field, norm(raw)))
        groups.append(group)
    return groups


def parse_select(text: str, known: frozenset[str] | None) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    for name in names:
        _check_property(name, known)
    return names


def _check_property(name: str, known: frozenset[str] | None) -> None:
    if known is not None and name not in known:
        raise BadQuery(f"No property '{name}' exists in type 'Exact.Web.Api.Models'.")


def parse_top(text: str | None) -> int | None:
    if text is None or text == "":
        return None
    if not text.isdigit():
        raise BadQuery(f"Invalid value '{text}' for $top query option found.")
    return int(text)


def matches(row: dict[str, Any], groups: list[Conditions]) -> bool:
    return any(all(norm(row.get(f)) == v for f, v in group) for group in groups)


def to_date(value: Any) -> dt.date | None:
    """Accept ``2024-03-15``, ``2024-03-15T00:00:00`` and ``/Date(1710460800000)/``."""
    if value is None:
        return None
    text = str(value)
    match = _DATE.match(text)
    try:
        if match:
            return dt.datetime.fromtimestamp(int(match.group(1)) / 1000, dt.UTC).date()
        return dt.date.fromisoformat(text[:10])
    except (ValueError, OverflowError):
        return None


def from_date(day: dt.date) -> str:
    moment = dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)
    return f"/Date({int(moment.timestamp() * 1000)})/"


class Table:
    """Rows of one entity in one division by GUID, with indexes on the fields filters use."""

    def __init__(self, *indexed: str) -> None:
        self.rows: dict[str, dict[str, Any]] = {}
        self.indexes: dict[str, dict[str, list[str]]] = {field: {} for field in indexed}

    def add(self, row: dict[str, Any], key: str) -> None:
        self.rows[key] = row
        for field, index in self.indexes.items():
            if row.get(field) not in (None, ""):
                index.setdefault(norm(row[field]), []).append(key)

    def replace(self, key: str, row: dict[str, Any]) -> None:
        old = self.rows[key]
        for field, index in self.indexes.items():
            if old.get(field) not in (None, ""):
                index[norm(old[field])].remove(key)
        self.add(row, key)

    def with_value(self, field: str, value: Any) -> list[dict[str, Any]]:
        return [self.rows[k] for k in self.indexes[field].get(norm(value), [])]

    def find(self, groups: list[Conditions]) -> list[dict[str, Any]]:
        """The rows that match, in the order they were added."""
        if len(groups) == 1 and groups[0]:
            indexed = [(f, v) for f, v in groups[0] if f in self.indexes]
            if indexed:
                field, value = indexed[0]
                candidates = [self.rows[k] for k in self.indexes[field].get(value, [])]
                return [row for row in candidates if matches(row, groups)]
        return [row for row in self.rows.values() if matches(row, groups)]


def listing(
    rows: list[dict[str, Any]], url: str, params: dict[str, str], key_field: str | None
) -> JSONResponse:
    """``{"d": {"results": [...], "__next": url}}`` with ``$select``, ``$top`` and paging.

    Raises BadQuery for a ``$skiptoken`` that names no row.
    """
    top = parse_top(params.get("$top"))
    start = 0
    token = params.get("$skiptoken")
    if token:
        match = _SKIPTOKEN.match(token)
        keys = [str(row.get(key_field, "")).lower() for row in rows] if key_field else []
        if match is None or match.group(1).lower() not in keys:
            raise BadQuery(f"The skip token '{token}' is not valid.")
        start = keys.index(match.group(1).lower()) + 1
    end = start + PAGE_SIZE if top is None else min(start + PAGE_SIZE, top)
    fields = params.get("$select", "")
    page = [select(row, fields) for row in rows[start:end]]
    answer: dict[str, Any] = {"results": page}
    if end < len(rows) and top is None and key_field:
        query = {k: v for k, v in params.items() if k != "$skiptoken"}
        query["$skiptoken"] = f"guid'{rows[end - 1][key_field]}'"
        answer["__next"] = f"{url}?" + urlencode(query, quote_via=quote)
    return JSONResponse({"d": answer})


def select(row: dict[str, Any], fields: str) -> dict[str, Any]:
    if not fields:
        return row
    return {name: row.get(name) for name in (f.strip() for f in fields.split(",")) if name}
