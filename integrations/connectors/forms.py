"""Form pieces every connector's settings and credentials forms are made of."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from django import forms
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from django.utils.functional import _StrPromise


def base_url_field(base_urls: Sequence[str], *, label: str | _StrPromise) -> forms.ChoiceField:
    """A choice of the package's API addresses; the first is the default."""
    return forms.ChoiceField(
        label=label, choices=[(url, url) for url in base_urls], initial=base_urls[0]
    )


class OAuthClientForm(forms.Form):
    """The OAuth2 client the consultant registered with the package (stored encrypted)."""

    client_id = forms.CharField(label=_("Client id"), max_length=200)
    client_secret = forms.CharField(
        label=_("Client secret"), max_length=500, widget=forms.PasswordInput
    )
