"""The portal's URLs plus two reference views, behind the same middleware, session and login.

``/bench/bare/`` answers "ok": what a page costs beyond the framework is its rate
against this view's (bench/pages.py). ``/bench/<company_slug>/tenancy/<integration_id>/``
answers "ok" after the look-ups every company page makes before it reads anything of
its own (the membership, then the integration): the floor a page of the portal stands on.
"""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.urls import path

from portal.models import Membership
from portal.tenancy import company_view, get_integration
from portal.urls import urlpatterns as portal_urlpatterns


@login_required
def bare(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok", content_type="text/plain")


@company_view()
def tenancy(request: HttpRequest, membership: Membership, integration_id: int) -> HttpResponse:
    get_integration(membership, integration_id)
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [
    path("bench/bare/", bare, name="bench_bare"),
    path("bench/<slug:company_slug>/tenancy/<int:integration_id>/", tenancy),
    *portal_urlpatterns,
]
