"""Assigning one failed line to a member of its company (a whole group: runs.views.groups)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from portal.models import Membership, Role
from portal.tenancy import company_view
from runs.models import RunLine
from runs.services.corrections import CorrectionError, integration_lines_assign
from runs.views.requests import HtmxHttpRequest, authenticated


def company_members(company_id: int) -> list:
    """Who a line of the company can be assigned to: its members, consultants included."""
    return list(
        get_user_model().objects.filter(memberships__company_id=company_id).order_by("username")
    )


@require_POST
@company_view(Role.EDITOR)
def line_assign(request: HtmxHttpRequest, membership: Membership, line_id: int) -> HttpResponse:
    line = get_object_or_404(
        RunLine.objects.select_related("integration"),
        pk=line_id,
        integration__company=membership.company,
    )
    chosen = request.POST.get("assignee", "")
    assignee = next(
        (m for m in company_members(membership.company_id) if str(m.pk) == chosen), None
    )
    try:
        if chosen and assignee is None:
            raise CorrectionError(_("Lines can only be assigned to a member of the company."))
        changed = integration_lines_assign(
            integration=line.integration,
            line_ids=[line.pk],
            assignee=assignee,
            user=authenticated(request),
        )
    except CorrectionError as exc:
        messages.error(request, str(exc))
    else:
        if changed and assignee is not None:
            messages.success(
                request,
                _("Line %(identifier)s assigned to %(user)s.")
                % {"identifier": line.identifier, "user": assignee.get_username()},
            )
        elif changed:
            messages.success(
                request, _("Line %(identifier)s unassigned.") % {"identifier": line.identifier}
            )
    return redirect("line_detail", company_slug=membership.company.slug, line_id=line.pk)
