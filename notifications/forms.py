from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from notifications.models import Frequency
from notifications.selectors import MemberChoice


class NotificationsForm(forms.Form):
    """The user's mail language, and per company what they want to hear."""

    language = forms.ChoiceField(label=_("Language of the mails"), choices=settings.LANGUAGES)
    assignment_mails = forms.BooleanField(
        label=_("Mail me when someone assigns lines to me"), required=False
    )

    def __init__(self, *args: Any, choices: list[MemberChoice], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.companies = {}
        for choice in choices:
            name = f"company_{choice.membership.company_id}"
            self.fields[name] = forms.ChoiceField(
                label=choice.membership.company.name,
                choices=Frequency.choices,
                initial=choice.frequency,
            )
            self.companies[name] = choice.membership.company


class ExtraRecipientForm(forms.Form):
    email = forms.EmailField(label=_("E-mail address"))
    language = forms.ChoiceField(label=_("Language"), choices=settings.LANGUAGES)
