"""What a consultant fills in to connect an Exact Online division."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from integrations.connectors.forms import base_url_field

# One host per country; a division lives on the host of the country it was made in.
BASE_URLS = (
    "https://start.exactonline.nl",
    "https://start.exactonline.be",
    "https://start.exactonline.de",
    "https://start.exactonline.co.uk",
    "https://start.exactonline.com",
)
DEFAULT_SALES_JOURNAL = "70"
DEFAULT_PURCHASE_JOURNAL = "60"
DEFAULT_GENERAL_JOURNAL = "90"


class ExactSettingsForm(forms.Form):
    base_url = base_url_field(BASE_URLS, label=_("Country"))
    division = forms.IntegerField(
        label=_("Division"),
        min_value=1,
        help_text=_("The number Exact Online shows for the administration."),
    )
    sales_journal = forms.CharField(
        label=_("Sales journal"), max_length=10, initial=DEFAULT_SALES_JOURNAL, required=False
    )
    purchase_journal = forms.CharField(
        label=_("Purchase journal"), max_length=10, initial=DEFAULT_PURCHASE_JOURNAL, required=False
    )
    general_journal = forms.CharField(
        label=_("General journal"), max_length=10, initial=DEFAULT_GENERAL_JOURNAL, required=False
    )
