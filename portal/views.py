from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import LoginView
from django.db import connection
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.views.decorators.http import require_GET

from portal.forms import LoginForm
from portal.models import Membership, Role
from portal.selectors import overview_page


def _memberships(request: HttpRequest) -> QuerySet[Membership]:
    if not request.user.is_authenticated:
        return Membership.objects.none()
    return (
        Membership.objects.filter(user_id=request.user.pk)
        .select_related("company")
        .order_by("company__name")
    )


class PortalLoginView(LoginView):
    """Django's login; without "Keep me logged in" the session ends with the browser."""

    authentication_form = LoginForm
    redirect_authenticated_user = True

    def form_valid(self, form: LoginForm) -> HttpResponse:  # type: ignore[override]
        response = super().form_valid(form)
        if not form.cleaned_data.get("remember"):
            # Expiry 0: a cookie without max-age, for shared machines. The idle limit
            # (SESSION_COOKIE_AGE, refreshed by SessionActivityMiddleware) holds either way.
            self.request.session.set_expiry(0)
        return response


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """A member of several companies lands on the overview of them all; others on My
    company, which shows their connections and offers Integrations (the manual's path)."""
    if len(_memberships(request)[:2]) > 1:
        return redirect("overview")
    return redirect("my_company")


@require_GET
@login_required
def my_company(request: HttpRequest) -> HttpResponse:
    """Each of the user's companies with its connections, and Integrations to monitor them."""
    page = overview_page(
        user=request.user,  # type: ignore[arg-type]
        sort="company",
        after=request.GET.get("after"),
    )
    memberships = {m.company_id: m for m in _memberships(request)}
    companies: dict[int, dict[str, Any]] = {}
    for row in page.rows:
        membership = memberships.get(row.company.pk)
        entry = companies.setdefault(
            row.company.pk,
            {
                "company": row.company,
                "role": membership.get_role_display() if membership else None,
                "consultant": membership is not None and membership.role == Role.CONSULTANT,
                "rows": [],
            },
        )
        entry["rows"].append(row)
    context = {
        "companies": list(companies.values()),
        # Companies without an integration yet are listed too, by name only.
        "bare": [m for m in _memberships(request) if m.company_id not in companies]
        if page.next_after is None
        else [],
        "page": page,
        "is_first_page": not request.GET.get("after"),
        "first_page_url": request.path,
        "next_page_url": f"{request.path}?{urlencode({'after': page.next_after})}"
        if page.next_after
        else None,
    }
    return render(request, "portal/my_company.html", context)


@require_GET
def healthz(request: HttpRequest) -> HttpResponse:
    """For load balancers and docker-compose: the database answers."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


@require_GET
def favicon(request: HttpRequest) -> HttpResponse:
    """Browsers ask for /favicon.ico on pages without our icon link, such as the admin."""
    # Resolved per request: the hashed name exists only once collectstatic has run.
    return redirect(static("img/favicon.svg"), permanent=True)
