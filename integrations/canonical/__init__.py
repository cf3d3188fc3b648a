"""Canonical records: the ERP's view of a record, the same for every package.

Intake validates what Reflex 3000 sends against these schemas, the edit screen builds
its form from them, and connectors map the normalised result to their package's JSON.
``validate_record`` is the one entry point; everything it returns is JSON-ready:
dates as ISO strings, amounts as strings with two decimals, defaults filled in and
empty optional fields left out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from pydantic import BaseModel, ValidationError

from .examples import example_record
from .fields import FieldSpec, field_specs
from .messages import RECORD_PATH, field_errors, summarise
from .schemas import Invoice, InvoiceLine, JournalEntry, JournalLine, Relation

__all__ = [
    "KINDS",
    "KIND_LABELS",
    "NATURAL_KEY",
    "RECORD_PATH",
    "SCHEMAS",
    "FieldSpec",
    "RecordErrors",
    "example_record",
    "identifier_of",
    "line_fields",
    "record_errors",
    "record_fields",
    "summarise",
    "validate_record",
]

KINDS: tuple[str, ...] = (
    "customer",
    "supplier",
    "sales_invoice",
    "purchase_invoice",
    "journal_entry",
)

KIND_LABELS: dict[str, Promise] = {
    "customer": _("Customer"),
    "supplier": _("Supplier"),
    "sales_invoice": _("Sales invoice"),
    "purchase_invoice": _("Purchase invoice"),
    "journal_entry": _("Journal entry"),
}

NATURAL_KEY: dict[str, str] = {
    "customer": "code",
    "supplier": "code",
    "sales_invoice": "invoice_number",
    "purchase_invoice": "invoice_number",
    "journal_entry": "entry_number",
}

SCHEMAS: dict[str, type[BaseModel]] = {
    "customer": Relation,
    "supplier": Relation,
    "sales_invoice": Invoice,
    "purchase_invoice": Invoice,
    "journal_entry": JournalEntry,
}

_LINE_SCHEMAS: dict[str, type[BaseModel]] = {
    "sales_invoice": InvoiceLine,
    "purchase_invoice": InvoiceLine,
    "journal_entry": JournalLine,
}
# Built once: the edit screen asks for them on every page.
_RECORD_FIELDS = {
    kind: field_specs(schema, kind, skip=frozenset({"lines"})) for kind, schema in SCHEMAS.items()
}
_LINE_FIELDS = {
    kind: field_specs(_LINE_SCHEMAS[kind], kind, skip=frozenset()) if kind in _LINE_SCHEMAS else []
    for kind in KINDS
}


@dataclass
class RecordErrors:
    """Why a record is invalid: one sentence for the line, and a message per field."""

    message: str
    field_errors: dict[str, str]

    @classmethod
    def of(cls, field_errors: dict[str, str]) -> RecordErrors:
        return cls(message=summarise(field_errors), field_errors=field_errors)


def _schema(kind: str) -> type[BaseModel]:
    try:
        return SCHEMAS[kind]
    except KeyError:
        raise ValueError(f"Unknown record kind {kind!r}.") from None


def validate_record(
    kind: str, data: Mapping[str, Any]
) -> tuple[dict[str, Any] | None, dict[str, str]]:
    """``(normalised JSON-ready dict, {})`` when valid, else ``(None, {field path: message})``.

    Paths are dotted with 0-based line indexes (``lines.2.vat_code``); an error about
    the record as a whole (not a mapping at all) is on ``RECORD_PATH``.
    Raises ValueError for a kind that is not one of ``KINDS``.
    """
    schema = _schema(kind)
    try:
        record = schema.model_validate(data)
    except ValidationError as exc:
        return None, field_errors(exc)
    return record.model_dump(mode="json", exclude_none=True), {}


def record_errors(kind: str, data: Mapping[str, Any]) -> dict[str, str]:
    """``{field path: message}`` for an invalid record, ``{}`` for a valid one.

    ``validate_record`` without the normalised dict: intake stores the record as sent and
    only needs the verdict, and dumping a model costs about as much as a third of
    validating it.
    """
    schema = _schema(kind)
    try:
        schema.model_validate(data)
    except ValidationError as exc:
        return field_errors(exc)
    return {}


def identifier_of(kind: str, record: Mapping[str, Any]) -> str:
    """The ERP's own key of the record (debtor number, invoice number …); "" if absent."""
    _schema(kind)
    value = record.get(NATURAL_KEY[kind])
    return "" if value is None else str(value).strip()


def record_fields(kind: str) -> list[FieldSpec]:
    """The record's own fields, in schema order, for the edit form (lines excluded)."""
    _schema(kind)
    return list(_RECORD_FIELDS[kind])


def line_fields(kind: str) -> list[FieldSpec]:
    """The fields of one line of an invoice or journal entry; empty for relations."""
    _schema(kind)
    return list(_LINE_FIELDS[kind])
