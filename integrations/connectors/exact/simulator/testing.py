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


def _first_line(name: str) -> Callable[[dict[str, Any]], str]:
    return lambda body: str(body["GeneralJournalEntryLines"][0].get(name, ""))


LEDGER = {
    "customer": ("Account", _field("Code")),
    "supplier": ("Account", _field("Code")),
    "sales_invoice": ("SalesEntry", _field("YourRef")),
    "purchase_invoice": ("PurchaseEntry", _field("YourRef")),
    "journal_entry": ("GeneralJournalEntry", _first_line("Notes")),
}
NAME_FIELD = "Name"
# The contract tests book far more than Exact's 60 calls a minute.
KNOBS: dict[str, Any] = {"rate_limit_per_minute": 6000}
