"""What a consultant fills in to connect a Twinfield office."""

from __future__ import annotations

from django import forms
from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _

from integrations.connectors.forms import base_url_field

# Twinfield's login service; the cluster the office lives on comes from the access
# token's claims (``twf.clusterUrl``), never from the consultant.
BASE_URLS = ("https://login.twinfield.com",)
DEFAULT_DEBTORS_ACCOUNT = "1300"
DEFAULT_CREDITORS_ACCOUNT = "1600"
DESTINIES = (
    ("final", _("Final (booked at once)")),
    ("temporary", _("Provisional (to be finalised in Twinfield)")),
)


class TwinfieldSettingsForm(forms.Form):
    base_url = base_url_field(BASE_URLS, label=_("Login service"))
    office = forms.CharField(
        label=_("Office (company code)"),
        max_length=40,
        help_text=_("As Twinfield lists it under Offices, e.g. NLA000001."),
        validators=[
            RegexValidator(
                r"^[A-Za-z0-9_-]+$",
                _("An office code has letters, digits, - and _ only, e.g. NLA000001."),
            )
        ],
    )
    destiny = forms.ChoiceField(label=_("Book transactions as"), choices=DESTINIES, initial="final")
    debtors_account = forms.CharField(
        label=_("Debtors account"),
        max_length=16,
        initial=DEFAULT_DEBTORS_ACCOUNT,
        help_text=_("The balance-sheet account a sales invoice's total is booked on."),
    )
    creditors_account = forms.CharField(
        label=_("Creditors account"),
        max_length=16,
        initial=DEFAULT_CREDITORS_ACCOUNT,
        help_text=_("The balance-sheet account a purchase invoice's total is booked on."),
    )

    def clean_office(self) -> str:
        return self.cleaned_data["office"].strip().upper()
