"""The Open items page of an integration, Fetch now, and the schedule's interval."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from integrations.models import Integration
from portal.models import Membership, Role
from portal.tenancy import company_view, get_integration
from runs.models import Run, RunKind, Trigger
from runs.open_items_selectors import open_items_screen
from runs.services.open_items import (
    offers_open_items,
    open_items_import_start,
    open_items_interval_set,
)
from runs.views.requests import HtmxHttpRequest

ITEMS_PER_PAGE = 50
# Longest interval a consultant may set: a week.
MAX_INTERVAL_MINUTES = 7 * 24 * 60


class ScheduleForm(forms.Form):
    interval = forms.IntegerField(
        label=gettext_lazy("Fetch open items every (minutes)"),
        required=False,
        min_value=0,
        max_value=MAX_INTERVAL_MINUTES,
        help_text=gettext_lazy("Empty or 0: only when someone presses Fetch now."),
    )


class FilterForm(forms.Form):
    relation = forms.CharField(label=gettext_lazy("Relation"), required=False, max_length=100)
    after = forms.RegexField(regex=r"^(\d{4}-\d{2}-\d{2})?~\d+$", required=False)


def _open_items_integration(membership: Membership, integration_id: int) -> Integration:
    integration = get_integration(membership, integration_id)
    if not offers_open_items(integration):
        raise Http404("This package offers no open items.")
    return integration


def _page_url(membership: Membership, integration: Integration) -> str:
    return reverse(
        "open_items",
        kwargs={"company_slug": membership.company.slug, "integration_id": integration.pk},
    )


@require_GET
@company_view(Role.VIEWER)
def open_items(
    request: HtmxHttpRequest, membership: Membership, integration_id: int
) -> HttpResponse:
    """Still-open items, overdue first, a page at a time; the last import's state."""
    integration = _open_items_integration(membership, integration_id)
    form = FilterForm(request.GET)
    form.is_valid()
    wanted = form.cleaned_data
    after = None
    if wanted.get("after"):
        due, _sep, last_id = wanted["after"].partition("~")
        after = (due, int(last_id))
    items, following = open_items_screen(
        integration=integration,
        relation=wanted.get("relation", ""),
        after=after,
        limit=ITEMS_PER_PAGE,
    )
    last_import = (
        Run.objects.filter(integration=integration, kind=RunKind.OPEN_ITEMS)
        .order_by("-number")
        .first()
    )
    return render(
        request,
        "runs/open_items.html",
        {
            "integration": integration,
            "form": form,
            "items": items,
            "next_after": f"{following[0]}~{following[1]}" if following else None,
            "relation": wanted.get("relation", ""),
            "last_import": last_import,
            "can_fetch": membership.allows(Role.CONSULTANT),
        },
    )


@require_POST
@company_view(Role.CONSULTANT)
def open_items_fetch(
    request: HtmxHttpRequest, membership: Membership, integration_id: int
) -> HttpResponse:
    """Fetch now: one import, unless one is queued or running already."""
    integration = _open_items_integration(membership, integration_id)
    user = request.user if request.user.is_authenticated else None
    run = open_items_import_start(integration=integration, trigger=Trigger.MANUAL, created_by=user)
    if run is None:
        messages.info(request, _("An import of open items is already under way."))
    else:
        messages.success(
            request, _("Import #%(number)s of open items is queued.") % {"number": run.number}
        )
    return redirect(_page_url(membership, integration))


@require_POST
@company_view(Role.CONSULTANT)
def open_items_schedule(
    request: HtmxHttpRequest, membership: Membership, integration_id: int
) -> HttpResponse:
    """The interval of the schedule, set on the integration's settings page."""
    integration = _open_items_integration(membership, integration_id)
    form = ScheduleForm(request.POST)
    settings_url = reverse(
        "integration_settings",
        kwargs={"company_slug": membership.company.slug, "integration_id": integration.pk},
    )
    if not form.is_valid():
        for problem in form.errors.get("interval", []):
            messages.error(request, _("Interval not saved: %(problem)s") % {"problem": problem})
        return redirect(settings_url)
    open_items_interval_set(integration=integration, minutes=form.cleaned_data["interval"])
    messages.success(request, _("Open items schedule saved."))
    return redirect(settings_url)
