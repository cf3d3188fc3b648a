"""The audit log of one company, for its consultants."""

from __future__ import annotations

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from audit.selectors import PAGE_SIZE, audit_events_of_company
from portal.models import Membership, Role
from portal.tenancy import company_view


class _PageForm(forms.Form):
    before = forms.IntegerField(required=False, min_value=1, max_value=2**63 - 1)


@require_GET
@company_view(Role.CONSULTANT)
def audit_log(request: HttpRequest, membership: Membership) -> HttpResponse:
    """Newest first, a page at a time: who did what, when, from where."""
    form = _PageForm(request.GET)
    before = form.cleaned_data.get("before") if form.is_valid() else None
    events = audit_events_of_company(company_id=membership.company.pk, before=before)
    older = events[PAGE_SIZE - 1].pk if len(events) > PAGE_SIZE else None
    context = {"company": membership.company, "events": events[:PAGE_SIZE], "older": older}
    return render(request, "portal/audit_log.html", context)
