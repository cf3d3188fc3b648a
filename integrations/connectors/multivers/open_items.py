"""Multivers Online's open items: the documented open-invoice lists, one relation a page.

The API reference (docs/connectors.md) lists ``CustomerInfoList`` and
``CustomerInvoiceInfoList/OpenInvoices/{id}`` (and their supplier twins); we read ``{id}``
as the relation's id, as in ``CustomerInfo/{customerId}``, and neither list is paged, so
a "page" here is one relation's open invoices. The fields of an *InvoiceInfo* are not
in the reference we could read: the names below are our choice (camelCase as the rest of
Multivers, dates ``d-m-yyyy``) and live only here, so a correction is one edit.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pydantic

from integrations.connectors.base import OpenItemRow, UnreadableAnswer
from integrations.connectors.open_items import rows_of

if TYPE_CHECKING:
    from collections.abc import Iterator

    from integrations.connectors.multivers.connector import MultiversConnector

# side, the relations' list, its id field, the open invoices' list
LISTS = (
    ("receivable", "CustomerInfoList", "customerId", "CustomerInvoiceInfoList"),
    ("payable", "SupplierInfoList", "supplierId", "SupplierInvoiceInfoList"),
)
CENT = Decimal("0.01")
Amount = pydantic.StrictFloat | pydantic.StrictInt


class InvoiceInfo(pydantic.BaseModel):
    invoiceId: pydantic.StrictStr
    invoiceDate: pydantic.StrictStr | None
    dueDate: pydantic.StrictStr | None
    invoiceAmount: Amount
    openAmount: Amount
    currencyId: pydantic.StrictStr | None = None

    @pydantic.field_validator("invoiceDate", "dueDate")
    @classmethod
    def _dmy(cls, value: str | None) -> str | None:
        if value is not None:
            _date(value)
        return value


def pages(connector: MultiversConnector) -> Iterator[list[OpenItemRow]]:
    """Per side, the relations, then each relation's open invoices (one page each)."""
    for side, relations_list, id_field, invoices_list in LISTS:
        answer = _json(
            connector._call("GET", connector._url(relations_list), kind="", trail=[]),
            where=relations_list,
        )
        if not isinstance(answer, list):
            raise UnreadableAnswer(f"{relations_list}: the answer holds no list of relations.")
        for number, relation in enumerate(answer, start=1):
            code = relation.get(id_field) if isinstance(relation, dict) else None
            if not isinstance(code, str) or not code:
                raise UnreadableAnswer(f"{relations_list}, item {number}: {id_field} is missing.")
            where = f"{invoices_list}/OpenInvoices/{code}"
            response = connector._call(
                "GET", connector._url(invoices_list, "OpenInvoices", code), kind="", trail=[]
            )
            rows = rows_of(InvoiceInfo, _json(response, where=where), where=where)
            yield [_row(side, code, row) for row in rows]


def _json(response: Any, *, where: str) -> Any:
    try:
        return response.json()
    except ValueError:
        raise UnreadableAnswer(f"{where}: the answer is not JSON.") from None


def _row(side: str, relation: str, row: InvoiceInfo) -> OpenItemRow:
    return OpenItemRow(
        side=side,
        package_id=row.invoiceId,
        relation_code=relation,
        invoice_number=row.invoiceId,
        invoice_date=_date(row.invoiceDate),
        due_date=_date(row.dueDate),
        original_amount=abs(Decimal(str(row.invoiceAmount)).quantize(CENT)),
        open_amount=abs(Decimal(str(row.openAmount)).quantize(CENT)),
        currency=row.currencyId or "EUR",
    )


def _date(value: str | None) -> dt.date | None:
    """Multivers writes dates ``d-m-yyyy`` (``15-3-2024``)."""
    if not value:
        return None
    day, month, year = (int(part) for part in value.split("-"))
    return dt.date(year, month, day)
