"""Exact's side of the example records and the demo's faults.

The examples (``integrations.canonical.examples``) are written for the simulator's Exact
division as they are, so nothing is translated; only the demo's faults are Exact's own.
"""

from __future__ import annotations

from typing import Any

from integrations.connectors.base import DemoCompany

# The demo's company on this package (seed_demo).
DEMO_COMPANY = DemoCompany("jansen", "Jansen Transport BV", "RX002")


def spoil(records: dict[str, list[dict[str, Any]]]) -> None:
    """A few records valid to the portal that Exact Online refuses, as it really does."""
    sales = records["sales_invoice"]
    if sales:
        sales[-1]["lines"][0]["gl_account"] = "9999"  # "Not found: Account"
    if len(sales) > 1:
        sales[-2]["lines"][0]["cost_centre"] = "999"  # "Invalid: Cost center link"
    if records["journal_entry"]:
        records["journal_entry"][-1]["lines"][0]["vat_code"] = "1"  # "Not allowed: VAT code"
