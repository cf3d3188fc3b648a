"""The books of one simulated Twinfield office and what ProcessXml does with a document.

* ``<dimension>`` (or ``<dimensions>``): a code that exists is changed, a new one created;
  no code: the next free number from 1000 (the simulator's choice).
* ``<transaction>`` (or ``<transactions>``): booked on its journal with Twinfield's own
  number (year + five digits, as ``201300095`` in php-twinfield's resources). An
  invoice number already booked on the journal (for a purchase: of the same supplier)
  is refused on ``header/invoicenumber``: "Factuurnummer 'X' is al in gebruik."*; with
  ``accept_duplicates`` it is booked again.
* ``<read><type>dimensions</type>…``: the dimension, or ``result="0"`` on ``code``.
* ``<columns code="100|200">``: the customer/supplier lines of booked transactions, with
  filters on ``fin.trs.line.invnumber`` (equal), ``fin.trs.line.dim2``,
  ``fin.trs.head.yearperiod`` (between) and ``fin.trs.head.code`` (equal).
* ``<list><type>offices</type></list>``: the offices of the login.
"""

from __future__ import annotations

import copy
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any

from integrations.connectors.twinfield.simulator import rules

ENTITIES = {
    "sales": "SalesTransaction",
    "purchase": "PurchaseTransaction",
    "memorial": "JournalTransaction",
}
BROWSE = {"100": "DEB", "200": "CRD"}
FILTERS = {
    "fin.trs.line.invnumber",
    "fin.trs.line.dim2",
    "fin.trs.head.yearperiod",
    "fin.trs.head.code",
    "fin.trs.head.number",
}


@dataclass
class Booking:
    """What ``send`` did: the ledger's entity, key, id and body, or nothing."""

    entity: str = ""
    key: str = ""
    id: str = ""
    body: dict[str, Any] = field(default_factory=dict)
    update: bool = False
    refused_duplicate: bool = False


LINE_TAGS = ("dim1", "dim2", "debitcredit", "value", "vatcode", "description")


class Office:
    def __init__(self, code: str) -> None:
        self.code = code
        self.dimensions: dict[tuple[str, str], ET.Element] = {}
        self.transactions: dict[tuple[str, str], ET.Element] = {}
        self.next_number: dict[tuple[str, int], int] = {}
        self.next_code = 1000
        # invoice number → the transactions carrying it, so the duplicate check and a
        # browse on the number cost the same with ten bookings as with ten thousand.
        self.by_invoice: dict[str, list[tuple[str, str]]] = {}

    def relation_exists(self, kind: str, code: str) -> bool:
        return (kind, code) in self.dimensions

    # --- sending -------------------------------------------------------------------
    def send_dimension(self, document: ET.Element) -> Booking:
        rules.check_dimension(document)
        if document.get("result") == "0" or _failed(document):
            document.set("result", "0")
            return Booking()
        kind = rules.text(document, "type")
        code = rules.text(document, "code")
        if not code:
            while (kind, str(self.next_code)) in self.dimensions:
                self.next_code += 1
            code = str(self.next_code)
            _set(document, "code", code)
        _set(document, "office", self.code)
        existing = (kind, code) in self.dimensions
        self.dimensions[kind, code] = copy.deepcopy(document)
        document.set("result", "1")
        body = {
            "type": kind,
            "code": code,
            "name": rules.text(document, "name"),
            "shortname": rules.text(document, "shortname"),
        }
        return Booking(kind, code, code, body, update=existing)

    def send_transaction(self, document: ET.Element, *, accept_duplicates: bool) -> Booking:
        header = document.find("header")
        if header is None:
            header = ET.SubElement(document, "header")
        journal_kind = rules.check_header(header)
        lines = list(document.iterfind("lines/line"))
        if not lines:
            rules.fail(_node(document, "lines"), "Geen regels.")
        rules.check_lines(lines, journal_kind, self.relation_exists)
        if _failed(document):
            document.set("result", "0")
            return Booking()
        journal = rules.text(header, "code")
        number = rules.text(header, "invoicenumber")
        relation = _relation_of(document)
        taken_before = journal_kind != "memorial" and self._taken(journal, number, relation)
        if taken_before and not accept_duplicates:
            taken = f"Factuurnummer '{number}' is al in gebruik."
            rules.fail(_node(header, "invoicenumber"), taken)
            document.set("result", "0")
            return Booking(refused_duplicate=True, entity=ENTITIES[journal_kind], key=number)
        return self._book(document, header, journal, journal_kind)

    def _taken(self, journal: str, number: str, relation: str) -> bool:
        for code, booked_number in self.by_invoice.get(number, []):
            if code != journal:
                continue
            booked = self.transactions[code, booked_number]
            if JOURNAL_KIND(code) != "purchase" or _relation_of(booked) == relation:
                return True
        return False

    def _book(self, document: ET.Element, header: ET.Element, journal: str, kind: str) -> Booking:
        year = int(rules.text(header, "date")[:4])
        sequence = self.next_number.get((journal, year), 1)
        self.next_number[journal, year] = sequence + 1
        number = f"{year}{sequence:05d}"
        _set(header, "number", number)
        _set(header, "office", self.code)
        if header.find("period") is None:
            _set(header, "period", f"{year}/{rules.text(header, 'date')[4:6]}")
        document.set("result", "1")
        self.transactions[journal, number] = copy.deepcopy(document)
        invoice_number = rules.text(header, "invoicenumber")
        if invoice_number:
            self.by_invoice.setdefault(invoice_number, []).append((journal, number))
        first = document.find("lines/line")
        # The detail lines as booked (the total line is the relation's side), so a test
        # can see a corrected account or VAT code land where Twinfield keeps it.
        details = [
            {tag: rules.text(line, tag) for tag in LINE_TAGS}
            for line in document.iterfind("lines/line")
            if line.get("type") == "detail"
        ]
        body: dict[str, Any] = {
            "journal": journal,
            "number": number,
            "invoicenumber": rules.text(header, "invoicenumber"),
            "entry_number": rules.text(first, "invoicenumber") if first is not None else "",
            "relation": _relation_of(document),
            "date": rules.text(header, "date"),
            "period": rules.text(header, "period"),
            "lines": details,
        }
        key = str(body["invoicenumber"] if kind != "memorial" else body["entry_number"])
        return Booking(ENTITIES[kind], key, f"{self.code}/{journal}/{number}", body)

    # --- reading -------------------------------------------------------------------
    def read(self, request: ET.Element) -> ET.Element:
        kind = rules.text(request, "type")
        if kind != "dimensions":
            answer = copy.deepcopy(request)
            rules.fail(_node(answer, "type"), f"Type '{kind}' kan niet gelezen worden.")
            answer.set("result", "0")
            return answer
        found = self.dimensions.get((rules.text(request, "dimtype"), rules.text(request, "code")))
        if found is None:
            answer = copy.deepcopy(request)
            rules.fail(_node(answer, "code"), "Dimensie bestaat niet.")
            answer.set("result", "0")
            return answer
        answer = copy.deepcopy(found)
        answer.set("result", "1")
        return answer

    def browse(self, request: ET.Element) -> ET.Element:
        code = request.get("code", "")
        dimension_type = BROWSE.get(code)
        filters, refused = _filters(request)
        if dimension_type is None or refused:
            answer = copy.deepcopy(request)
            rules.fail(answer, refused or f"Browsecode '{code}' bestaat niet.")
            answer.set("result", "0")
            return answer
        answer = ET.Element("browse", result="1")
        ET.SubElement(answer, "office").text = self.code
        ET.SubElement(answer, "code").text = code
        for journal, number in _candidates(request, self):
            row = _row(
                self.transactions[journal, number], journal, number, dimension_type, self.code
            )
            if row is not None and all(test(row[0]) for test in filters):
                answer.append(row[1])
        return answer


def JOURNAL_KIND(code: str) -> str:
    return rules.JOURNALS.get(code, "")


def _row(
    booked: ET.Element, journal: str, number: str, dimension_type: str, office: str
) -> tuple[dict[str, str], ET.Element] | None:
    if rules.RELATION_OF.get(JOURNAL_KIND(journal)) != dimension_type:
        return None
    header = booked.find("header")
    total = booked.find("lines/line[@type='total']")
    if header is None or total is None:
        return None
    cells = {
        "fin.trs.head.code": journal,
        "fin.trs.head.number": number,
        "fin.trs.head.yearperiod": rules.text(header, "period"),
        "fin.trs.head.date": rules.text(header, "date"),
        "fin.trs.head.curcode": rules.text(header, "currency") or "EUR",
        "fin.trs.line.dim2": rules.text(total, "dim2"),
        "fin.trs.line.invnumber": rules.text(header, "invoicenumber"),
        "fin.trs.line.valuesigned": rules.text(total, "value"),
    }
    row = ET.Element("tr")
    for name, value in cells.items():
        ET.SubElement(row, "td", field=name).text = value
    key = ET.SubElement(row, "key")
    for tag, value in (("office", office), ("code", journal), ("number", number), ("line", "1")):
        ET.SubElement(key, tag).text = value
    return cells, row


def _candidates(request: ET.Element, office: Office) -> list[tuple[str, str]]:
    """The transactions a browse can match: those of the invoice number it asks for."""
    for column in request.iterfind("column"):
        if (
            rules.text(column, "field") == "fin.trs.line.invnumber"
            and rules.text(column, "operator") == "equal"
            and rules.text(column, "from")
        ):
            return office.by_invoice.get(rules.text(column, "from"), [])
    return list(office.transactions)


def _filters(request: ET.Element) -> tuple[list[Any], str]:
    tests = []
    for column in request.iterfind("column"):
        name = rules.text(column, "field")
        if name not in FILTERS:
            return [], f"Kolom '{name}' bestaat niet in deze browse."
        operator = rules.text(column, "operator") or "none"
        low, high = rules.text(column, "from"), rules.text(column, "to")
        if operator == "equal" and low:
            tests.append(lambda cells, n=name, v=low: cells[n] == v)
        elif operator == "between" and (low or high):
            tests.append(
                lambda cells, n=name, lo=low, hi=high or low: lo <= cells[n] <= hi  # type: ignore[misc]
            )
    return tests, ""


def _relation_of(document: ET.Element) -> str:
    total = document.find("lines/line[@type='total']")
    return rules.text(total, "dim2") if total is not None else ""


def _failed(document: ET.Element) -> bool:
    return any(node.get("msgtype") == "error" for node in document.iter())


def _node(parent: ET.Element, tag: str) -> ET.Element:
    """The child ``tag``, made when missing (an element without children is falsy: no ``or``)."""
    node = parent.find(tag)
    return node if node is not None else ET.SubElement(parent, tag)


def _set(parent: ET.Element, tag: str, value: str) -> None:
    _node(parent, tag).text = value
