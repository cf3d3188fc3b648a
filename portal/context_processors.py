from __future__ import annotations

from typing import Any

from django.http import HttpRequest


def portal(request: HttpRequest) -> dict[str, Any]:
    """The current membership (set by tenancy.company_view) for the base template."""
    membership = getattr(request, "membership", None)
    return {
        "membership": membership,
        "company": membership.company if membership else None,
    }
