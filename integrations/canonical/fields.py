"""What the edit screen needs to know about each field: label, type, limits, help.

Read from the schemas themselves, so a field added there shows up in the form.
"""

from __future__ import annotations

import types
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from annotated_types import MaxLen
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from pydantic import BaseModel
from pydantic.fields import FieldInfo

FieldType = Literal["str", "date", "decimal", "int"]
_TYPE_NAMES: dict[Any, FieldType] = {str: "str", date: "date", Decimal: "decimal", int: "int"}


@dataclass(frozen=True)
class FieldSpec:
    name: str
    label: Promise
    type: FieldType
    required: bool
    max_length: int | None = None
    help: Promise | None = None


LABELS: dict[str, Promise] = {
    "code": _("Number"),
    "name": _("Name"),
    "short_name": _("Short name"),
    "address_line1": _("Address"),
    "postcode": _("Postcode"),
    "city": _("City"),
    "country": _("Country"),
    "email": _("Email"),
    "phone": _("Phone"),
    "vat_number": _("VAT number"),
    "coc_number": _("Chamber of Commerce number"),
    "payment_terms_code": _("Payment terms"),
    "currency": _("Currency"),
    "invoice_number": _("Invoice number"),
    "relation_code": _("Relation"),
    "invoice_date": _("Invoice date"),
    "due_date": _("Due date"),
    "journal": _("Journal"),
    "fiscal_year": _("Fiscal year"),
    "period": _("Period"),
    "description": _("Description"),
    "your_ref": _("Your reference"),
    "payment_reference": _("Payment reference"),
    "entry_number": _("Entry number"),
    "entry_date": _("Entry date"),
    "gl_account": _("G/L account"),
    "amount": _("Amount excl. VAT"),
    "vat_code": _("VAT code"),
    "vat_amount": _("VAT amount"),
    "cost_centre": _("Cost centre"),
    "debit": _("Debit"),
    "credit": _("Credit"),
}

KIND_LABEL_OVERRIDES: dict[str, dict[str, Promise]] = {
    "customer": {"code": _("Customer number")},
    "supplier": {"code": _("Supplier number")},
    "sales_invoice": {"relation_code": _("Customer number")},
    "purchase_invoice": {
        "relation_code": _("Supplier number"),
        "your_ref": _("Supplier's invoice number"),
    },
}

HELP: dict[str, Promise] = {
    "short_name": _("Some accounting packages require a short name for every relation."),
    "country": _("Two-letter country code, such as NL or BE."),
    "vat_number": _("For Dutch relations in the form NL999999999B99."),
    "coc_number": _("For Dutch relations the 8 digits of the KvK number."),
    "currency": _("Three-letter currency code, such as EUR."),
    "fiscal_year": _("Leave empty to take the year of the date."),
    "period": _("1 to 13. Leave empty to take the month of the date."),
    "amount": _("Negative on a credit note."),
}

# Checked by a validator rather than a length limit, but the input box still wants one.
_MAX_LENGTH_OVERRIDES = {"country": 2, "currency": 3}


def field_specs(model: type[BaseModel], kind: str, *, skip: frozenset[str]) -> list[FieldSpec]:
    labels = LABELS | KIND_LABEL_OVERRIDES.get(kind, {})
    specs = []
    for name, field in model.model_fields.items():
        if name in skip:
            continue
        base, metadata = _unwrap(field.annotation, list(field.metadata))
        max_length = next((m.max_length for m in metadata if isinstance(m, MaxLen)), None)
        specs.append(
            FieldSpec(
                name=name,
                label=labels[name],
                type=_TYPE_NAMES[base],
                required=field.is_required(),
                max_length=_MAX_LENGTH_OVERRIDES.get(name, max_length),
                help=HELP.get(name),
            )
        )
    return specs


def _unwrap(annotation: Any, metadata: list[Any]) -> tuple[Any, list[Any]]:
    """The plain type under ``Annotated[...]`` and ``... | None``, with the metadata found."""
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation, *extra = get_args(annotation)
            for item in extra:
                metadata.extend(item.metadata if isinstance(item, FieldInfo) else [item])
        elif origin in (Union, types.UnionType):
            annotation = next(arg for arg in get_args(annotation) if arg is not type(None))
        else:
            return annotation, metadata
