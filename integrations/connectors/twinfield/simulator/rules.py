"""A Twinfield office's reference data and the checks on a document, with Twinfield's messages.

Twinfield answers a refused document by echoing it with ``result="0"`` on the root and
``msgtype``/``msg`` attributes on the elements that failed (php-twinfield's test
resources; several messages on one element are joined with ``//``, php-twinfield#199).
A missing mandatory element is added to the echo, empty, carrying its message.

Confirmed wording: "Dimensie 1 moet altijd worden ingevuld." (php-twinfield#199). The
other messages are the simulator's choice (marked * in README.md), in Dutch as Twinfield
answers a Dutch user; the reference data below is a choice too:

* every four-digit G/L account 1000..8999 exists (below 4000 balance sheet, from 4000
  profit and loss); cost centres 100, 200, 300; fiscal years 2020..2030, periods 1..12;
* journals VRK (sales), INK (purchase), MEMO (memorial); VAT codes VH/VL/VN (sales) and
  IH/IL/IN (purchase).
"""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from decimal import Decimal, InvalidOperation

OFFICES = {"NLA000001": "Demo BV", "NLA000002": "Demo Holding BV"}
JOURNALS = {"VRK": "sales", "INK": "purchase", "MEMO": "memorial"}
RELATION_OF = {"sales": "DEB", "purchase": "CRD"}
VAT_CODES = {
    "VH": Decimal("0.21"),
    "VL": Decimal("0.09"),
    "VN": Decimal("0"),
    "IH": Decimal("0.21"),
    "IL": Decimal("0.09"),
    "IN": Decimal("0"),
}
COST_CENTRES = {"100", "200", "300"}
FISCAL_YEARS = range(2020, 2031)
DIMENSION_TYPES = {"DEB": "Debiteur", "CRD": "Crediteur"}

DIM1_REQUIRED = "Dimensie 1 moet altijd worden ingevuld."  # php-twinfield#199


def fail(node: ET.Element, message: str) -> None:
    """Put a message on an element, as Twinfield does (joined with // when several)."""
    earlier = node.get("msg")
    node.set("msgtype", "error")
    node.set("msg", f"{earlier}//{message}" if earlier else message)


def require(parent: ET.Element, tag: str, message: str) -> ET.Element | None:
    """The element's node when it has text, else the empty element carrying ``message``."""
    node = parent.find(tag)
    if node is not None and (node.text or "").strip():
        return node
    if node is None:
        node = ET.SubElement(parent, tag)
    fail(node, message)
    return None


def text(parent: ET.Element, tag: str) -> str:
    return (parent.findtext(tag) or "").strip()


def gl_account_ok(code: str) -> bool:
    return len(code) == 4 and code.isdigit() and 1000 <= int(code) <= 8999


def profit_and_loss(code: str) -> bool:
    return gl_account_ok(code) and int(code) >= 4000


def check_dimension(document: ET.Element) -> None:
    """Type and name are mandatory; the country a two-letter code."""
    kind = require(document, "type", "Dimensietype is verplicht.")
    if kind is not None and text(document, "type") not in DIMENSION_TYPES:
        fail(kind, f"Dimensietype '{kind.text}' is hier niet toegestaan.")
    require(document, "name", "Naam is verplicht.")
    for country in document.iterfind("addresses/address/country"):
        value = (country.text or "").strip()
        if value and (len(value) != 2 or not value.isalpha()):
            fail(country, f"Land '{value}' bestaat niet.")
    duedays = document.find("financials/duedays")
    if duedays is not None and not (duedays.text or "").strip().isdigit():
        fail(duedays, f"Ongeldige waarde '{duedays.text}' voor aantal dagen.")


def check_header(header: ET.Element) -> str:
    """The journal's type ("sales", "purchase", "memorial"), or "" when it failed."""
    journal = require(header, "code", "Dagboek is verplicht.")
    kind = JOURNALS.get(text(header, "code"), "")
    if journal is not None and not kind:
        fail(journal, f"Dagboek '{journal.text}' bestaat niet.")
    date = require(header, "date", "Boekdatum is verplicht.")
    if date is not None and _date(date.text or "") is None:
        fail(date, f"Ongeldige datum '{date.text}'.")
    period = header.find("period")
    if period is not None and not _period_ok(period.text or ""):
        fail(period, f"Periode '{period.text}' bestaat niet.")
    due = header.find("duedate")
    if due is not None and _date(due.text or "") is None:
        fail(due, f"Ongeldige datum '{due.text}'.")
    if kind in RELATION_OF:
        require(header, "invoicenumber", "Factuurnummer is verplicht.")
    return kind


def check_lines(lines: list[ET.Element], kind: str, relation_exists: object) -> None:
    """Each line's dimensions, side, value and VAT; then the balance."""
    for line in lines:
        _check_line(line, kind, relation_exists)
    totals = [line for line in lines if line.get("type") == "total"]
    details = [line for line in lines if line.get("type") == "detail"]
    if kind in RELATION_OF and len(totals) != 1 and lines:
        fail(lines[0], "Een boeking heeft precies één totaalregel.")
    if not details and lines:
        fail(lines[0], "Een boeking heeft minstens één detailregel.")
    if any(line.get("msg") or _has_messages(line) for line in lines):
        return
    if sum((_signed(line) for line in lines), Decimal(0)) != 0:
        fail(lines[0], "De boeking is niet in balans.")


def _check_line(line: ET.Element, kind: str, relation_exists: object) -> None:
    dim1 = require(line, "dim1", DIM1_REQUIRED)
    account = text(line, "dim1")
    if dim1 is not None and not gl_account_ok(account):
        fail(dim1, f"Grootboekrekening '{account}' bestaat niet.")
    side = require(line, "debitcredit", "Debet/credit is verplicht.")
    if side is not None and text(line, "debitcredit") not in ("debit", "credit"):
        fail(side, f"Ongeldige waarde '{side.text}' voor debet/credit.")
    value = require(line, "value", "Bedrag is verplicht.")
    if value is not None and _decimal(value.text or "") is None:
        fail(value, f"Ongeldig bedrag '{value.text}'.")
    dim2 = line.find("dim2")
    code = text(line, "dim2")
    if line.get("type") == "total":
        relation = RELATION_OF.get(kind, "")
        if dim2 is None or not code:
            fail(
                dim2 if dim2 is not None else ET.SubElement(line, "dim2"),
                "Dimensie 2 is verplicht.",
            )
        elif callable(relation_exists) and not relation_exists(relation, code):
            fail(dim2, f"{DIMENSION_TYPES.get(relation, 'Relatie')} '{code}' bestaat niet.")
    elif dim2 is not None and code:
        if not profit_and_loss(account):
            fail(dim2, "Dimensie op niveau 2 mag niet worden ingevuld.")
        elif code not in COST_CENTRES:
            fail(dim2, f"Kostenplaats '{code}' bestaat niet.")
    _check_vat(line, kind)


def _check_vat(line: ET.Element, kind: str) -> None:
    vatcode = line.find("vatcode")
    code = text(line, "vatcode")
    if vatcode is not None and code:
        allowed = {"sales": "V", "purchase": "I"}.get(kind)
        if code not in VAT_CODES or (allowed and not code.startswith(allowed)):
            fail(vatcode, f"Btw-code '{code}' bestaat niet of is hier niet toegestaan.")
    vatvalue = line.find("vatvalue")
    if vatvalue is not None and _decimal(vatvalue.text or "") is None:
        fail(vatvalue, f"Ongeldig bedrag '{vatvalue.text}'.")


def _signed(line: ET.Element) -> Decimal:
    value = _decimal(text(line, "value")) or Decimal(0)
    if line.get("type") == "detail":
        value += _decimal(text(line, "vatvalue") or "0") or Decimal(0)
    return value if text(line, "debitcredit") == "debit" else -value


def _has_messages(node: ET.Element) -> bool:
    return any(item.get("msg") for item in node.iter())


def _decimal(value: str) -> Decimal | None:
    try:
        number = Decimal(value.strip())
    except InvalidOperation:
        return None
    return number if number.is_finite() and number >= 0 else None


def _date(value: str) -> dt.date | None:
    try:
        day = dt.datetime.strptime(value.strip(), "%Y%m%d").date()
    except ValueError:
        return None
    return day if day.year in FISCAL_YEARS else None


def _period_ok(value: str) -> bool:
    year, _, period = value.strip().partition("/")
    return (
        year.isdigit() and period.isdigit() and int(year) in FISCAL_YEARS and 1 <= int(period) <= 12
    )
