"""Exact Online's reference data and the rules an account or an entry must pass.

Choices where the real API is not documented, kept here:

* Divisions 123456 and 654321. Journals "70" sales, "60" purchase, "90" general (no VAT).
* G/L accounts: every code 1000..8999 exists; its GUID is ``uuid5(GL_NAMESPACE, code)``
  (find it with ``financial/GLAccounts?$filter=Code eq '8000'``). Lines name the G/L
  account by GUID, as in the real API.
* Financial years 2020..2030; a date or year outside answers "Unknown: Financial year
  (Period-date table)".
* An account is a customer when ``Status`` is "C" (the default when ``IsSupplier`` is not
  true) and a supplier when ``IsSupplier`` is true.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from typing import Any

from integrations.connectors.exact.simulator.odata import to_date
from integrations.simulators.common import amount

DIVISIONS = {123456: "Demo BV", 654321: "Demo Holding BV"}
JOURNALS = {
    "70": ("Verkoopboek", "sales"),
    "60": ("Inkoopboek", "purchase"),
    "90": ("Memoriaal", "general"),
}
VAT_CODES = {
    "0": "Geen btw",
    "1": "Btw hoog 21%",
    "2": "Btw laag 9%",
    "3": "Verlegd",
    "4": "Export buiten EU",
    "5": "Inkoop hoog 21%",
}
COST_CENTERS = {"100": "Verkoop", "200": "Inkoop", "300": "Algemeen"}
GL_NAMES = {
    "1100": "Bank",
    "1300": "Debiteuren",
    "1600": "Crediteuren",
    "4000": "Kosten",
    "7000": "Inkopen",
    "8000": "Omzet hoog",
    "8100": "Omzet laag",
}
GL_NAMESPACE = uuid.UUID("5b0e3c1e-8f5f-4d4a-9a59-6b1f0a3c2d11")
YEARS = range(2020, 2031)
FINANCIAL_YEAR = "Unknown: Financial year (Period-date table)"


@dataclass(frozen=True)
class EntryKind:
    entity: str  # the name in the ledger
    lines: str
    journal_field: str
    journal_type: str
    relation: str | None  # "Customer" | "Supplier" | None
    date_field: str | None


KINDS = {
    "SalesEntries": EntryKind(
        "SalesEntry", "SalesEntryLines", "Journal", "sales", "Customer", "EntryDate"
    ),
    "PurchaseEntries": EntryKind(
        "PurchaseEntry", "PurchaseEntryLines", "Journal", "purchase", "Supplier", "EntryDate"
    ),
    "GeneralJournalEntries": EntryKind(
        "GeneralJournalEntry", "GeneralJournalEntryLines", "JournalCode", "general", None, None
    ),
}


def gl_guid(code: str) -> str:
    return str(uuid.uuid5(GL_NAMESPACE, code))


@cache
def gl_codes() -> dict[str, str]:
    """GUID → code of every G/L account (computed once, on first use)."""
    return {gl_guid(str(code)): str(code) for code in range(1000, 9000)}


def gl_code_exists(code: str) -> bool:
    return len(code) == 4 and code.isdigit() and "1000" <= code <= "8999"


def gl_account(code: str) -> dict[str, Any]:
    return {
        "ID": gl_guid(code),
        "Code": code,
        "Description": GL_NAMES.get(code, f"Grootboek {code}"),
    }


def as_guid(value: Any) -> str | None:
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        return None


def account_messages(body: dict[str, Any]) -> list[str]:
    messages = []
    if not str(body.get("Name") or "").strip():
        messages.append("Required: Name")
    if len(str(body.get("Code") or "").strip()) > 18:
        messages.append("Invalid: Code")
    country = body.get("Country")
    if country not in (None, "") and (len(str(country)) != 2 or not str(country).isalpha()):
        messages.append("Invalid: Country")
    if body.get("Status") not in (None, "", "C", "A", "S", "P"):
        messages.append("Invalid: Status")
    return messages


def entry_messages(
    kind: EntryKind, body: dict[str, Any], accounts: dict[str, dict[str, Any]]
) -> list[str]:
    """The 400 messages of one entry, in the order Exact lists them."""
    messages = _journal_messages(kind, body.get(kind.journal_field))
    if kind.relation:
        messages += _relation_messages(kind.relation, body.get(kind.relation), accounts)
    messages += _year_messages(kind, body)
    lines = body.get(kind.lines)
    if not isinstance(lines, list) or not lines:
        return [*messages, f"Required: {kind.lines}"]
    for line in lines:
        messages += _line_messages(kind, line if isinstance(line, dict) else {})
    return list(dict.fromkeys(messages))


def _journal_messages(kind: EntryKind, journal: Any) -> list[str]:
    if journal in (None, ""):
        return ["Required: Journal"]
    if str(journal) not in JOURNALS:
        return ["Not found: Journal"]
    if JOURNALS[str(journal)][1] != kind.journal_type:
        return ["Invalid: Journal"]
    return []


def _relation_messages(relation: str, value: Any, accounts: dict[str, dict[str, Any]]) -> list[str]:
    if value in (None, ""):
        return [f"Required: {relation}"]
    account = accounts.get(as_guid(value) or "")
    if account is None:
        return [f"Not found: {relation}"]
    is_customer = account.get("Status") == "C"
    if (relation == "Customer" and not is_customer) or (
        relation == "Supplier" and not account.get("IsSupplier")
    ):
        return [f"Invalid: {relation} (Type)"]
    return []


def _year_messages(kind: EntryKind, body: dict[str, Any]) -> list[str]:
    years: list[Any] = [
        body.get(name)
        for name in ("ReportingYear", "FinancialYear")
        if body.get(name) not in (None, "")
    ]
    if kind.date_field and body.get(kind.date_field) not in (None, ""):
        day = to_date(body[kind.date_field])
        if day is None:
            return [f"Invalid: {kind.date_field}"]
        years.append(day.year)
    for line in body.get(kind.lines) or []:
        if isinstance(line, dict) and line.get("Date") not in (None, ""):
            day = to_date(line["Date"])
            years.append(day.year if day else 0)
    if any(not str(year).isdigit() or int(year) not in YEARS for year in years):
        return [FINANCIAL_YEAR]
    return []


def _line_messages(kind: EntryKind, line: dict[str, Any]) -> list[str]:
    messages = []
    account = line.get("GLAccount")
    if account in (None, ""):
        messages.append("Mandatory: Account")
    elif as_guid(account) not in gl_codes():
        messages.append("Not found: Account")
    vat = line.get("VATCode")
    if vat not in (None, ""):
        if kind.journal_type == "general":
            messages.append("Not allowed: VAT code")
        elif str(vat).strip() not in VAT_CODES:
            messages.append("Not found: VAT code")
    centre = line.get("CostCenter")
    if centre not in (None, "") and str(centre).strip() not in COST_CENTERS:
        messages.append("Invalid: Cost center link")
    if amount(line.get("AmountFC")) is None:
        messages.append("Invalid: Amount")
    return messages


def unbalanced(kind: EntryKind, body: dict[str, Any]) -> str | None:
    """The business-rule failure (HTTP 500) of a general journal entry that does not balance."""
    if kind.journal_type != "general":
        return None
    lines = body[kind.lines]
    if sum((amount(line.get("AmountFC")) or Decimal(0) for line in lines), Decimal(0)) == 0:
        return None
    day = to_date(lines[0].get("Date")) or dt.datetime.now(dt.UTC).date()
    year = body.get("FinancialYear") or day.year
    period = body.get("FinancialPeriod") or day.month
    return f"This entry is not balanced on: {year} / {period}"


_ENTRY = {"EntryID", "EntryNumber", "Division", "Currency", "AmountFC", "AmountDC", "Created"}
_SALES_PURCHASE = _ENTRY | {
    "Journal",
    "EntryDate",
    "ReportingYear",
    "ReportingPeriod",
    "YourRef",
    "Description",
    "DueDate",
    "PaymentReference",
    "PaymentCondition",
    "InvoiceNumber",
    "VATAmountFC",
}
# The properties of each entity that ``$filter`` and ``$select`` may name (a part of
# Exact's reference: the ones a client of ours meets); any other is a 400.
PROPERTIES: dict[str, frozenset[str]] = {
    "Accounts": frozenset(
        {
            "ID",
            "Code",
            "Name",
            "SearchCode",
            "Status",
            "IsSupplier",
            "AddressLine1",
            "Postcode",
            "City",
            "Country",
            "Email",
            "Phone",
            "VATNumber",
            "ChamberOfCommerce",
            "PaymentConditionSales",
            "PaymentConditionPurchase",
            "SalesCurrency",
            "PurchaseCurrency",
            "Division",
        }
    ),
    "SalesEntries": frozenset(_SALES_PURCHASE | {"Customer", "SalesEntryLines"}),
    "PurchaseEntries": frozenset(_SALES_PURCHASE | {"Supplier", "PurchaseEntryLines"}),
    "GeneralJournalEntries": frozenset(
        _ENTRY
        | {
            "JournalCode",
            "FinancialYear",
            "FinancialPeriod",
            "Reversal",
            "GeneralJournalEntryLines",
        }
    ),
    "GeneralJournalEntryLines": frozenset(
        {
            "ID",
            "EntryID",
            "EntryNumber",
            "LineNumber",
            "GLAccount",
            "Description",
            "Notes",
            "AmountFC",
            "AmountDC",
            "VATCode",
            "CostCenter",
            "Date",
            "Division",
        }
    ),
    "GLAccounts": frozenset({"ID", "Code", "Description"}),
    "VATCodes": frozenset({"ID", "Code", "Description"}),
    "Journals": frozenset({"ID", "Code", "Description", "Type"}),
    "Costcenters": frozenset({"ID", "Code", "Description"}),
}
