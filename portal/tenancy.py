"""Tenancy: the one place that turns a URL's company into a membership, or a 404.

Every company-scoped view takes ``company_slug`` from its URL and is wrapped in
``company_view``; it receives the Membership, and looks every row up through
``membership.company``. A company the user is not a member of answers 404 (never
403: that would tell an outsider the company exists). A member without the role a
view needs gets 403.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404

from integrations.models import Integration
from portal.models import Membership, Role


def get_membership(request: HttpRequest, company_slug: str) -> Membership:
    if not request.user.is_authenticated:
        # An anonymous user is a member of nothing: the same 404 as an unknown company.
        raise Http404("No such company.")
    try:
        return Membership.objects.select_related("company").get(
            user_id=request.user.pk, company__slug=company_slug
        )
    except Membership.DoesNotExist:
        raise Http404("No such company.") from None


def get_integration(membership: Membership, integration_id: int) -> Integration:
    """The integration if it belongs to the member's company, else 404."""
    return get_object_or_404(Integration, pk=integration_id, company=membership.company)


def company_view(role: str = Role.VIEWER) -> Callable[..., Any]:
    """Decorate a view taking (request, membership, **kwargs) behind login and tenancy."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @login_required
        @wraps(view)
        def wrapper(request: HttpRequest, company_slug: str, **kwargs: Any) -> HttpResponse:
            membership = get_membership(request, company_slug)
            if not membership.allows(role):
                raise PermissionDenied
            request.membership = membership  # type: ignore[attr-defined]
            return view(request, membership, **kwargs)

        wrapper.required_role = role  # type: ignore[attr-defined]
        return wrapper

    return decorator
