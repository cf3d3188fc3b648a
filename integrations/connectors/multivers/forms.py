"""What a consultant fills in to connect a Multivers Online administration."""

from __future__ import annotations

from django import forms
from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _

from integrations.connectors.forms import base_url_field

# The hosts Unit4 serves the API on; the version is part of the address.
BASE_URLS = (
    "https://api.online.unit4.nl/V22",
    "https://sandbox.api.online.unit4.nl/V21",
    "https://api.boekhoudgemak.nl/V22",
    "https://api.multivers.nl/V21",
)


class MultiversSettingsForm(forms.Form):
    base_url = base_url_field(BASE_URLS, label=_("API address"))
    database = forms.CharField(
        label=_("Administration (database code)"),
        max_length=16,
        help_text=_("As Multivers lists it, e.g. MVL00001."),
        validators=[
            RegexValidator(
                r"^[A-Za-z]{3}\d{5}$",
                _("A database code is three letters and five digits, e.g. MVL00001."),
            )
        ],
    )

    def clean_database(self) -> str:
        return self.cleaned_data["database"].strip().upper()
