"""Canonical records → Twinfield XML documents, and where Twinfield's messages land.

Customers and suppliers are ``<dimension>``s of type ``DEB`` / ``CRD``; invoices and
journal entries are ``<transaction>``s on a journal (``<header><code>``): a ``total`` line
on the debtors/creditors account naming the relation (``dim2``), then one ``detail`` line
per canonical line. Shapes and element names from php-twinfield's
``tests/IntegrationTests/resources/*SendRequest.xml`` and Twinfield's web-service
documentation (Dimensions, Sales/Purchase/Journal transactions); see README.md.
Every element name is in the tables below, so a renamed one changes in one place.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from integrations.connectors.twinfield.soap import child, element

RELATIONS = {"customer": "DEB", "supplier": "CRD"}
# canonical field → element of <dimension>
DIMENSION_FIELDS = {
    "code": "code",
    "name": "name",
    "short_name": "shortname",
    "coc_number": "cocnumber",
    "vat_number": "vatnumber",
}
# canonical field → element of the dimension's invoice address
ADDRESS_FIELDS = {
    "name": "name",
    "country": "country",
    "city": "city",
    "postcode": "postcode",
    "phone": "telephone",
    "email": "email",
    "address_line1": "field2",  # field1 is the addressee, field2 the street (php-twinfield)
}
# canonical field → element of a transaction's <header>
HEADER_FIELDS = {
    "journal": "code",
    "currency": "currency",
    "invoice_date": "date",
    "entry_date": "date",
    "invoice_number": "invoicenumber",
    "due_date": "duedate",
    "payment_reference": "paymentreference",
}
# canonical line field → element of a detail line
LINE_FIELDS = {
    "gl_account": "dim1",
    "cost_centre": "dim2",
    "description": "description",
    "vat_code": "vatcode",
    "vat_amount": "vatvalue",
}
# Our entry number rides on each detail line of a journal entry as its invoicenumber,
# the one text field a journal line has besides its description ("Only if line type is
# detail", Twinfield's Journal transactions reference, quoted in php-twinfield#119).
ENTRY_KEY_FIELD = "invoicenumber"


@dataclass(frozen=True)
class BookingSpec:
    # The side a positive canonical amount lands on; the total line takes the other.
    detail_side: str
    relation_type: str  # dimension type of dim2 on the total line ("" for a journal)
    collective_setting: str  # setting naming the debtors/creditors account


BOOKINGS = {
    "sales_invoice": BookingSpec("credit", "DEB", "debtors_account"),
    "purchase_invoice": BookingSpec("debit", "CRD", "creditors_account"),
}
# Canonical VAT codes (the ERP's) → Twinfield's default codes, sales and purchase side.
# A code not listed is sent as it came, so an administration's own codes work too.
VAT_CODES = {
    "0": ("VN", "IN"),
    "1": ("VH", "IH"),
    "2": ("VL", "IL"),
}


def twinfield_date(iso: str) -> str:
    """``2024-03-05`` → ``20240305`` (php-twinfield's requests)."""
    return iso[:10].replace("-", "")


def twinfield_period(record: Mapping[str, Any]) -> str:
    """Fiscal year and period → ``2024/03``."""
    return f"{int(record['fiscal_year'])}/{int(record['period']):02d}"


def amount(value: Any) -> str:
    return f"{abs(Decimal(str(value))):.2f}"


def dimension(kind: str, record: Mapping[str, Any], office: str) -> ET.Element:
    root = element("dimension")
    child(root, "office", office)
    child(root, "type", RELATIONS[kind])
    _copy(root, record, DIMENSION_FIELDS)
    if record.get("payment_terms_code") not in (None, ""):
        financials = child(root, "financials")
        child(financials, "duedays", _due_days(record["payment_terms_code"]))
    address = child(child(root, "addresses"), "address", type="invoice", default="true")
    _copy(address, record, ADDRESS_FIELDS)
    return root


def transaction(kind: str, record: Mapping[str, Any], settings: Mapping[str, Any]) -> ET.Element:
    root = element("transaction", destiny=str(settings.get("destiny") or "final"))
    header = child(root, "header")
    child(header, "office", settings["office"])
    _copy(header, record, HEADER_FIELDS)
    child(header, "period", twinfield_period(record))
    lines = child(root, "lines")
    if kind == "journal_entry":
        for line in record["lines"]:
            _journal_line(lines, line, record["entry_number"])
    else:
        _invoice_lines(lines, kind, record, settings)
    return root


def _invoice_lines(
    lines: ET.Element, kind: str, record: Mapping[str, Any], settings: Mapping[str, Any]
) -> None:
    spec = BOOKINGS[kind]
    other = "debit" if spec.detail_side == "credit" else "credit"
    total = sum(
        Decimal(str(line["amount"])) + Decimal(str(line.get("vat_amount") or 0))
        for line in record["lines"]
    )
    head = child(lines, "line", type="total", id="1")
    child(head, "dim1", settings[spec.collective_setting])
    child(head, "dim2", record["relation_code"])
    child(head, "debitcredit", other if total >= 0 else spec.detail_side)
    child(head, "value", amount(total))
    if record.get("description"):
        child(head, "description", record["description"])
    side = 0 if kind == "sales_invoice" else 1
    for number, line in enumerate(record["lines"], start=2):
        detail = child(lines, "line", type="detail", id=str(number))
        positive = Decimal(str(line["amount"])) >= 0
        line = {**line, "vat_code": _vat_code(line.get("vat_code"), side)}
        if line.get("vat_amount") not in (None, ""):
            line["vat_amount"] = amount(line["vat_amount"])
        _copy(detail, line, LINE_FIELDS)
        child(detail, "debitcredit", spec.detail_side if positive else other)
        child(detail, "value", amount(line["amount"]))


def _journal_line(lines: ET.Element, line: Mapping[str, Any], entry_number: str) -> None:
    detail = child(lines, "line", type="detail", id=str(len(lines) + 1))
    _copy(detail, {**line, "vat_code": line.get("vat_code")}, LINE_FIELDS)
    debit = Decimal(str(line.get("debit") or 0))
    child(detail, "debitcredit", "debit" if debit else "credit")
    child(detail, "value", amount(debit or line.get("credit") or 0))
    child(detail, ENTRY_KEY_FIELD, entry_number)


def _vat_code(code: str | None, side: int) -> str | None:
    if code in (None, ""):
        return None
    return VAT_CODES[code][side] if code in VAT_CODES else code


def _due_days(payment_terms_code: Any) -> str:
    """The ERP's payment terms code is the number of days (``30``, ``14``)."""
    text = str(payment_terms_code).strip()
    return text if text.isdigit() else "30"


def _copy(parent: ET.Element, record: Mapping[str, Any], fields: Mapping[str, str]) -> None:
    for ours, theirs in fields.items():
        value = record.get(ours)
        if value in (None, ""):
            continue
        if ours in ("invoice_date", "entry_date", "due_date"):
            value = twinfield_date(str(value))
        child(parent, theirs, value)


# --- where a message lands ----------------------------------------------------------
_DIMENSION_PATHS = {theirs: ours for ours, theirs in DIMENSION_FIELDS.items()} | {
    "duedays": "payment_terms_code",
}
_ADDRESS_PATHS = {theirs: ours for ours, theirs in ADDRESS_FIELDS.items()}
_HEADER_PATHS = {
    "code": "journal",
    "currency": "currency",
    "invoicenumber": "invoice_number",
    "duedate": "due_date",
    "paymentreference": "payment_reference",
    "period": "period",
}
_LINE_PATHS = {theirs: ours for ours, theirs in LINE_FIELDS.items()} | {
    "value": "amount",
    "debitcredit": "amount",
}


def canonical_path(kind: str, path: tuple[str, ...]) -> str | None:
    """Where Twinfield put a ``msg`` → our field: ``("lines", "line[2]", "vatcode")`` →
    ``lines.1.vat_code`` on an invoice (its first line is the total line). None when
    the element names nothing of ours (the message stays in the message only)."""
    path = tuple(part for part in path if part not in ("dimensions", "transactions"))
    if not path:
        return None
    if kind in RELATIONS:
        if path[0] == "addresses":
            return _ADDRESS_PATHS.get(path[-1])
        return _DIMENSION_PATHS.get(path[-1])
    if path[0] == "header" and len(path) > 1:
        if path[1] == "date":
            return "entry_date" if kind == "journal_entry" else "invoice_date"
        return _HEADER_PATHS.get(path[1])
    if path[0] != "lines":
        return None
    if len(path) == 1:
        return "lines"
    return _line_path(kind, path)


def _line_path(kind: str, path: tuple[str, ...]) -> str | None:
    position = int(path[1].removeprefix("line[").removesuffix("]"))
    if kind != "journal_entry":
        if position == 0:  # the total line: its relation, else the invoice as a whole
            return "relation_code" if path[-1:] == ("dim2",) else "lines"
        position -= 1
    if len(path) == 2:
        return f"lines.{position}"
    field = _LINE_PATHS.get(path[2])
    if kind == "journal_entry" and path[2] in ("value", "debitcredit"):
        return f"lines.{position}"
    if kind == "journal_entry" and path[2] == ENTRY_KEY_FIELD:
        return "entry_number"
    return f"lines.{position}.{field}" if field else f"lines.{position}"
