"""Canonical records → Multivers Online JSON, and Multivers error paths → canonical fields.

Multivers speaks camelCase, dates as ``d-m-yyyy`` and amounts split over
``debitAmount``/``creditAmount``. Every field name lives in the tables below, so a
renamed field is changed in one place.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

# Multivers requires a credit-squeeze (kredietbeperking) code on every relation; the ERP
# has no such notion. "0" (no credit squeeze) is the least surprising choice (not confirmed).
DEFAULT_CREDIT_SQUEEZE = "0"
# A journal entry's lines are typed; a plain G/L line is a BasicEntryProxy.
G_L_ENTRY_TYPE = (
    "UNIT4.Multivers.API.BL.Financial.Edit.BasicEntryProxy, UNIT4.Multivers.API.Web.WebApi.Model"
)


@dataclass(frozen=True)
class KindSpec:
    endpoint: str
    # canonical field → Multivers field, for the record's own (header) fields
    fields: Mapping[str, str]
    lines_key: str = ""
    line_fields: Mapping[str, str] | None = None
    # A positive canonical amount lands on this side of the ledger.
    positive_side: str = "creditAmount"


_RELATION = {
    "name": "name",
    "short_name": "shortName",
    "address_line1": "street1",
    "postcode": "zipCode",
    "city": "city",
    "country": "countryId",
    "email": "email",
    "phone": "telephone",
    "vat_number": "vatNumber",
    "coc_number": "cocRegistration",
    "payment_terms_code": "paymentConditionId",
    "currency": "currencyId",
}
_INVOICE = {
    "invoice_number": "invoiceId",
    "invoice_date": "invoiceDate",
    "due_date": "invoiceExpirationDate",
    "journal": "journalId",
    "fiscal_year": "fiscalYear",
    "period": "periodNumber",
    "description": "description",
    "your_ref": "reference",
    "payment_reference": "paymentReference",
    "currency": "currencyId",
    "payment_terms_code": "paymentConditionId",
}
_INVOICE_LINE = {
    "gl_account": "accountId",
    "description": "description",
    "vat_code": "vatCodeId",
    "vat_amount": "vatAmount",
    "cost_centre": "costCentreId",
}

KINDS: dict[str, KindSpec] = {
    "customer": KindSpec("Customer", {"code": "customerId", **_RELATION}),
    "supplier": KindSpec("Supplier", {"code": "supplierId", **_RELATION}),
    "sales_invoice": KindSpec(
        "CustomerInvoice",
        {"relation_code": "customerId", **_INVOICE},
        "customerInvoiceLines",
        _INVOICE_LINE,
        positive_side="creditAmount",  # revenue; the debtor takes the debit
    ),
    "purchase_invoice": KindSpec(
        "SupplierInvoice",
        {"relation_code": "supplierId", **_INVOICE},
        "supplierInvoiceLines",
        _INVOICE_LINE,
        positive_side="debitAmount",  # cost; the creditor takes the credit
    ),
    "journal_entry": KindSpec(
        "FinTrans",
        {
            # The entry number rides in ``document`` (not confirmed as a FinTrans field),
            # for a person checking Multivers: journalTransaction is Multivers' own
            # counter, handed out by GetNextJournalTransactionCommand, and no documented
            # call looks a FinTrans up by ``document``.
            "entry_number": "document",
            "journal": "journalId",
            "entry_date": "transactionDate",
            "fiscal_year": "fiscalYear",
            "period": "periodNumber",
            "description": "description",
        },
        "finTransEntries",
        {
            "gl_account": "accountId",
            "description": "description",
            "debit": "debitAmount",
            "credit": "creditAmount",
            "vat_code": "vatCodeId",
            "cost_centre": "costCentreId",
        },
    ),
}
_DATES = frozenset({"invoice_date", "due_date", "entry_date"})
_AMOUNTS = frozenset({"vat_amount", "debit", "credit"})


def multivers_date(iso: str) -> str:
    """``2024-03-05`` → ``5-3-2024`` (no leading zeros)."""
    year, month, day = iso[:10].split("-")
    return f"{int(day)}-{int(month)}-{int(year)}"


def _value(field: str, value: Any) -> Any:
    if field in _DATES:
        return multivers_date(value)
    if field in _AMOUNTS:
        return float(Decimal(value))
    return value


def _copy(record: Mapping[str, Any], fields: Mapping[str, str]) -> dict[str, Any]:
    return {
        theirs: _value(ours, record[ours])
        for ours, theirs in fields.items()
        if record.get(ours) not in (None, "")
    }


def to_multivers(kind: str, record: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON body for one canonical record (``journalTransaction`` comes later)."""
    spec = KINDS[kind]
    body = _copy(record, spec.fields)
    if kind in ("customer", "supplier"):
        body.setdefault("creditSqueezeId", DEFAULT_CREDIT_SQUEEZE)
        return body
    date = multivers_date(record.get("invoice_date") or record["entry_date"])
    body[spec.lines_key] = [_line(spec, line, date) for line in record.get("lines", [])]
    return body


def _line(spec: KindSpec, line: Mapping[str, Any], date: str) -> dict[str, Any]:
    assert spec.line_fields is not None
    out = _copy(line, spec.line_fields)
    if spec.endpoint == "FinTrans":
        out["$type"] = G_L_ENTRY_TYPE
    out["transactionDate"] = date
    if "amount" in line:
        amount = Decimal(line["amount"])
        other = "debitAmount" if spec.positive_side == "creditAmount" else "creditAmount"
        out[spec.positive_side if amount >= 0 else other] = float(abs(amount))
        out.setdefault(other if amount >= 0 else spec.positive_side, 0.0)
    if "vatAmount" in out:
        out["vatAmount"] = abs(out["vatAmount"])
    out.setdefault("debitAmount", 0.0)
    out.setdefault("creditAmount", 0.0)
    return out


def canonical_path(kind: str, path: str) -> str | None:
    """``/customerInvoiceLines/0/vatCodeId`` → ``lines.0.vat_code``; None if unknown.

    Multivers is not consistent about the case of a path's first letter, so names are
    compared without case.
    """
    spec = KINDS.get(kind)
    if spec is None:
        return None
    parts = [p for p in path.split("/") if p]
    if not parts:
        return None
    head = parts[0].lower()
    if spec.lines_key and head == spec.lines_key.lower():
        if len(parts) == 1 or not parts[1].isdigit():
            return "lines"
        if len(parts) == 2:
            return f"lines.{parts[1]}"
        name = parts[2].lower()
        if name == "transactiondate":
            # Lines inherit the record's date; that is where it is corrected.
            return "entry_date" if kind == "journal_entry" else "invoice_date"
        field = _reverse(spec.line_fields or {}).get(name)
        if field is None and name in ("debitamount", "creditamount"):
            field = "amount"
        return f"lines.{parts[1]}.{field}" if field else f"lines.{parts[1]}"
    return _reverse(spec.fields).get(head)


def _reverse(fields: Mapping[str, str]) -> dict[str, str]:
    return {theirs.lower(): ours for ours, theirs in fields.items()}
