"""Canonical records → Exact Online entities.

Exact names relations and G/L accounts by GUID, so the mapping takes a ``resolve``
callable (``resolve("account", "1001")`` → GUID) and leaves the look-ups to the
connector, which caches them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

Resolve = Callable[[str, str], str]


@dataclass(frozen=True)
class Entity:
    path: str  # "{service}/{Entity}"
    id_field: str
    lines_key: str = ""
    journal_setting: str = ""
    journal_default: str = ""


ENTITIES: dict[str, Entity] = {
    "customer": Entity("crm/Accounts", "ID"),
    "supplier": Entity("crm/Accounts", "ID"),
    "sales_invoice": Entity(
        "salesentry/SalesEntries", "EntryID", "SalesEntryLines", "sales_journal", "70"
    ),
    "purchase_invoice": Entity(
        "purchaseentry/PurchaseEntries", "EntryID", "PurchaseEntryLines", "purchase_journal", "60"
    ),
    "journal_entry": Entity(
        "generaljournalentry/GeneralJournalEntries",
        "EntryID",
        "GeneralJournalEntryLines",
        "general_journal",
        "90",
    ),
}

RELATION_FIELDS = {
    "code": "Code",
    "name": "Name",
    "short_name": "SearchCode",
    "address_line1": "AddressLine1",
    "postcode": "Postcode",
    "city": "City",
    "country": "Country",
    "email": "Email",
    "phone": "Phone",
    "vat_number": "VATNumber",
    "coc_number": "ChamberOfCommerce",
}
# Exact keeps terms and currency per side of the relation.
_SIDE_FIELDS = {
    "customer": {"payment_terms_code": "PaymentConditionSales", "currency": "SalesCurrency"},
    "supplier": {"payment_terms_code": "PaymentConditionPurchase", "currency": "PurchaseCurrency"},
}
INVOICE_FIELDS = {
    # The invoice number travels in YourRef: that is what we look the entry up by.
    "invoice_number": "YourRef",
    "invoice_date": "EntryDate",
    "due_date": "DueDate",
    "fiscal_year": "ReportingYear",
    "period": "ReportingPeriod",
    "description": "Description",
    "payment_reference": "PaymentReference",
    "currency": "Currency",
    "payment_terms_code": "PaymentCondition",
}
INVOICE_LINE_FIELDS = {
    "gl_account": "GLAccount",
    "description": "Description",
    "amount": "AmountFC",
    "vat_code": "VATCode",
    "vat_amount": "VATAmountFC",
    "cost_centre": "CostCenter",
}
JOURNAL_FIELDS = {"fiscal_year": "FinancialYear", "period": "FinancialPeriod"}
JOURNAL_LINE_FIELDS = {
    "gl_account": "GLAccount",
    "description": "Description",
    "vat_code": "VATCode",
    "cost_centre": "CostCenter",
}
_AMOUNTS = frozenset({"amount", "vat_amount"})
_INT32_MAX = 2**31 - 1


def _copy(record: Mapping[str, Any], fields: Mapping[str, str]) -> dict[str, Any]:
    out = {}
    for ours, theirs in fields.items():
        value = record.get(ours)
        if value in (None, ""):
            continue
        out[theirs] = float(Decimal(value)) if ours in _AMOUNTS else value
    return out


def journal_code(kind: str, record: Mapping[str, Any], settings: Mapping[str, Any]) -> str:
    entity = ENTITIES[kind]
    return str(
        record.get("journal") or settings.get(entity.journal_setting) or entity.journal_default
    )


def to_exact(
    kind: str, record: Mapping[str, Any], settings: Mapping[str, Any], resolve: Resolve
) -> dict[str, Any]:
    if kind in _SIDE_FIELDS:
        body = _copy(record, {**RELATION_FIELDS, **_SIDE_FIELDS[kind]})
        if kind == "customer":
            body["Status"] = "C"
        else:
            body["IsSupplier"] = True
        return body
    if kind == "journal_entry":
        return _journal_entry(record, settings, resolve)
    body = _copy(record, INVOICE_FIELDS)
    body["Journal"] = journal_code(kind, record, settings)
    relation = "account" if kind == "sales_invoice" else "supplier"
    body["Customer" if kind == "sales_invoice" else "Supplier"] = resolve(
        relation, record["relation_code"]
    )
    body[ENTITIES[kind].lines_key] = [
        _gl_line(line, INVOICE_LINE_FIELDS, resolve) for line in record["lines"]
    ]
    return body


def _journal_entry(
    record: Mapping[str, Any], settings: Mapping[str, Any], resolve: Resolve
) -> dict[str, Any]:
    body = _copy(record, JOURNAL_FIELDS)
    body["JournalCode"] = journal_code("journal_entry", record, settings)
    number = entry_number(record)
    if number is not None:
        body["EntryNumber"] = number
    lines = []
    for line in record["lines"]:
        out = _gl_line(line, JOURNAL_LINE_FIELDS, resolve)
        out["Date"] = record["entry_date"]
        # One signed amount: debit positive, credit negative.
        out["AmountFC"] = float(
            Decimal(line.get("debit") or "0") - Decimal(line.get("credit") or "0")
        )
        if record.get("description") and "Description" not in out:
            out["Description"] = record["description"]
        # The entry's own key, on every line: what the connector looks the entry up by.
        out[ENTRY_KEY_FIELD] = entry_key(record)
        lines.append(out)
    body["GeneralJournalEntryLines"] = lines
    return body


# A general journal entry has no text field of its own (no YourRef, no Description on
# the header), so our entry number travels in the ``Notes`` ("extra remarks") of each
# of its lines, and the connector finds the entry with
# ``GeneralJournalEntryLines?$filter=Notes eq '…'``.
ENTRY_KEY_FIELD = "Notes"


def entry_key(record: Mapping[str, Any]) -> str:
    """The journal entry's natural key as it is written into, and looked up in, Exact."""
    return str(record.get("entry_number") or "").strip()


def entry_number(record: Mapping[str, Any]) -> int | None:
    """Exact's EntryNumber for a journal entry whose number *is* a number (``"2024017"`` →
    2024017), else None and Exact numbers the entry itself.

    Only an exact match is sent: deriving a number from ``MEM2024-000001`` would give
    ``KAS2024-000001`` the same one, and Exact would refuse one entry for the other
    ("In use: Document number"). A number Exact holds is one it refuses to book twice.
    """
    text = entry_key(record)
    if (
        not (text.isascii() and text.isdigit())
        or text != str(int(text))
        or not 0 < int(text) <= _INT32_MAX
    ):
        return None
    return int(text)


def _gl_line(
    line: Mapping[str, Any], fields: Mapping[str, str], resolve: Resolve
) -> dict[str, Any]:
    out = _copy(line, fields)
    out["GLAccount"] = resolve("gl_account", line["gl_account"])
    return out
