"""Exact Online's open items: ``read/financial/ReceivablesList`` and ``PayablesList``.

Both lists have the same fields (Exact's API reference, "ReadFinancialReceivablesList" and
"ReadFinancialPayablesList"; docs/connectors.md cites them): ``HID`` (the key),
``AccountCode``, ``Amount`` (what is still open), ``CurrencyCode``, ``DueDate``,
``InvoiceDate``, ``InvoiceNumber`` (Exact's own number, 0 when there is none) and
``YourRef`` (the invoice number we booked the entry with). They page like every Exact
list, through ``__next``. Exact lists no original amount here.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pydantic

from integrations.connectors.base import OpenItemRow, UnreadableAnswer
from integrations.connectors.open_items import rows_of

if TYPE_CHECKING:
    from collections.abc import Iterator

    from integrations.connectors.exact.connector import ExactConnector

LISTS = (
    ("receivable", "read/financial/ReceivablesList"),
    ("payable", "read/financial/PayablesList"),
)
SELECT = "HID,AccountCode,Amount,CurrencyCode,DueDate,InvoiceDate,InvoiceNumber,YourRef"
_ODATA_DATE = re.compile(r"^/Date\((-?\d+)\)/$")
CENT = Decimal("0.01")


class ExactOpenItem(pydantic.BaseModel):
    HID: pydantic.StrictInt
    AccountCode: pydantic.StrictStr
    Amount: pydantic.StrictFloat | pydantic.StrictInt
    CurrencyCode: pydantic.StrictStr
    DueDate: pydantic.StrictStr | None
    InvoiceDate: pydantic.StrictStr | None
    InvoiceNumber: pydantic.StrictInt | None
    YourRef: pydantic.StrictStr | None

    @pydantic.field_validator("DueDate", "InvoiceDate")
    @classmethod
    def _odata_date(cls, value: str | None) -> str | None:
        if value is not None and not _ODATA_DATE.match(value):
            raise ValueError(f"not an OData date: {value!r}")
        return value


def pages(connector: ExactConnector) -> Iterator[list[OpenItemRow]]:
    """Each page of both lists, receivables first, as Exact hands them out."""
    for side, path in LISTS:
        url: str | None = connector._url(path)
        params: dict[str, str] | None = {"$select": SELECT}
        number = 0
        while url:
            number += 1
            response = connector._call("GET", url, kind="", trail=[], params=params)
            results, following = _page(response.json, where=f"{path}, page {number}")
            rows = rows_of(ExactOpenItem, results, where=f"{path}, page {number}")
            if not rows and following:
                raise UnreadableAnswer(
                    f"{path}, page {number}: an empty page with a link to a next one."
                )
            yield [_row(side, row) for row in rows]
            # __next carries the whole query (and the $skiptoken), already encoded.
            url, params = following, None


def _page(read: Any, *, where: str) -> tuple[Any, str | None]:
    try:
        answer = read()
    except ValueError:
        raise UnreadableAnswer(f"{where}: the answer is not JSON.") from None
    inner = answer.get("d") if isinstance(answer, dict) else None
    if not isinstance(inner, dict) or "results" not in inner:
        raise UnreadableAnswer(f"{where}: the answer holds no d.results list.")
    following = inner.get("__next")
    return inner["results"], str(following) if following else None


def _row(side: str, row: ExactOpenItem) -> OpenItemRow:
    amount = Decimal(str(row.Amount)).quantize(CENT)
    return OpenItemRow(
        side=side,
        package_id=str(row.HID),
        relation_code=row.AccountCode.strip(),  # Exact pads codes to 18 characters
        invoice_number=(row.YourRef or "").strip() or str(row.InvoiceNumber or ""),
        invoice_date=_date(row.InvoiceDate),
        due_date=_date(row.DueDate),
        original_amount=None,
        # Payables come back negative (what we owe); the snapshot keeps what is open.
        open_amount=abs(amount),
        currency=row.CurrencyCode,
    )


def _date(value: str | None) -> dt.date | None:
    match = _ODATA_DATE.match(value or "")
    if match is None:
        return None
    return dt.datetime.fromtimestamp(int(match.group(1)) / 1000, tz=dt.UTC).date()
