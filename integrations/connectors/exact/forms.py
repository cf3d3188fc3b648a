"""What a consultant fills in to connect an Exact Online division."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

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
    base_url = forms.ChoiceField(
        label=_("Country"), choices=[(url, url) for url in BASE_URLS], initial=BASE_URLS[0]
    )
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


class ExactCredentialsForm(forms.Form):
    client_id = forms.CharField(label=_("Client id"), max_length=200)
    client_secret = forms.CharField(
        label=_("Client secret"), max_length=500, widget=forms.PasswordInput
    )
