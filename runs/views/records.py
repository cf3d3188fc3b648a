"""Find a record across runs: did invoice VF2025-000123 reach the package, and when?"""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from portal.models import Membership, Role
from portal.tenancy import company_view, get_integration
from runs.selectors import RECORDS_SHOWN, record_search
from runs.views.requests import HtmxHttpRequest

# The identifier column's length: a longer query cannot match anything.
QUERY_MAX_LENGTH = 100


@require_GET
@vary_on_headers("HX-Request")
@company_view(Role.VIEWER)
def record_search_view(
    request: HtmxHttpRequest, membership: Membership, integration_id: int
) -> HttpResponse:
    """Records whose identifier is the query or starts with it, each with its latest offers."""
    integration = get_integration(membership, integration_id)
    # No identifier holds a NUL, and PostgreSQL cannot search for one (a 500).
    query = request.GET.get("q", "").replace("\x00", "").strip()[:QUERY_MAX_LENGTH]
    context = {
        "integration": integration,
        "query": query,
        "search": (
            record_search(integration=integration, query=query, limit=RECORDS_SHOWN)
            if query
            else None
        ),
        "records_shown": RECORDS_SHOWN,
    }
    if request.htmx and not request.htmx.history_restore_request:
        return render(request, "runs/record_search.html#results", context)
    return render(request, "runs/record_search.html", context)
