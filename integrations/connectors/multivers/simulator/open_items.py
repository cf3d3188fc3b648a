"""Multivers Online's open invoices in the simulator, and the control route for payments.

The documented calls (API reference V19, see docs/connectors.md): ``CustomerInfoList`` and
``SupplierInfoList`` (the relations), ``CustomerInvoiceInfoList/OpenInvoices/{id}`` and
``SupplierInvoiceInfoList/OpenInvoices/{id}`` with ``{id}`` the relation's id*. What is open
follows from what was booked: an invoice's total (its lines' credit less debit for a
customer, debit less credit for a supplier, plus ``vatAmount``) less the payments
registered through ``POST /_sim/payments``; an invoice paid in full leaves the list.
The fields of an *InvoiceInfo* are not confirmed: ``invoiceId``, ``invoiceDate``,
``dueDate`` (invoice date plus the payment condition's days*), ``invoiceAmount``,
``openAmount``, ``currencyId``. Neither list is paged.

Bad answers on purpose (knob ``open_items_fault``): ``missing_field`` leaves ``openAmount``
out of the first invoice, ``wrong_type`` sends it as text; ``empty_next`` does not apply
(nothing is paged) and answers as usual.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from integrations.connectors.multivers.simulator.lookups import in_administration
from integrations.simulators.common import json_body

if TYPE_CHECKING:
    from starlette.requests import Request

    from integrations.connectors.multivers.simulator.app import Administration

# relation entity, its id field, its lines field, which side of a line is the invoice's
SIDES = {
    "Customer": ("customerId", "customerInvoiceLines", "CustomerInvoice", "creditAmount"),
    "Supplier": ("supplierId", "supplierInvoiceLines", "SupplierInvoice", "debitAmount"),
}
SIDE_OF = {"receivable": "Customer", "payable": "Supplier"}
CENT = Decimal("0.01")


def _number(value: Any) -> Decimal:
    return Decimal(str(value)) if value not in (None, "") else Decimal(0)


def invoice_total(relation: str, invoice: dict[str, Any]) -> Decimal:
    _, lines_field, _, positive = SIDES[relation]
    negative = "debitAmount" if positive == "creditAmount" else "creditAmount"
    total = Decimal(0)
    for line in invoice.get(lines_field) or []:
        total += _number(line.get(positive)) - _number(line.get(negative))
        total += abs(_number(line.get("vatAmount")))
    return total.quantize(CENT)


def _paid(admin: Administration) -> dict[str, Decimal]:
    # An administration saved by an older simulator (the demo's state file) has none yet.
    admin.__dict__.setdefault("payments", {})
    return admin.__dict__["payments"]  # type: ignore[no-any-return]


def _dmy(day: dt.date) -> str:
    return f"{day.day}-{day.month}-{day.year}"


def _info(relation: str, invoice: dict[str, Any], left: Decimal) -> dict[str, Any]:
    day, month, year = (int(part) for part in str(invoice["invoiceDate"]).split("-"))
    issued = dt.date(year, month, day)
    days = int(str(invoice.get("paymentConditionId") or 0))
    return {
        "invoiceId": invoice["invoiceId"],
        SIDES[relation][0]: str(invoice[SIDES[relation][0]]),
        "invoiceDate": _dmy(issued),
        "dueDate": _dmy(issued + dt.timedelta(days=days)),
        "invoiceAmount": float(invoice_total(relation, invoice)),
        "openAmount": float(left),
        "currencyId": invoice.get("currencyId") or "EUR",
        "description": invoice.get("reference") or "",
    }


def open_invoices(admin: Administration, relation: str, code: str) -> list[dict[str, Any]]:
    id_field, _, entity, _ = SIDES[relation]
    found = []
    for key, invoice in admin.records[entity].items():
        if str(invoice.get(id_field)) != code:
            continue
        left = invoice_total(relation, invoice) - _paid(admin).get(f"{entity}/{key}", Decimal(0))
        if left > 0:
            found.append(_info(relation, invoice, left))
    return found


def _spoil(rows: list[dict[str, Any]], fault: str | None) -> list[dict[str, Any]]:
    if rows and fault == "missing_field":
        rows[0].pop("openAmount")
    elif rows and fault == "wrong_type":
        rows[0]["openAmount"] = "veel"
    return rows


@in_administration
async def relations(request: Request, admin: Administration) -> Response:
    relation = request.path_params["relation"]
    if relation not in SIDES:
        return _no_resource(request)
    id_field = SIDES[relation][0]
    return JSONResponse(
        [
            {id_field: key, "name": record.get("name", ""), "shortName": record.get("shortName")}
            for key, record in admin.records[relation].items()
        ]
    )


@in_administration
async def invoices(request: Request, admin: Administration) -> Response:
    relation = request.path_params["relation"]
    if relation not in SIDES:
        return _no_resource(request)
    rows = open_invoices(admin, relation, request.path_params["id"])
    return JSONResponse(_spoil(rows, request.app.state.sim.faults.open_items_fault))


def _no_resource(request: Request) -> Response:
    from integrations.connectors.multivers.simulator.app import _no_resource as answer

    return answer(request)


async def payments(request: Request) -> Response:
    """``POST /_sim/payments`` ``{"database", "side", "invoice", "amount"?}`` pays an invoice
    in part, or in full without ``amount``; GET lists payments per administration."""
    administrations = request.app.state.administrations
    if request.method == "GET":
        return JSONResponse(
            {
                code: {key: str(paid) for key, paid in _paid(admin).items()}
                for code, admin in administrations.items()
            }
        )
    body = json_body(await request.body())
    if not isinstance(body, dict):
        return JSONResponse({"error": "send a JSON object"}, status_code=400)
    admin = administrations.get(str(body.get("database") or "MVL00001"))
    relation = SIDE_OF.get(str(body.get("side") or "receivable"))
    if admin is None or relation is None:
        return JSONResponse({"error": "unknown database or side"}, status_code=400)
    entity = SIDES[relation][2]
    invoice = admin.records[entity].get(str(body.get("invoice") or ""))
    if invoice is None:
        return JSONResponse({"error": "no such invoice"}, status_code=404)
    key = f"{entity}/{invoice['invoiceId']}"
    paid = _paid(admin).get(key, Decimal(0))
    left = invoice_total(relation, invoice) - paid
    try:
        amount = _number(body["amount"]) if body.get("amount") is not None else left
    except InvalidOperation:
        return JSONResponse({"error": "amount is not a number"}, status_code=400)
    if amount <= 0 or amount > left:
        return JSONResponse(
            {"error": f"amount must be above 0 and at most {left}"}, status_code=400
        )
    _paid(admin)[key] = paid + amount
    request.app.state.sim.persist()
    return JSONResponse(
        {"invoice": invoice["invoiceId"], "paid": str(paid + amount), "open": str(left - amount)}
    )


def routes(db: str) -> list[Route]:
    """The package's routes, registered before the generic ``{entity}/{id}`` read."""
    return [
        Route(db + "/{relation}InfoList", relations),
        Route(db + "/{relation}InvoiceInfoList/OpenInvoices/{id}", invoices),
    ]
