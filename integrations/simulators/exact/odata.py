"""The OData v2 bits Exact Online speaks: answer wrapping, ``$filter``/``$select``, dates, tables."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from starlette.responses import JSONResponse

PAGE_SIZE = 60
_CONDITION = re.compile(r"^\s*(\w+)\s+eq\s+(.+?)\s*$", re.IGNORECASE)
_DATE = re.compile(r"^/Date\((-?\d+)\)/$")


def error(status: int, *messages: str) -> JSONResponse:
    """Exact's error shape: several messages in one value, one a line."""
    value = "\r\n".join(dict.fromkeys(messages))
    return JSONResponse(
        {"error": {"code": "", "message": {"lang": "", "value": value}}}, status_code=status
    )


def error_body(message: str) -> bytes:
    return bytes(error(500, message).body)


def norm(value: Any) -> str:
    """How values compare in a filter: case-insensitive, codes without their padding."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value).strip().lower()


def parse_filter(text: str) -> list[tuple[str, str]] | None:
    """``Code eq 'C1' and IsSupplier eq true`` → [("Code", "c1"), ("IsSupplier", "true")]; None if not understood."""
    if not text:
        return []
    found = []
    for part in re.split(r"\s+and\s+", text.strip(), flags=re.IGNORECASE):
        match = _CONDITION.match(part)
        if match is None:
            return None
        field, raw = match.groups()
        if raw.lower().startswith("guid'") and raw.endswith("'"):
            raw = raw[5:-1]
        elif raw.startswith("'") and raw.endswith("'"):
            raw = raw[1:-1].replace("''", "'")
        found.append((field, norm(raw)))
    return found


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

    def find(self, conditions: list[tuple[str, str]]) -> list[dict[str, Any]]:
        indexed = [(f, v) for f, v in conditions if f in self.indexes]
        candidates = (
            [self.rows[k] for k in self.indexes[indexed[0][0]].get(indexed[0][1], [])]
            if indexed
            else self.rows.values()
        )
        return [row for row in candidates if all(norm(row.get(f)) == v for f, v in conditions)]


def listing(rows: list[dict[str, Any]], url: str, params: dict[str, str]) -> JSONResponse:
    """``{"d": {"results": [...], "__next": url}}`` with ``$select``, ``$top`` and paging."""
    start = int(params.get("$skiptoken", "0") or 0)
    top = int(params.get("$top", "0") or 0)
    end = start + PAGE_SIZE if not top else min(start + PAGE_SIZE, top)
    page = [select(row, params.get("$select", "")) for row in rows[start:end]]
    answer: dict[str, Any] = {"results": page}
    if end < len(rows) and not top:
        answer["__next"] = f"{url}?" + "&".join(
            [f"{k}={v}" for k, v in params.items() if k != "$skiptoken"] + [f"$skiptoken={end}"]
        )
    return JSONResponse({"d": answer})


def select(row: dict[str, Any], fields: str) -> dict[str, Any]:
    if not fields:
        return row
    return {name: row.get(name) for name in (f.strip() for f in fields.split(",")) if name}
