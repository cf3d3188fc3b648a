"""Multivers Online's messages that people meet again and again, explained.

Keyed on the normalised reason (``runs.reasons.reason_of``: quoted values and numbers
become ``…``), as Multivers answers them, in Dutch; the screens show the explanation
under the package's own message, in the user's language.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from integrations.connectors.base import KnownMessage

CATALOGUE: dict[str, KnownMessage] = {
    "ShortName is verplicht.": KnownMessage(
        _("Multivers needs a short name (search name) for every relation."),
        _("Fill in the short name on the line, or in Reflex 3000 so the next export has it."),
    ),
    (
        "Btwnummer '…' is niet geldig. Het btw-nummer voldoet niet aan de … "
        "en moet de vorm … hebben."
    ): KnownMessage(
        _(
            "The VAT number fails the Dutch check: it must be NL, nine digits, B and two "
            "digits (14 characters, the 12th always B), e.g. NL000099998B57."
        ),
        _("Correct the VAT number on the line, or empty it if the relation has none."),
    ),
    "Journaalcode mag niet gewijzigd worden.": KnownMessage(
        _("The relation already has open entries, so Multivers will not change its journal code."),
        _("Send the relation with the journal code it has in Multivers."),
    ),
    "Btwcode '…' bestaat niet.": KnownMessage(
        _("This VAT code does not exist in the Multivers administration."),
        _("Use a VAT code that exists in Multivers (e.g. 1 high, 2 low, 0 none)."),
    ),
    "Grootboekrekening '…' bestaat niet.": KnownMessage(
        _("The G/L account does not exist in the Multivers administration."),
        _("Use an existing G/L account, or create it in Multivers first."),
    ),
    "Kostenplaats '…' bestaat niet.": KnownMessage(
        _("The cost centre does not exist in the Multivers administration."),
        _("Correct the cost centre on the line, or create it in Multivers."),
    ),
    "Dagboek '…' bestaat niet.": KnownMessage(
        _("The journal does not exist in the Multivers administration."),
        _("Check the journal code on the line against Multivers."),
    ),
    "Boekjaar '…' bestaat niet.": KnownMessage(
        _("Multivers has no financial year for the entry's date."),
        _("Open the financial year in Multivers, or correct the entry date."),
    ),
    "Klant '…' bestaat niet.": KnownMessage(
        _("The customer of this invoice is not known in Multivers."),
        _("Send the customer first (or create it in Multivers), then re-offer the line unchanged."),
    ),
}
