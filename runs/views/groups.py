"""A reason group: every open failed line of an integration refused for one reason.

From here a person fixes forty lines at once: set one field on all of them (each line
validated pre-flight and stored with its own history), re-offer them unchanged, resolve
them with a reason, or assign them; then Retry. Lines are looked up through the
member's company; the group key only names a reason, never a row.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from integrations.canonical import NATURAL_KEY, line_fields, record_fields
from integrations.models import Integration
from portal.models import Membership, Role
from portal.tenancy import company_view, get_integration
from runs.groups import FailureGroup, failure_group, group_lines
from runs.models import RunLine
from runs.selectors import runs_with_marked_lines
from runs.services.corrections import (
    BulkFieldResult,
    CorrectionError,
    integration_lines_assign,
    integration_lines_reoffer,
    integration_lines_resolve,
    integration_runs_retry,
    lines_set_field,
)
from runs.views.assign import company_members
from runs.views.bulk import bulk_action
from runs.views.requests import HtmxHttpRequest, authenticated

# A group page lists (and its actions take) at most this many lines; a larger group is
# fixed in turns, the page says so.
GROUP_LINES_SHOWN = 500


def _group(
    membership: Membership, integration_id: int, group_key: str
) -> tuple[Integration, FailureGroup]:
    integration = get_integration(membership, integration_id)
    group = failure_group(
        lines=RunLine.objects.open_failures(integration=integration),
        catalogue=integration.connector_class.known_messages(),
        key=group_key,
    )
    if group is None:
        raise Http404("No open failed lines with this reason.")
    return integration, group


def _lines(integration: Integration, group: FailureGroup) -> list[RunLine]:
    lines = group_lines(lines=RunLine.objects.open_failures(integration=integration), group=group)
    return list(
        lines.select_related("run", "assigned_to").defer("payload", "correction")[
            :GROUP_LINES_SHOWN
        ]
    )


def field_choices(kind: str) -> list[tuple[str, str]]:
    """The fields a group's lines can be given one value for; the record's key is not one."""
    key = NATURAL_KEY[kind]
    choices = [(spec.name, str(spec.label)) for spec in record_fields(kind) if spec.name != key]
    choices += [
        (f"lines.*.{spec.name}", _("Lines: %(field)s") % {"field": spec.label})
        for spec in line_fields(kind)
    ]
    return choices


def _url(membership: Membership, integration: Integration, group: FailureGroup) -> str:
    return reverse(
        "failure_group",
        kwargs={
            "company_slug": membership.company.slug,
            "integration_id": integration.pk,
            "group_key": group.key,
        },
    )


def _render(
    request: HtmxHttpRequest,
    membership: Membership,
    integration: Integration,
    group: FailureGroup,
    *,
    result: BulkFieldResult | None = None,
    chosen: dict[str, str] | None = None,
    status: int = 200,
) -> HttpResponse:
    lines = _lines(integration, group)
    line_ids = {line.pk for line in lines}
    marked = [line for line in lines if line.reoffer]
    context = {
        "integration": integration,
        "group": group,
        "lines": lines,
        "capped": group.count > len(lines),
        "marked_count": len(marked),
        "marked_runs": [
            marked_run
            for marked_run in runs_with_marked_lines(integration=integration)
            if any(line.run_id == marked_run.run_id for line in marked)
        ],
        "field_choices": field_choices(group.kind),
        "members": company_members(integration.company_id),
        "can_edit": membership.allows(Role.EDITOR),
        "result": result,
        "chosen": chosen or {"field": group.field_path, "value": ""},
        "group_url": _url(membership, integration, group),
        "line_ids": line_ids,
    }
    return render(request, "runs/failure_group.html", context, status=status)


@require_GET
@company_view(Role.VIEWER)
def failure_group_view(
    request: HtmxHttpRequest, membership: Membership, integration_id: int, group_key: str
) -> HttpResponse:
    integration, group = _group(membership, integration_id, group_key)
    return _render(request, membership, integration, group)


def _versions(request: HtmxHttpRequest) -> dict[int, int]:
    """The lines the page showed, each with the version the person saw."""
    versions = {}
    for value in request.POST.getlist("line"):
        version = request.POST.get(f"version-{value}", "")
        if value.isdigit() and version.isdigit():
            versions[int(value)] = int(version)
    return versions


def _back(membership: Membership, integration: Integration, group: FailureGroup) -> HttpResponse:
    """To the group while it has open lines, else to the integration's open failures."""
    still_open = failure_group(
        lines=RunLine.objects.open_failures(integration=integration),
        catalogue={},
        key=group.key,
    )
    if still_open is not None:
        return redirect(_url(membership, integration, group) + "#changes-ready")
    return redirect(
        "open_failures", company_slug=membership.company.slug, integration_id=integration.pk
    )


@require_POST
@company_view(Role.EDITOR)
def failure_group_set_field(
    request: HtmxHttpRequest, membership: Membership, integration_id: int, group_key: str
) -> HttpResponse:
    """Give every line of the group one value for one field and mark them for re-offer."""
    integration, group = _group(membership, integration_id, group_key)
    field_path = request.POST.get("field", "")
    value = request.POST.get("value", "")
    chosen = {"field": field_path, "value": value}
    if field_path not in dict(field_choices(group.kind)):
        messages.error(request, _("Choose the field to set."))
        return _render(request, membership, integration, group, chosen=chosen, status=400)
    try:
        result = lines_set_field(
            integration=integration,
            versions=_versions(request),
            field_path=field_path,
            value=value,
            user=authenticated(request),
        )
    except CorrectionError as exc:
        messages.error(request, str(exc))
        return _render(request, membership, integration, group, chosen=chosen, status=400)
    if result.applied:
        messages.success(
            request,
            ngettext(
                "%(count)d line changed and marked for re-offer.",
                "%(count)d lines changed and marked for re-offer.",
                len(result.applied),
            )
            % {"count": len(result.applied)},
        )
    if result.invalid or result.stale:
        # The refused lines are listed on the page, each with why: never skipped silently.
        return _render(request, membership, integration, group, result=result, chosen=chosen)
    return _back(membership, integration, group)


@require_POST
@company_view(Role.EDITOR)
def failure_group_bulk(
    request: HtmxHttpRequest, membership: Membership, integration_id: int, group_key: str
) -> HttpResponse:
    """Re-offer every line of the group unchanged, or resolve them all with a reason."""
    integration, group = _group(membership, integration_id, group_key)
    refused = bulk_action(
        request,
        reoffer=lambda ids, user: integration_lines_reoffer(
            integration=integration, line_ids=ids, user=user
        ),
        resolve=lambda ids, user, reason: integration_lines_resolve(
            integration=integration, line_ids=ids, user=user, reason=reason
        ),
    )
    return refused or _back(membership, integration, group)


@require_POST
@company_view(Role.EDITOR)
def failure_group_assign(
    request: HtmxHttpRequest, membership: Membership, integration_id: int, group_key: str
) -> HttpResponse:
    """Assign every line of the group to a member of the company (or to nobody)."""
    integration, group = _group(membership, integration_id, group_key)
    chosen = request.POST.get("assignee", "")
    assignee = None
    if chosen:
        assignee = next(
            (m for m in company_members(integration.company_id) if str(m.pk) == chosen), None
        )
        if assignee is None:
            messages.error(request, _("Lines can only be assigned to a member of the company."))
            return _back(membership, integration, group)
    count = integration_lines_assign(
        integration=integration,
        line_ids=[line.pk for line in _lines(integration, group)],
        assignee=assignee,
        user=authenticated(request),
    )
    if assignee is None:
        text = ngettext("%(count)d line unassigned.", "%(count)d lines unassigned.", count)
    else:
        text = ngettext(
            "%(count)d line assigned to %(user)s.", "%(count)d lines assigned to %(user)s.", count
        )
    messages.success(
        request,
        text % {"count": count, "user": assignee.get_username() if assignee else ""},
    )
    return _back(membership, integration, group)


@require_POST
@company_view(Role.EDITOR)
def failure_group_retry(
    request: HtmxHttpRequest, membership: Membership, integration_id: int, group_key: str
) -> HttpResponse:
    """Retry the runs holding the group's marked lines; show the new run (the first)."""
    integration, group = _group(membership, integration_id, group_key)
    try:
        new_runs = integration_runs_retry(
            integration=integration,
            line_ids=[line.pk for line in _lines(integration, group)],
            user=authenticated(request),
        )
    except CorrectionError as exc:
        messages.warning(request, str(exc))
        return _back(membership, integration, group)
    for new_run in new_runs:
        messages.success(
            request,
            ngettext(
                "Run #%(number)s started with %(count)d line.",
                "Run #%(number)s started with %(count)d lines.",
                new_run.total,
            )
            % {"number": new_run.number, "count": new_run.total},
        )
    return redirect("run_detail", company_slug=membership.company.slug, run_id=new_runs[0].pk)
