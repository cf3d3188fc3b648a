"""Open failures: every failed line of an integration nobody re-offered or resolved yet,
and above them the lines in doubt, which wait for a person too.

The same bulk actions as run details (re-offer unchanged, resolve with a reason), across
runs; Retry stays per run, since it makes one new run per old run.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers

from integrations.models import Integration
from portal.models import Membership, Role
from portal.tenancy import company_view, get_integration
from runs.groups import failure_groups
from runs.models import Run, RunLine
from runs.selectors import (
    lines_in_doubt_of,
    open_failures_page,
    runs_with_marked_lines,
)
from runs.services.corrections import (
    integration_lines_reoffer,
    integration_lines_resolve,
)
from runs.views.bulk import bulk_action, retry
from runs.views.requests import HtmxHttpRequest

LINES_PER_PAGE = 50


def _after(request: HtmxHttpRequest) -> tuple[int, int] | None:
    """``after=12-340``: continue after run #12, position 340."""
    number, _dash, position = request.GET.get("after", "").partition("-")
    if number.isdigit() and position.isdigit():
        return int(number), int(position)
    return None


def _page_url(
    membership: Membership, integration: Integration, after: tuple[int, int] | None = None
) -> str:
    url = reverse(
        "open_failures",
        kwargs={"company_slug": membership.company.slug, "integration_id": integration.pk},
    )
    if after is None:
        return url
    number, position = after
    return f"{url}?{urlencode({'after': f'{number}-{position}'})}"


@require_GET
@vary_on_headers("HX-Request")
@company_view(Role.VIEWER)
def open_failures(
    request: HtmxHttpRequest, membership: Membership, integration_id: int
) -> HttpResponse:
    integration = get_integration(membership, integration_id)
    after = _after(request)
    assigned_to = request.user if request.GET.get("assigned") == "me" else None
    page = open_failures_page(
        integration=integration, after=after, limit=LINES_PER_PAGE, assigned_to=assigned_to
    )
    context: dict[str, Any] = {
        "integration": integration,
        "page": page,
        "is_first_page": after is None,
        "first_page_url": _page_url(membership, integration),
        "next_page_url": (
            _page_url(membership, integration, page.next_after) if page.next_after else None
        ),
        "can_edit": membership.allows(Role.EDITOR),
        "only_mine": assigned_to is not None,
    }
    if request.htmx and not request.htmx.history_restore_request:
        return render(request, "runs/open_failures.html#failures", context)
    context["groups"] = groups = failure_groups(
        lines=RunLine.objects.open_failures(integration=integration),
        catalogue=integration.connector_class.known_messages(),
    )
    context["open_count"] = groups.lines  # counted in the groups' pass
    context["marked_runs"] = runs_with_marked_lines(integration=integration)
    # Not failed, but waiting for a person all the same: booked in the package or not?
    context["in_doubt"] = lines_in_doubt_of(integration=integration, assigned_to=assigned_to)
    return render(request, "runs/open_failures.html", context)


def _back(membership: Membership, integration: Integration) -> HttpResponse:
    return redirect(_page_url(membership, integration))


@require_POST
@company_view(Role.EDITOR)
def open_failures_bulk(
    request: HtmxHttpRequest, membership: Membership, integration_id: int
) -> HttpResponse:
    """Re-offer the selected lines unchanged, or resolve them with a reason, whatever their run."""
    integration = get_integration(membership, integration_id)
    refused = bulk_action(
        request,
        reoffer=lambda ids, user: integration_lines_reoffer(
            integration=integration, line_ids=ids, user=user
        ),
        resolve=lambda ids, user, reason: integration_lines_resolve(
            integration=integration, line_ids=ids, user=user, reason=reason
        ),
    )
    return refused or _back(membership, integration)


@require_POST
@company_view(Role.EDITOR)
def open_failures_retry(
    request: HtmxHttpRequest, membership: Membership, integration_id: int
) -> HttpResponse:
    """Retry one run's marked lines and come back here, for the next run in the list."""
    integration = get_integration(membership, integration_id)
    run_id = request.POST.get("run", "")
    run = get_object_or_404(Run, pk=int(run_id) if run_id.isdigit() else 0, integration=integration)
    retry(request, run)
    return _back(membership, integration)
