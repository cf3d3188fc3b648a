from __future__ import annotations

from functools import cache
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils.text import capfirst
from django.utils.translation import get_language_info


@cache
def _language_buttons() -> tuple[tuple[str, str], ...]:
    """Each language's code and its own name ("Nederlands"): the same for every request,
    so worked out once rather than in every page's header."""
    return tuple(
        (code, capfirst(get_language_info(code)["name_local"])) for code, _ in settings.LANGUAGES
    )


def portal(request: HttpRequest) -> dict[str, Any]:
    """The current membership (set by tenancy.company_view) and the language switcher's
    buttons, for the base template."""
    membership = getattr(request, "membership", None)
    return {
        "membership": membership,
        "company": membership.company if membership else None,
        "language_buttons": _language_buttons(),
    }
