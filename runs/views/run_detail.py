"""Run details: the run's facts, live progress, its lines, Retry and the bulk actions."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseStopPolling

from portal.models import Membership, Role
from portal.tenancy import company_view
from runs.groups import failure_groups
from runs.models import Run, RunLine, RunStatus
from runs.selectors import line_row, run_lines_page
from runs.services.corrections import lines_reoffer, lines_resolve
from runs.views.bulk import bulk_action, retry
from runs.views.requests import HtmxHttpRequest
from runs.views.rows import cached_rows

LINES_PER_PAGE = 50
SEARCH_MAX_LENGTH = 100


def _get_run(membership: Membership, run_id: int) -> Run:
    """The run if it belongs to the member's company; 404 otherwise."""
    return get_object_or_404(
        # The run it retried and who started it are seldom set: the page loads one when
        # it is (a query for an empty key is never made). The integration's secrets are
        # not this page's business (decrypting them costs ~0.4 ms).
        Run.objects.select_related("integration").defer("integration__credentials"),
        pk=run_id,
        integration__company=membership.company,
    )


def _history_url(membership: Membership, run: Run) -> str:
    return reverse(
        "run_history",
        kwargs={"company_slug": membership.company.slug, "integration_id": run.integration_id},
    )


def _only_failed(request: HtmxHttpRequest, run: Run) -> bool:
    """The filter form sends failed=0 and, when ticked, failed=1; without it, on iff lines
    failed or are in doubt (the lines a person has to look at)."""
    values = request.GET.getlist("failed")
    if not values:
        return run.failed > 0 or run.in_doubt > 0
    return "1" in values


def _after(request: HtmxHttpRequest) -> int | None:
    value = request.GET.get("after", "")
    return int(value) if value.isdigit() else None


def _lines_context(request: HtmxHttpRequest, membership: Membership, run: Run) -> dict[str, Any]:
    only_failed = _only_failed(request, run)
    # No identifier holds a NUL, and PostgreSQL cannot search for one (a 500).
    search = request.GET.get("q", "").replace("\x00", "").strip()[:SEARCH_MAX_LENGTH]
    after = _after(request)
    page = run_lines_page(
        run=run, only_failed=only_failed, search=search, after_position=after, limit=LINES_PER_PAGE
    )
    base = reverse("run_detail", kwargs={"company_slug": membership.company.slug, "run_id": run.pk})
    query = {"failed": "1" if only_failed else "0", **({"q": search} if search else {})}
    can_edit = membership.allows(Role.EDITOR)
    any_open = page.any_open
    return {
        "run": run,
        "only_failed": only_failed,
        "search": search,
        "page": page,
        "is_first_page": after is None,
        "first_page_url": f"{base}?{urlencode(query)}",
        "next_page_url": (
            f"{base}?{urlencode({**query, 'after': page.next_after})}" if page.next_after else None
        ),
        "can_edit": can_edit,
        "any_open": any_open,
        "rows": cached_rows(
            "runs/_line_row.html",
            page.rows,
            name="line",
            context={"company_slug": membership.company.slug, "selectable": can_edit and any_open},
            build=line_row,
        ),
    }


def _run_context(request: HtmxHttpRequest, membership: Membership, run: Run) -> dict[str, Any]:
    # One pass over the open failures groups them and counts them (and the marked ones).
    groups = failure_groups(
        lines=RunLine.objects.open_failures().filter(run=run),
        catalogue=run.integration.connector_class.known_messages(),
    )
    return {
        "integration": run.integration,
        "groups": groups if groups.lines else None,
        "run": run,
        "marked_count": groups.marked,
        "open_failed_count": groups.lines,
        "history_url": _history_url(membership, run),
        "can_resume": (
            membership.allows(Role.CONSULTANT)
            and run.status == RunStatus.FAILED
            and not run.is_import
            and bool(run.error)
        ),
        **_lines_context(request, membership, run),
    }


@require_GET
@company_view(Role.VIEWER)
def run_detail(request: HtmxHttpRequest, membership: Membership, run_id: int) -> HttpResponse:
    run = _get_run(membership, run_id)
    if request.htmx and not request.htmx.history_restore_request:
        return render(
            request, "runs/run_detail.html#lines", _lines_context(request, membership, run)
        )
    return render(request, "runs/run_detail.html", _run_context(request, membership, run))


@require_GET
@company_view(Role.VIEWER)
def run_progress(request: HtmxHttpRequest, membership: Membership, run_id: int) -> HttpResponse:
    """The progress bar, polled every 2 s while the run moves; 286 stops the polling."""
    run = _get_run(membership, run_id)
    response = render(request, "runs/run_detail.html#progress", {"run": run})
    if run.is_active:
        return response
    stopped = HttpResponseStopPolling(response.content)
    # The lines, counters and banner changed with the run: show the page afresh.
    stopped["HX-Refresh"] = "true"
    return stopped


def _back_to_run(membership: Membership, run: Run) -> HttpResponse:
    return redirect("run_detail", company_slug=membership.company.slug, run_id=run.pk)


@require_POST
@company_view(Role.EDITOR)
def run_retry_view(request: HtmxHttpRequest, membership: Membership, run_id: int) -> HttpResponse:
    run = _get_run(membership, run_id)
    new_run = retry(request, run)
    return _back_to_run(membership, new_run or run)


@require_POST
@company_view(Role.EDITOR)
def lines_bulk(request: HtmxHttpRequest, membership: Membership, run_id: int) -> HttpResponse:
    """Re-offer the selected failed lines unchanged, or resolve them with a reason."""
    run = _get_run(membership, run_id)
    refused = bulk_action(
        request,
        reoffer=lambda ids, user: lines_reoffer(run=run, line_ids=ids, user=user),
        resolve=lambda ids, user, reason: lines_resolve(
            run=run, line_ids=ids, user=user, reason=reason
        ),
    )
    return refused or _back_to_run(membership, run)


@require_POST
@company_view(Role.CONSULTANT)
def run_resume_view(request: HtmxHttpRequest, membership: Membership, run_id: int) -> HttpResponse:
    """Continue a run that stopped on a run-level fault (credentials, package down)."""
    run = _get_run(membership, run_id)
    if run.status != RunStatus.FAILED:
        messages.warning(request, _("Only a run that stopped on an error can be resumed."))
        return _back_to_run(membership, run)
    # The delivery engine is built alongside these screens; import it when needed.
    from runs.services.export import run_resume

    run_resume(run=run)
    messages.success(request, _("Run #%(number)s resumed.") % {"number": run.number})
    return _back_to_run(membership, run)
