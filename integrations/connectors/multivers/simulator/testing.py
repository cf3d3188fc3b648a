"""What the shared connector tests need to know of this simulator (no Django).

``LEDGER``: kind -> (the ledger entity a booking lands in, our natural key read from the
body the simulator got); ``NAME_FIELD``: where the body keeps a relation's name;
``KNOBS``: the simulator's settings for the contract tests.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def _field(name: str) -> Callable[[dict[str, Any]], str]:
    return lambda body: str(body.get(name, "")).strip()


LEDGER = {
    "customer": ("Customer", _field("customerId")),
    "supplier": ("Supplier", _field("supplierId")),
    "sales_invoice": ("CustomerInvoice", _field("invoiceId")),
    "purchase_invoice": ("SupplierInvoice", _field("invoiceId")),
    "journal_entry": ("FinTrans", _field("document")),
}
NAME_FIELD = "name"
KNOBS: dict[str, Any] = {}
