from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import LoginView
from django.db import connection
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.views.decorators.http import require_GET

from portal.forms import LoginForm
from portal.models import Membership


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
    """A member of one company goes straight to its integrations; others pick one."""
    memberships = list(_memberships(request)[:2])
    if len(memberships) == 1:
        return redirect("integration_list", company_slug=memberships[0].company.slug)
    return redirect("my_company")


@login_required
def my_company(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/my_company.html", {"memberships": _memberships(request)})


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
