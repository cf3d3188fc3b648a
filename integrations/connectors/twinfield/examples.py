"""Twinfield's side of the demo and test examples: its journals, and records it refuses.

The canonical examples (``integrations.canonical.examples``) are written for a division
with journals 70/60/90; a Twinfield office books on journal codes (VRK, INK and MEMO in
Twinfield's and php-twinfield's examples). Its G/L accounts are four-digit codes like the
examples', so they need no translation.
"""

from __future__ import annotations

from typing import Any

from integrations.connectors.base import DemoFault

EXAMPLE_JOURNALS = {"sales_invoice": "VRK", "purchase_invoice": "INK", "journal_entry": "MEMO"}
EXAMPLE_ACCOUNTS: dict[str, str] = {}

# The browser flow's two refused lines, what the editor types to fix them, and where the
# simulator's ledger keeps the corrected value (the first detail line; Twinfield books
# our VAT code 2 on a sales journal as its own "VL").
DEMO_FAULTS = (
    DemoFault(
        "sales_invoice",
        0,
        ("lines", 0, "gl_account"),
        "9999",  # outside the office's chart (simulator/rules.py gl_account_ok)
        "Grootboekrekening '9999' bestaat niet.",
        "8000",
        ("lines", 0, "dim1"),
    ),
    DemoFault(
        "sales_invoice",
        1,
        ("lines", 0, "vat_code"),
        "IH",  # a purchase VAT code on a sales journal
        "Btw-code 'IH' bestaat niet of is hier niet toegestaan.",
        "2",
        ("lines", 0, "vatcode"),
        "VL",
    ),
)


def spoil_examples(records: dict[str, list[dict[str, Any]]]) -> None:
    """A few records valid to the portal that Twinfield refuses, as it really does."""
    sales, entries = records.get("sales_invoice", []), records.get("journal_entry", [])
    if sales:
        sales[-1]["lines"][0]["vat_code"] = "IH"  # a purchase VAT code on a sales journal
    if len(sales) > 1:
        sales[-2]["lines"][0]["gl_account"] = "9999"  # "Grootboekrekening '9999' bestaat niet."
    if entries:
        entries[-1]["lines"][0]["cost_centre"] = "999"  # "Kostenplaats '999' bestaat niet."
