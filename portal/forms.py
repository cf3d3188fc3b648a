"""The login form, with the length limits Django's own form only shows."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.core.validators import MaxLengthValidator
from django.utils.translation import gettext_lazy as _

# Far above any password a person types, far below what costs a hasher real time.
PASSWORD_MAX_LENGTH = 1024


class _LengthLimits(AuthenticationForm):
    """An ``AuthenticationForm`` that refuses an over-long username before ``authenticate``.

    Django sets the username's ``max_length`` after the field is built, so it becomes
    the input's ``maxlength`` attribute but never a validator: a 50 MB username reached
    ``authenticate`` and, through django-axes, the lockout table (SQLite does not check
    ``varchar`` lengths). A field that fails validation never reaches ``authenticate``.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        username = self.fields["username"]
        assert isinstance(username, forms.CharField) and username.max_length
        username.validators.append(MaxLengthValidator(username.max_length))
        password = self.fields["password"]
        assert isinstance(password, forms.CharField)
        password.max_length = PASSWORD_MAX_LENGTH
        password.validators.append(MaxLengthValidator(PASSWORD_MAX_LENGTH))


class LoginForm(_LengthLimits):
    """The portal's login, with the choice to stay logged in after the browser closes."""

    remember = forms.BooleanField(
        label=_("Keep me logged in"),
        required=False,
        help_text=_(
            "Not on a shared computer: without it you are logged out when the browser closes."
        ),
        widget=forms.CheckboxInput(attrs={"aria-describedby": "remember-help"}),
    )


class AdminLoginForm(_LengthLimits, AdminAuthenticationForm):
    """The Django admin's login, behind the same limits."""
