"""What the shared connector tests need to know about this simulator.

``LEDGER``: kind → the ledger's entity and our natural key read from the booked body;
``NAME_FIELD``: where that body keeps a relation's name; ``KNOBS``: the simulator's
knobs for the contract tests (none: Twinfield documents no limits we simulate).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def _field(name: str) -> Callable[[dict[str, Any]], str]:
    return lambda body: str(body.get(name, "")).strip()


LEDGER = {
    "customer": ("DEB", _field("code")),
    "supplier": ("CRD", _field("code")),
    "sales_invoice": ("SalesTransaction", _field("invoicenumber")),
    "purchase_invoice": ("PurchaseTransaction", _field("invoicenumber")),
    "journal_entry": ("JournalTransaction", _field("entry_number")),
}
NAME_FIELD = "name"
KNOBS: dict[str, Any] = {}
