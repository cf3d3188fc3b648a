"""Exact Online's messages that people meet again and again, explained.

Keyed on the normalised reason (``runs.reasons.reason_of``: values taken out), as
Exact answers them; the screens show the explanation under the package's own message.
Sources: integrators' support pages (see ACCOUNTING_APIS.md, "Messages users meet").
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from integrations.connectors.base import KnownMessage

CATALOGUE: dict[str, KnownMessage] = {
    "In use: Document number": KnownMessage(
        _("Exact Online already has an entry with this invoice number in this journal."),
        _(
            "Check in Exact Online whether the invoice was booked already; if so, resolve "
            "the line. If it is another invoice, give it a new number in Reflex 3000."
        ),
    ),
    "Not allowed: VAT code": KnownMessage(
        _("The journal of this entry does not allow VAT, but a line carries a VAT code."),
        _(
            "Empty the VAT code on the lines, or choose a journal with VAT in the "
            "integration's settings."
        ),
    ),
    "Not found: VAT code": KnownMessage(
        _("This VAT code does not exist in the Exact Online division."),
        _("Use a VAT code that exists in Exact Online (Master data > VAT codes)."),
    ),
    "Invalid: Cost center link": KnownMessage(
        _("The cost centre is not linked to this G/L account in Exact Online, or does not exist."),
        _(
            "Link the cost centre to the G/L account in Exact Online, or correct the cost "
            "centre on the line."
        ),
    ),
    "Required: Journal": KnownMessage(
        _("No journal was given for this entry."),
        _("Set the journal in the integration's settings, or fill it in on the line."),
    ),
    "Invalid: Journal": KnownMessage(
        _("The journal does not exist in this division, or is of the wrong type."),
        _("Check the journal codes in the integration's settings against Exact Online."),
    ),
    "Invalid: Customer (Type)": KnownMessage(
        _("The relation exists in Exact Online, but not as a customer."),
        _("Mark the relation as a customer in Exact Online, then re-offer the line unchanged."),
    ),
    "Required: Customer": KnownMessage(
        _("The customer of this invoice is not known in Exact Online."),
        _(
            "Send the customer first (or create it in Exact Online), then re-offer the "
            "line unchanged."
        ),
    ),
    "Unknown: Financial year (Period-date table)": KnownMessage(
        _("Exact Online has no financial year or period for the entry's date."),
        _(
            "Create the financial year in Exact Online (Financial > Financial years), or "
            "correct the entry date."
        ),
    ),
    "Mandatory: Account": KnownMessage(
        _("A line has no G/L account."),
        _("Fill in the G/L account on every line."),
    ),
    "Not found: Account": KnownMessage(
        _("The G/L account does not exist in the Exact Online division."),
        _("Use an existing G/L account, or create it in Exact Online first."),
    ),
}
