"""Multivers' side of the example records and the demo's faults.

The examples (``integrations.canonical.examples``) are written for an administration whose
journals and accounts are those of the fmuta6 example; the simulator's demo administration
keeps journals V, I and M and the accounts below.
"""

from __future__ import annotations

from typing import Any

from integrations.connectors.base import DemoCompany, DemoFault

# The demo's company on this package (seed_demo).
DEMO_COMPANY = DemoCompany("de-vries", "Bakkerij De Vries BV", "RX001")

JOURNALS = {"sales_invoice": "V", "purchase_invoice": "I", "journal_entry": "M"}
ACCOUNTS = {"4300": "4100", "4500": "4000"}

# The browser flow's two refused lines and what the editor types to fix them.
DEMO_FAULTS = (
    DemoFault(
        "customer", 2, ("short_name",), None, "ShortName is verplicht.", "DEVRIES2", ("shortName",)
    ),
    DemoFault(
        "sales_invoice",
        1,
        ("lines", 0, "vat_code"),
        "7",  # Multivers knows VAT codes 0-6 (simulator/rules.py)
        "Btwcode '7' bestaat niet.",
        "2",
        ("customerInvoiceLines", 0, "vatCodeId"),
    ),
)


def spoil(records: dict[str, list[dict[str, Any]]]) -> None:
    """A few records valid to the portal that Multivers refuses, as it really does."""
    customers, sales = records["customer"], records["sales_invoice"]
    if len(customers) > 2:
        customers[-1].pop("short_name", None)  # "ShortName is verplicht."
        # A British VAT number: fine to the ERP, not to a Dutch package after Brexit.
        customers[-2].update(country="GB", vat_number="GB123456789")
    if sales:
        sales[-1]["lines"][0]["vat_code"] = "9"  # "Btwcode '9' bestaat niet."
