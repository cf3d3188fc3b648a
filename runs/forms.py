"""The line edit form, generated from the canonical schema of the line's kind.

The canonical schema (``integrations.canonical``) validates; this module only turns a
record into rows of inputs and a submitted form back into a record. Every input is a
text box, so a wrong value the ERP sent ("31-02-2025") stays visible to be corrected.
Invoice and journal lines are named ``lines-<n>-<field>``, one row of inputs a line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from django.http import QueryDict
from django.utils.functional import Promise
from django.utils.translation import gettext as _

from integrations.canonical import NATURAL_KEY, FieldSpec, line_fields, record_fields
from runs.services.corrections import flatten

_LINE_INPUT = re.compile(r"^lines-(\d{1,4})-(\w+)$")
_INPUT_MODES = {"decimal": "decimal", "int": "numeric"}
_PLACEHOLDERS = {"date": "YYYY-MM-DD"}
# One empty row under the invoice lines, to add a line without JavaScript.
EXTRA_ROWS = 1


@dataclass(frozen=True)
class Input:
    name: str
    label: str | Promise
    value: str
    error: str = ""
    # What the ERP offered, when the correction differs from it.
    was: str | None = None
    # What is stored now, when it differs from what this form holds (stale edit).
    now: str | None = None
    spec: FieldSpec | None = None
    # The record's key in Reflex 3000 (debtor or invoice number): shown, never edited.
    is_key: bool = False
    # Worked out once here rather than in the template, where every ``field.spec.help``
    # is two lookups and a translation, for each of the form's inputs (see __post_init__).
    required: bool = field(init=False)
    help: str = field(init=False)
    input_mode: str = field(init=False)
    placeholder: str = field(init=False)
    # The ids aria-describedby names: the error, the help, both or none.
    described_by: str = field(init=False)

    def __post_init__(self) -> None:
        spec = self.spec
        facts = {
            "required": bool(spec and spec.required),
            "help": str(spec.help) if spec and spec.help else "",
            "input_mode": _INPUT_MODES.get(spec.type, "text") if spec else "text",
            "placeholder": _PLACEHOLDERS.get(spec.type, "") if spec else "",
        }
        ids = [f"f-{self.name}-error"] if self.error else []
        if facts["help"]:
            ids.append(f"f-{self.name}-help")
        facts["described_by"] = " ".join(ids)
        for name, value in facts.items():
            object.__setattr__(self, name, value)  # frozen: set once, here


@dataclass(frozen=True)
class LineRow:
    index: int
    inputs: list[Input]
    has_error: bool
    is_extra: bool


@dataclass(frozen=True)
class RecordForm:
    fields: list[Input]
    line_columns: list[FieldSpec]
    line_rows: list[LineRow]
    # Errors on the lines as a whole ("the entry does not balance").
    lines_error: str
    # Errors on no field of the form: unknown fields, the record as a whole.
    other_errors: list[tuple[str, str]]


def as_text(value: Any) -> str:
    return "" if value is None else str(value)


def _compare(flat: dict[str, Any] | None, path: str, value: str) -> str | None:
    if flat is None:
        return None
    other = as_text(flat.get(path))
    return other if other != value else None


def record_form(
    kind: str,
    data: dict[str, Any],
    *,
    field_errors: dict[str, str],
    offered: dict[str, Any] | None = None,
    stored: dict[str, Any] | None = None,
) -> RecordForm:
    """The inputs for ``data``; ``offered``/``stored`` are flattened records to show beside it."""
    flat = flatten(data)
    used: set[str] = set()

    def make(path: str, spec: FieldSpec, name: str) -> Input:
        used.add(path)
        value = as_text(flat.get(path))
        return Input(
            name=name,
            label=spec.label,
            value=value,
            error=field_errors.get(path, ""),
            was=_compare(offered, path, value),
            now=_compare(stored, path, value),
            spec=spec,
            is_key=path == NATURAL_KEY[kind],
        )

    fields = [make(spec.name, spec, spec.name) for spec in record_fields(kind)]
    columns = line_fields(kind)
    rows = []
    lines = data.get("lines") if columns else None
    count = len(lines) if isinstance(lines, list) else 0
    for index in range(count + EXTRA_ROWS):
        inputs = [make(f"lines.{index}.{c.name}", c, f"lines-{index}-{c.name}") for c in columns]
        rows.append(
            LineRow(
                index=index,
                inputs=inputs,
                has_error=any(i.error for i in inputs) or f"lines.{index}" in field_errors,
                is_extra=index >= count,
            )
        )
    used.update(f"lines.{row.index}" for row in rows)
    used.add("lines")
    other = [(path, message) for path, message in field_errors.items() if path not in used]
    return RecordForm(
        fields=fields,
        line_columns=columns,
        line_rows=rows,
        lines_error=field_errors.get("lines", ""),
        other_errors=other,
    )


def record_from_post(kind: str, post: QueryDict) -> dict[str, Any]:
    """The record a submitted form describes. Blank values are left out (the schema's
    defaults apply); an invoice line with every input blank, or ticked Remove, is dropped."""
    record: dict[str, Any] = {}
    for spec in record_fields(kind):
        value = post.get(spec.name, "").strip()
        if value:
            record[spec.name] = value
    columns = {spec.name for spec in line_fields(kind)}
    if not columns:
        return record
    rows: dict[int, dict[str, str]] = {}
    removed: set[int] = set()
    for key in post:
        match = _LINE_INPUT.match(key)
        if not match:
            continue
        index, name = int(match[1]), match[2]
        if name == "DELETE":
            removed.add(index)
        elif name in columns:
            value = post.get(key, "").strip()
            row = rows.setdefault(index, {})
            if value:
                row[name] = value
    record["lines"] = [rows[i] for i in sorted(rows) if rows[i] and i not in removed]
    return record


def path_label(kind: str, path: str) -> str:
    """A field path in words for the edit history: ``lines.2.vat_code`` → "Line 3: VAT code"."""
    labels = {spec.name: str(spec.label) for spec in record_fields(kind)}
    line_labels = {spec.name: str(spec.label) for spec in line_fields(kind)}
    parts = path.split(".")
    if len(parts) == 3 and parts[0] == "lines" and parts[1].isdigit():
        name = line_labels.get(parts[2], parts[2])
        return _("Line %(number)d: %(field)s") % {"number": int(parts[1]) + 1, "field": name}
    return labels.get(path, path)
