from __future__ import annotations

from typing import Any

from django.http import HttpRequest


def portal(request: HttpRequest) -> dict[str, Any]:
    """The current membership (set by tenancy.company_view) for the base template."""
    membership = getattr(request, "membership", None)
    return {
        "membership": membership,
        "company": membership.company if membership else None,
        # Asked only when the top bar is drawn for a signed-in user.
        "has_many_companies": lambda: _has_many_companies(request),
    }


def _has_many_companies(request: HttpRequest) -> bool:
    from portal.models import Membership

    if not request.user.is_authenticated:
        return False
    return Membership.objects.filter(user_id=request.user.pk)[:2].count() > 1
