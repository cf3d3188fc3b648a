"""CSV: the ERP's export, one row per invoice or entry line, grouped into records."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from typing import Any

from django.utils.translation import gettext as _

from integrations.canonical import SCHEMAS
from runs.intake.problems import IntakeError, check_count, problem

# CSV columns of an invoice's or entry's lines carry this prefix: ``line_amount``.
LINE_PREFIX = "line_"


def records_from_csv(content: bytes) -> list[tuple[int, dict[str, Any]]]:
    """``[(row number, record)]`` from the ERP's CSV export.

    One row per invoice or entry line, the record's own columns repeated (or left empty)
    on its following rows; a relation is one row. Rows of one record follow each other.
    A file in Reflex 3000's own ``fmuta6.csv`` layout is recognised by its shape.
    """
    # Imported here: runs.fmuta6 builds on the intake's refusals and is read only for its files.
    from runs.fmuta6 import looks_like_fmuta6, records_from_fmuta6

    if looks_like_fmuta6(content):
        return records_from_fmuta6(content)
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise IntakeError(400, _("The file is not UTF-8 text.")) from None
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header = [name.strip() for name in next(reader)]
    except StopIteration:
        raise IntakeError(400, _("The file is empty.")) from None
    except csv.Error as exc:
        raise IntakeError(400, _("Row 1 is not valid CSV: %(reason)s.") % {"reason": exc}) from None
    _check_header(header)
    grouped = _group_rows(reader, header)
    check_count(len(grouped))
    return grouped


def known_columns() -> set[str]:
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
        raise IntakeError(
            400,
            _("The header lacks the column(s) %(names)s.") % {"names": ", ".join(sorted(missing))},
        )
    unknown = [name for name in header if name not in known_columns()]
    if unknown:
        raise IntakeError(
            400,
            _("Unknown column(s) in the header: %(names)s. See docs/intake.md.")
            % {"names": ", ".join(unknown)},
            [problem(1, None, name, _("Unknown column.")) for name in unknown],
        )
    if len(set(header)) != len(header):
        raise IntakeError(400, _("A column appears twice in the header."))


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
                    problem(
                        row_number,
                        None,
                        None,
                        _("The row has %(cells)d cells; the header has %(columns)d.")
                        % {"cells": len(cells), "columns": len(header)},
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
        broken.append(
            problem(row_number + 1, None, None, _("Not valid CSV: %(reason)s.") % {"reason": exc})
        )
    if broken:
        raise IntakeError(
            400,
            _("The file has rows that are not valid CSV, or rows of one record that disagree."),
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
        problem(
            row_number,
            record["identifier"],
            name,
            _(
                "Row %(row)d gives %(field)s %(value)r, but row %(first_row)d, where this "
                "record starts, gives %(first_value)r. The rows of one record must agree on "
                "its own columns."
            )
            % {
                "row": row_number,
                "field": name,
                "value": value.strip(),
                "first_row": first_row,
                "first_value": given.get(name, "").strip(),
            },
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
