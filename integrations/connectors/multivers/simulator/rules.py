"""Multivers Online's reference data and validation rules, with its own (Dutch) messages.

Choices where the real API is not documented, kept here so they are easy to change:

* Every four-digit ledger account 1000..8999 exists; ``AccountInfoList`` names only
  :data:`ACCOUNTS`. Anything else ("0500", "9999", "ABC") is unknown.
* Fiscal years 2020..2030 exist, periods 1..12.
* VAT numbers: a number starting with another EU country's two letters is accepted
  unchecked; every other number must be a valid Dutch one (NL + 9 digits + B + 2 digits,
  eleven-test on the 9 digits or the whole number mod 97 == 1).
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any

from integrations.simulators.common import amount

ADMINISTRATIONS = {"MVL00001": "Demo BV", "MVL00002": "Demo Holding BV"}
VAT_CODES = {
    "0": ("Geen btw", 0),
    "1": ("Btw hoog", 21),
    "2": ("Btw laag", 9),
    "3": ("Btw verlegd", 0),
    "4": ("Btw buiten EU", 0),
}
JOURNALS = {
    "V": ("Verkoopboek", "sales"),
    "I": ("Inkoopboek", "purchase"),
    "M": ("Memoriaal", "memorial"),
}
PAYMENT_CONDITIONS = {"0": "Contant", "14": "14 dagen", "30": "30 dagen"}
CREDIT_SQUEEZES = {"0", "1", "2"}
COST_CENTRES = {"100", "200", "300"}
ACCOUNTS = {
    "1000": "Kas",
    "1100": "Bank",
    "1300": "Debiteuren",
    "1600": "Crediteuren",
    "1800": "Af te dragen btw",
    "4000": "Personeelskosten",
    "4100": "Huisvestingskosten",
    "7000": "Inkopen",
    "8000": "Omzet hoog",
    "8100": "Omzet laag",
    "8200": "Omzet verlegd",
}
FISCAL_YEARS = range(2020, 2031)
EU_PREFIXES = set(
    [
        "AT",
        "BE",
        "BG",
        "CY",
        "CZ",
        "DE",
        "DK",
        "EE",
        "EL",
        "ES",
        "FI",
        "FR",
        "HR",
        "HU",
        "IE",
        "IT",
        "LT",
        "LU",
        "LV",
        "MT",
        "PL",
        "PT",
        "RO",
        "SE",
        "SI",
        "SK",
        "XI",
    ]
)
_NL_VAT = re.compile(r"NL(\d{9})B(\d{2})")

Message = dict[str, str]


def error(message: str, path: str = "") -> Message:
    found = {"message": message, "messageType": "Error"}
    if path:
        found["path"] = path
    return found


def account_exists(account_id: Any) -> bool:
    text = str(account_id)
    return len(text) == 4 and text.isdigit() and "1000" <= text <= "8999"


def vat_number_valid(number: str) -> bool:
    compact = number.replace(" ", "").replace(".", "").upper()
    if compact[:2] in EU_PREFIXES and compact[2:].isalnum():
        return True
    match = _NL_VAT.fullmatch(compact)
    if match is None:
        return False
    digits = [int(c) for c in match.group(1)]
    eleven = sum(d * w for d, w in zip(digits, range(9, 1, -1), strict=False)) - digits[8]
    as_number = "".join(str(int(c, 36)) for c in compact)
    return eleven % 11 == 0 or int(as_number) % 97 == 1


def parse_date(text: Any) -> dt.date | None:
    """Multivers dates are d-m-yyyy (``15-3-2024``)."""
    try:
        day, month, year = (int(part) for part in str(text).split("-"))
        return dt.date(year, month, day)
    except ValueError:
        return None


def missing(body: dict[str, Any], names: list[str], prefix: str = "") -> list[Message]:
    return [
        error(f"{name[0].upper()}{name[1:]} is verplicht.", f"{prefix}/{name}")
        for name in names
        if body.get(name) in (None, "")
    ]


def relation_errors(body: dict[str, Any]) -> list[Message]:
    """Field rules of a Customer or Supplier (existence and duplicates are the store's)."""
    errors = missing(body, ["shortName", "creditSqueezeId"])
    vat = body.get("vatNumber")
    if vat and not vat_number_valid(str(vat)):
        errors.append(
            error(
                f"Btwnummer '{vat}' is niet geldig. Het btw-nummer voldoet niet aan de 97-proef "
                "en moet de vorm NL999999999B99 hebben.",
                "/vatNumber",
            )
        )
    if (
        body.get("creditSqueezeId") not in (None, "")
        and str(body["creditSqueezeId"]) not in CREDIT_SQUEEZES
    ):
        errors.append(
            error(f"Kredietbewaking '{body['creditSqueezeId']}' bestaat niet.", "/creditSqueezeId")
        )
    condition = body.get("paymentConditionId")
    if condition not in (None, "") and str(condition) not in PAYMENT_CONDITIONS:
        errors.append(
            error(f"Betalingsconditie '{condition}' bestaat niet.", "/paymentConditionId")
        )
    journal = body.get("journalId")
    if journal not in (None, "") and journal not in JOURNALS:
        errors.append(error(f"Dagboek '{journal}' bestaat niet.", "/journalId"))
    return errors


def booking_header_errors(
    body: dict[str, Any], journal_kind: str, date_field: str
) -> list[Message]:
    """Rules of an invoice's or journal entry's header: year, period, journal, date."""
    errors: list[Message] = []
    year = body.get("fiscalYear")
    if year not in (None, "") and (not str(year).isdigit() or int(year) not in FISCAL_YEARS):
        errors.append(error(f"Boekjaar '{year}' bestaat niet.", "/fiscalYear"))
    period = body.get("periodNumber")
    if period not in (None, "") and (not str(period).isdigit() or not 1 <= int(period) <= 12):
        errors.append(error(f"Periode '{period}' is ongeldig.", "/periodNumber"))
    journal = body.get("journalId")
    if journal not in (None, ""):
        if journal not in JOURNALS:
            errors.append(error(f"Dagboek '{journal}' bestaat niet.", "/journalId"))
        elif JOURNALS[journal][1] != journal_kind:
            errors.append(
                error(f"Dagboek '{journal}' is geen {_KIND_WORD[journal_kind]}.", "/journalId")
            )
    transaction = body.get("journalTransaction")
    if transaction not in (None, "") and not str(transaction).isdigit():
        errors.append(error(f"Boekstuknummer '{transaction}' is ongeldig.", "/journalTransaction"))
    when = body.get(date_field)
    if when not in (None, "") and parse_date(when) is None:
        errors.append(error(f"'{when}' is geen geldige datum.", f"/{date_field}"))
    return errors


_KIND_WORD = {"sales": "verkoopboek", "purchase": "inkoopboek", "memorial": "memoriaal"}


def line_errors(lines: Any, path: str, *, required: list[str]) -> list[Message]:
    """Rules of invoice lines or journal entry lines; ``path`` like ``/customerInvoiceLines``."""
    if not isinstance(lines, list) or not lines:
        return [error("Er moet minimaal één regel zijn.", path)]
    errors: list[Message] = []
    for i, line in enumerate(lines):
        at = f"{path}/{i}"
        if not isinstance(line, dict):
            errors.append(error("Regel is ongeldig.", at))
            continue
        errors += missing(line, required, at)
        account = line.get("accountId")
        if account not in (None, "") and not account_exists(account):
            errors.append(error(f"Grootboekrekening '{account}' bestaat niet.", f"{at}/accountId"))
        vat = line.get("vatCodeId")
        if vat not in (None, "") and str(vat) not in VAT_CODES:
            errors.append(error(f"Btwcode '{vat}' bestaat niet.", f"{at}/vatCodeId"))
        centre = line.get("costCentreId")
        if centre not in (None, "") and str(centre) not in COST_CENTRES:
            errors.append(error(f"Kostenplaats '{centre}' bestaat niet.", f"{at}/costCentreId"))
        when = line.get("transactionDate")
        if when not in (None, "") and parse_date(when) is None:
            errors.append(error(f"'{when}' is geen geldige datum.", f"{at}/transactionDate"))
        for field in ("debitAmount", "creditAmount", "vatAmount"):
            if amount(line.get(field)) is None:
                errors.append(error(f"'{line[field]}' is geen geldig bedrag.", f"{at}/{field}"))
    return errors


def balance_errors(entries: list[dict[str, Any]]) -> list[Message]:
    debit = sum((amount(e.get("debitAmount")) or Decimal(0) for e in entries), Decimal(0))
    credit = sum((amount(e.get("creditAmount")) or Decimal(0) for e in entries), Decimal(0))
    if debit != credit:
        return [error("Boeking is niet in balans.", "/finTransEntries")]
    return []
