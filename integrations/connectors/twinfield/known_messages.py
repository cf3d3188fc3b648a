"""Twinfield's messages that people meet again and again, explained.

Keyed on the normalised reason (``runs.reasons.reason_of``: quoted values and numbers
become ``…``), as Twinfield answers a Dutch user; the screens show the explanation under
Twinfield's own message, in the user's language.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from integrations.connectors.base import KnownMessage

CATALOGUE: dict[str, KnownMessage] = {
    "Dimensie … moet altijd worden ingevuld.": KnownMessage(
        _("Every line of a Twinfield transaction needs a G/L account (dimension 1)."),
        _("Fill in the G/L account on the line, or in Reflex 3000 so the next export has it."),
    ),
    "Grootboekrekening '…' bestaat niet.": KnownMessage(
        _("The G/L account does not exist in the Twinfield office."),
        _("Use an existing G/L account, or create it in Twinfield first."),
    ),
    "Kostenplaats '…' bestaat niet.": KnownMessage(
        _("The cost centre does not exist in the Twinfield office."),
        _("Correct the cost centre on the line, or create it in Twinfield."),
    ),
    "Btw-code '…' bestaat niet of is hier niet toegestaan.": KnownMessage(
        _(
            "Twinfield does not know this VAT code, or it belongs to the other side: "
            "sales journals take sales codes (VH, VL, VN), purchase journals purchase codes "
            "(IH, IL, IN)."
        ),
        _("Use a VAT code of the journal's side on the line."),
    ),
    "Debiteur '…' bestaat niet.": KnownMessage(
        _("The customer of this invoice is not known in Twinfield."),
        _("Send the customer first (or create it in Twinfield), then re-offer the line unchanged."),
    ),
    "Crediteur '…' bestaat niet.": KnownMessage(
        _("The supplier of this invoice is not known in Twinfield."),
        _("Send the supplier first (or create it in Twinfield), then re-offer the line unchanged."),
    ),
    "Dimensie op niveau … mag niet worden ingevuld.": KnownMessage(
        _(
            "A cost centre can only be given on a profit-and-loss account, not on a balance account."
        ),
        _("Empty the cost centre on that line, or book it on a profit-and-loss account."),
    ),
    "Periode '…' bestaat niet.": KnownMessage(
        _("Twinfield has no such period open for the entry's date."),
        _("Open the financial year in Twinfield, or correct the date."),
    ),
    "Dagboek '…' bestaat niet.": KnownMessage(
        _("The journal does not exist in the Twinfield office."),
        _("Check the journal code on the line against Twinfield (e.g. VRK, INK, MEMO)."),
    ),
}
