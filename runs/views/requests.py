"""The request as these views see it: behind login, with django-htmx's details."""

from __future__ import annotations

from typing import cast

from django.contrib.auth.models import User
from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


def authenticated(request: HttpRequest) -> User:
    """The signed-in user; company_view has already sent anyone else to the login page."""
    return cast(User, request.user)
