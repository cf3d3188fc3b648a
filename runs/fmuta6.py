"""Reflex 3000's ``fmuta6.csv``: financial entries in Exact's import layout "version 6".

The file the ERP's "FMuta6 Online export" writes (the financial-entries format of Exact's
connectivity manual for Globe/Financials, file name ``fmuta.csv``, "Version 6"): no header
row, one row per line, fields by position. Line number 0 is an entry's header row (the
relation, dates, due date), 1…n its sub rows (ledger account, amount, VAT, cost centre);
rows of one entry share its entry number. This module turns such a file into the
canonical records the intake already checks (``runs.intake``), one record per
entry: journal type V a sales invoice, I a purchase invoice, M a journal entry. Cash,
bank and giro entries (K/B/G) are payments, which the link does not carry: refused with
their own message. Amounts are read by their form: ``1.250,00``, ``1250,00`` or ``1250.00``.
See docs/intake.md "fmuta6.csv".
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from runs.intake.problems import IntakeError, check_count, problem

# The 1-based positions of the columns the link reads (the manual's "Nr."), by their names there.
COLUMNS = {
    "adm-nr": 1,
    "line-nr": 2,
    "journal-type": 3,
    "journal-nr": 4,
    "period": 5,
    "fin-yr": 6,
    "entry-nr": 7,
    "descr": 8,
    "date": 9,
    "acc-nr": 10,
    "debtor": 11,
    "creditor": 12,
    "amt-curr": 14,
    "curr-code": 16,
    "due-date-invoice": 20,
    "vat-code": 22,
    "vat-amt-curr": 23,
    "pay-ref": 25,
    "cost-center": 28,
    "cost-unit": 29,
    "rev-entry": 33,
}
# Fewer cells than this cannot be the layout (entries need at least the amount).
_FEWEST_CELLS = COLUMNS["amt-curr"]
_KIND_OF_JOURNAL = {"V": "sales_invoice", "I": "purchase_invoice", "M": "journal_entry"}
# Marked for the catalogue here, translated where a sentence names them.
_PAYMENT_JOURNALS = {
    "K": gettext_noop("cash"),
    "B": gettext_noop("bank"),
    "G": gettext_noop("giro"),
}
_RELATION_MISSING = {
    "sales_invoice": gettext_noop("A sales invoice needs its debtor number."),
    "purchase_invoice": gettext_noop("A purchase invoice needs its creditor number."),
}
_DECIMAL_COMMA = re.compile(r"-?(\d{1,3}(\.\d{3})+|\d+),\d{1,2}")
_DECIMAL_POINT = re.compile(r"-?\d+(\.\d{1,2})?")
_DATE = re.compile(r"(\d{2})[-/.]?(\d{2})[-/.]?(\d{2}|\d{4})")


def looks_like_fmuta6(content: bytes) -> bool:
    """Whether the file's first row has this layout's shape: a number, a line number, a journal type.

    Cloud Portal's own CSV starts with a header row naming ``kind``, so the two never meet.
    """
    first = content.lstrip(b"\xef\xbb\xbf").split(b"\n", 1)[0].decode("utf-8", "replace")
    cells = [cell.strip().strip('"') for cell in re.split(r"[;,]", first)]
    return (
        len(cells) >= _FEWEST_CELLS
        and cells[1].isdigit()
        and cells[2].upper() in (*_KIND_OF_JOURNAL, *_PAYMENT_JOURNALS)
    )


@dataclass
class _Entry:
    row: int  # the file row the entry starts on
    journal_type: str
    entry_number: str
    record: dict[str, Any]
    lines: list[dict[str, Any]] = field(default_factory=list)


class _Reader:
    """Reads the rows into entries and collects every problem, naming row and column."""

    def __init__(self) -> None:
        self.problems: list[dict[str, Any]] = []
        self.entries: list[_Entry] = []

    def fail(self, row: int, column: str | None, message: str) -> None:
        where = f"{column} (column {COLUMNS[column]})" if column else None
        self.problems.append(problem(row, None, where, message))

    def cell(self, cells: list[str], column: str) -> str:
        position = COLUMNS[column]
        return cells[position - 1].strip() if len(cells) >= position else ""

    def amount(self, row: int, cells: list[str], column: str) -> str | None:
        text = self.cell(cells, column).replace(" ", "")
        if not text:
            return None
        # Read by its form, not the separator: "1.250" could be either, and a wrong guess
        # would book a thousand times too much, so it is refused.
        if _DECIMAL_COMMA.fullmatch(text):
            text = text.replace(".", "").replace(",", ".")
        elif not _DECIMAL_POINT.fullmatch(text):
            self.fail(
                row,
                column,
                _("%(value)s is not an amount; write it as 1.250,00 or 1250,00 (or 1250.00).")
                % {"value": repr(text)},
            )
            return None
        return str(Decimal(text))

    def day(self, row: int, cells: list[str], column: str) -> str | None:
        text = self.cell(cells, column)
        if not text:
            return None
        match = _DATE.fullmatch(text)
        try:
            if match is None:
                raise ValueError
            day, month, year = (int(part) for part in match.groups())
            return date(year + 2000 if year < 100 else year, month, day).isoformat()
        except ValueError:
            self.fail(
                row,
                column,
                _("%(value)s is not a date in the form DDMMYYYY.") % {"value": repr(text)},
            )
            return None

    def read_row(self, row: int, cells: list[str]) -> None:
        if len(cells) < _FEWEST_CELLS:
            self.fail(
                row,
                None,
                _("The row has %(count)d fields; fmuta6 rows have at least %(fewest)d.")
                % {"count": len(cells), "fewest": _FEWEST_CELLS},
            )
            return
        journal_type = self.cell(cells, "journal-type").upper()
        if journal_type in _PAYMENT_JOURNALS:
            self.fail(
                row,
                "journal-type",
                _(
                    "A %(journal)s entry (journal type %(type)s) is a payment; the link carries "
                    "sales (V), purchase (I) and memorial (M) entries only. Leave it out of the "
                    "export."
                )
                % {"journal": _(_PAYMENT_JOURNALS[journal_type]), "type": journal_type},
            )
            return
        if journal_type not in _KIND_OF_JOURNAL:
            self.fail(
                row,
                "journal-type",
                _("%(value)s is not a journal type (I, V, K, B, G or M).")
                % {"value": repr(journal_type)},
            )
            return
        if self.cell(cells, "rev-entry").upper() in ("J", "Y"):
            self.fail(
                row,
                "rev-entry",
                _(
                    "Reversal entries are not carried; send the entry with negative amounts instead."
                ),
            )
            return
        line_number = self.cell(cells, "line-nr")
        if not line_number.isdigit():
            self.fail(
                row, "line-nr", _("%(value)s is not a line number.") % {"value": repr(line_number)}
            )
            return
        entry_number = self.cell(cells, "entry-nr")
        if not entry_number:
            self.fail(row, "entry-nr", _("The entry number is missing."))
            return
        if int(line_number) == 0:
            self.entries.append(
                _Entry(row, journal_type, entry_number, self.header(row, cells, journal_type))
            )
            return
        current = self.entries[-1] if self.entries else None
        if current is None or (current.journal_type, current.entry_number) != (
            journal_type,
            entry_number,
        ):
            self.fail(
                row,
                "entry-nr",
                _(
                    "Line %(line)s of entry %(entry)s does not follow a header row (line number 0) "
                    "of that entry."
                )
                % {"line": line_number, "entry": entry_number},
            )
            return
        current.lines.append(self.line(row, cells, journal_type))

    def header(self, row: int, cells: list[str], journal_type: str) -> dict[str, Any]:
        kind = _KIND_OF_JOURNAL[journal_type]
        record: dict[str, Any] = {
            "journal": self.cell(cells, "journal-nr"),
            "fiscal_year": self.cell(cells, "fin-yr"),
            "period": self.cell(cells, "period"),
            "description": self.cell(cells, "descr"),
        }
        booked_on = self.day(row, cells, "date")
        if kind == "journal_entry":
            record.update(entry_number=self.cell(cells, "entry-nr"), entry_date=booked_on)
            return record
        relation = "debtor" if kind == "sales_invoice" else "creditor"
        if not self.cell(cells, relation):
            self.fail(row, relation, _(_RELATION_MISSING[kind]))
        due_on = self.day(row, cells, "due-date-invoice")
        record.update(
            # In Exact's layout an invoice is booked under its entry number.
            invoice_number=self.cell(cells, "entry-nr"),
            relation_code=self.cell(cells, relation),
            invoice_date=booked_on,
            due_date=due_on,
            payment_terms_code=_term_in_days(booked_on, due_on),
            currency=self.cell(cells, "curr-code"),
            payment_reference=self.cell(cells, "pay-ref"),
        )
        return record

    def line(self, row: int, cells: list[str], journal_type: str) -> dict[str, Any]:
        line: dict[str, Any] = {
            "gl_account": self.cell(cells, "acc-nr"),
            "description": self.cell(cells, "descr"),
            "vat_code": self.cell(cells, "vat-code"),
            "cost_centre": self.cell(cells, "cost-center"),
        }
        if not self.cell(cells, "amt-curr"):
            self.fail(row, "amt-curr", _("The amount is missing."))
        amount = self.amount(row, cells, "amt-curr")
        if journal_type != "M":
            line.update(amount=amount, vat_amount=self.amount(row, cells, "vat-amt-curr"))
            return line
        # A memorial line's sign says its side: positive is debit, negative credit.
        if amount is not None:
            value = Decimal(amount)
            line["debit" if value >= 0 else "credit"] = str(abs(value))
        return line


def _term_in_days(booked_on: str | None, due_on: str | None) -> str | None:
    """The payment condition as its number of days, which is how Reflex 3000 codes them.

    The layout has a due date but no payment condition, and Multivers requires one on
    every invoice; the days between the two dates are the condition the ERP applied.
    """
    if booked_on is None or due_on is None:
        return None
    return str((date.fromisoformat(due_on) - date.fromisoformat(booked_on)).days)


def records_from_fmuta6(content: bytes) -> list[tuple[int, dict[str, Any]]]:
    """``[(file row of the entry's header, canonical record)]``; IntakeError naming every bad row."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Reflex 3000 writes Windows-1252 when it is not set to UTF-8.
        text = content.decode("cp1252", "replace")
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = _Reader()
    rows = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    row = 0
    try:
        for row, cells in enumerate(rows, start=1):
            if any(cell.strip() for cell in cells):
                reader.read_row(row, cells)
    except csv.Error as exc:
        reader.fail(row + 1, None, _("Not valid CSV: %(reason)s.") % {"reason": exc})
    for entry in reader.entries:
        if not entry.lines:
            reader.fail(
                entry.row,
                "line-nr",
                _("Entry %(entry)s has no sub rows (line 1 and on).")
                % {"entry": entry.entry_number},
            )
    if reader.problems:
        raise IntakeError(
            400,
            _("The fmuta6.csv file has rows the link cannot read; nothing was stored."),
            reader.problems,
        )
    if not reader.entries:
        raise IntakeError(400, _("The file is empty."))
    check_count(len(reader.entries))
    return [(entry.row, _record(entry)) for entry in reader.entries]


def _record(entry: _Entry) -> dict[str, Any]:
    kind = _KIND_OF_JOURNAL[entry.journal_type]
    data = {name: value for name, value in entry.record.items() if value not in (None, "")}
    data["lines"] = [
        {name: value for name, value in line.items() if value not in (None, "")}
        for line in entry.lines
    ]
    return {"kind": kind, "identifier": entry.entry_number, "data": data}
