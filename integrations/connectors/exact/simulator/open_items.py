"""Exact Online's open items in the simulator: ``read/financial/ReceivablesList`` and
``PayablesList``, and the control route that registers payments.

What is open follows from what was booked: every sales entry is a receivable and every
purchase entry a payable of its total (lines' ``AmountFC`` plus ``VATAmountFC``), less the
payments registered through ``POST /_sim/payments``; an entry paid in full leaves the
list. Rows carry the fields of Exact's reference (docs/connectors.md): ``HID`` (a number
per entry*), ``Id`` (the entry's GUID*), ``AccountCode`` (padded to 18), ``AccountId``,
``AccountName``, ``Amount`` (open; payables negative, as integrators read them*),
``AmountInTransit`` 0, ``CurrencyCode``, ``Description``, ``DueDate`` (the entry's, else
its date*), ``EntryNumber``, ``InvoiceDate``, ``InvoiceNumber`` (0: none sent),
``JournalCode``, ``YourRef``. Pages of 60 through ``__next`` (the knob ``list_page_size``
makes them smaller), ``$select`` as on every list.

Bad answers on purpose (knob ``open_items_fault``): ``missing_field`` leaves
``CurrencyCode`` out of the first row, ``wrong_type`` sends its ``Amount`` as text,
``empty_next`` answers a first page without rows but with a ``__next`` link.
"""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from integrations.connectors.exact.simulator import odata
from integrations.simulators.common import json_body

if TYPE_CHECKING:
    from starlette.requests import Request

    from integrations.connectors.exact.simulator.app import Division

LISTS = {"ReceivablesList": "SalesEntries", "PayablesList": "PurchaseEntries"}
SIDES = {"receivable": "SalesEntries", "payable": "PurchaseEntries"}
FIELDS = frozenset(
    {
        "HID",
        "Id",
        "AccountCode",
        "AccountId",
        "AccountName",
        "Amount",
        "AmountInTransit",
        "CurrencyCode",
        "Description",
        "DueDate",
        "EntryNumber",
        "InvoiceDate",
        "InvoiceNumber",
        "JournalCode",
        "JournalDescription",
        "YourRef",
    }
)
CENT = Decimal("0.01")


def _payments(division: Division) -> dict[str, Decimal]:
    # A division saved by an older simulator (bin/demo's state file) has none yet.
    division.__dict__.setdefault("payments", {})
    return division.payments


def _hid(division: Division, entry_id: str) -> int:
    division.__dict__.setdefault("hids", {})
    return division.hids.setdefault(entry_id, len(division.hids) + 1)


def entry_total(row: dict[str, Any]) -> Decimal:
    lines = row.get("SalesEntryLines") or row.get("PurchaseEntryLines") or {}
    total = Decimal(0)
    for line in lines.get("results", []) if isinstance(lines, dict) else lines:
        for field in ("AmountFC", "VATAmountFC"):
            value = line.get(field)
            if value not in (None, ""):
                total += Decimal(str(value))
    return total.quantize(CENT)


def open_rows(division: Division, resource: str) -> list[dict[str, Any]]:
    """The list's rows, in booking order."""
    payable = resource == "PurchaseEntries"
    relation = "Supplier" if payable else "Customer"
    rows = []
    for entry in division.entries[resource].rows.values():
        left = entry_total(entry) - _payments(division).get(entry["EntryID"], Decimal(0))
        if left <= 0:
            continue
        account = division.accounts.rows.get(str(entry.get(relation) or "").lower(), {})
        date = entry.get("EntryDate")
        rows.append(
            {
                "HID": _hid(division, entry["EntryID"]),
                "Id": entry["EntryID"],
                "AccountCode": account.get("Code", ""),
                "AccountId": entry.get(relation),
                "AccountName": account.get("Name", ""),
                "Amount": float(-left if payable else left),
                "AmountInTransit": 0.0,
                "CurrencyCode": entry.get("Currency") or "EUR",
                "Description": entry.get("Description") or "",
                "DueDate": _odata(entry.get("DueDate")) or date,
                "EntryNumber": entry.get("EntryNumber"),
                "InvoiceDate": date,
                "InvoiceNumber": int(entry.get("InvoiceNumber") or 0),
                "JournalCode": entry.get("Journal"),
                "JournalDescription": "",
                "YourRef": entry.get("YourRef") or "",
            }
        )
    return rows


def _odata(value: Any) -> str | None:
    day = odata.to_date(value) if value not in (None, "") else None
    return odata.from_date(day) if day else None


async def open_items_list(request: Request) -> Response:
    from integrations.connectors.exact.simulator.app import _as_asked, _division

    division = _division(request)
    if isinstance(division, Response):
        return _as_asked(request, division)
    name = request.path_params["list"]
    if name not in LISTS:
        return _as_asked(request, odata.error(404, "Not found"))
    params = dict(request.query_params)
    try:
        odata.parse_select(params.get("$select", ""), FIELDS)
        rows = open_rows(division, LISTS[name])
        url = str(request.url.remove_query_params(list(params)))
        sim = request.app.state.sim
        page = odata.listing(rows, url, params, "Id", page_size=sim.faults.list_page_size)
    except odata.BadQuery as bad:
        return _as_asked(request, odata.error(400, str(bad)))
    return _as_asked(request, _spoil(page, sim.faults.open_items_fault, url, params))


def _spoil(page: JSONResponse, fault: str | None, url: str, params: dict[str, str]) -> Response:
    """The answer as the knob ``open_items_fault`` spoils it (first page only)."""
    if not fault or "$skiptoken" in params:
        return page

    answer = json.loads(bytes(page.body))
    results = answer["d"]["results"]
    if fault == "empty_next":
        answer["d"] = {"results": [], "__next": f"{url}?$skiptoken=guid'{'0' * 32}'"}
    elif results and fault == "missing_field":
        results[0].pop("CurrencyCode", None)
    elif results and fault == "wrong_type":
        results[0]["Amount"] = "veel"
    return JSONResponse(answer)


async def payments(request: Request) -> Response:
    """``POST /_sim/payments`` ``{"division", "side", "invoice", "amount"?}`` pays an entry
    (found by ``YourRef``) in part, or in full without ``amount``; GET lists payments."""
    divisions = request.app.state.divisions
    if request.method == "GET":
        return JSONResponse(
            {
                str(number): {key: str(paid) for key, paid in _payments(division).items()}
                for number, division in divisions.items()
            }
        )
    body = json_body(await request.body())
    if not isinstance(body, dict):
        return JSONResponse({"error": "send a JSON object"}, status_code=400)
    division = divisions.get(int(body.get("division") or 123456))
    resource = SIDES.get(str(body.get("side") or "receivable"))
    if division is None or resource is None:
        return JSONResponse({"error": "unknown division or side"}, status_code=400)
    invoice = str(body.get("invoice") or "")
    entry = next(
        (row for row in division.entries[resource].rows.values() if row.get("YourRef") == invoice),
        None,
    )
    if entry is None:
        return JSONResponse({"error": f"no entry with YourRef {invoice!r}"}, status_code=404)
    paid = _payments(division).get(entry["EntryID"], Decimal(0))
    left = entry_total(entry) - paid
    try:
        amount = Decimal(str(body["amount"])) if body.get("amount") is not None else left
    except InvalidOperation:
        return JSONResponse({"error": "amount is not a number"}, status_code=400)
    if amount <= 0 or amount > left:
        return JSONResponse(
            {"error": f"amount must be above 0 and at most {left}"}, status_code=400
        )
    _payments(division)[entry["EntryID"]] = paid + amount
    request.app.state.sim.persist()
    return JSONResponse(
        {"invoice": invoice, "paid": str(paid + amount), "open": str(left - amount)}
    )


def routes() -> list[Route]:
    return [
        Route("/_sim/payments", payments, methods=["GET", "POST"]),
        Route("/api/v1/{division}/read/financial/{list}", open_items_list),
    ]
