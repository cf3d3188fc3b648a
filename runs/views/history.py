"""Integrations (the company's summary) and History (the runs of one integration)."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import HttpResponseStopPolling

from portal.models import Membership, Role
from portal.tenancy import company_view, get_integration
from runs import selectors
from runs.views.rows import cached_content, cached_rows


@require_GET
@company_view()
def integration_list(request: HttpRequest, membership: Membership) -> HttpResponse:
    context = {
        "summaries": selectors.integration_summaries(company=membership.company),
        "chart_runs": selectors.CHART_RUNS,
        "may_configure": membership.allows(Role.CONSULTANT),
    }
    return render(request, "integrations/integration_list.html", context)


# Dates outside these overflow when a day is added or the time zone applied (a 500 on
# ?date_to=9999-12-31); no run is that old or that new, so they are a form error.
_DATE_RANGE = [MinValueValidator(dt.date(1900, 1, 1)), MaxValueValidator(dt.date(9998, 12, 31))]


class HistoryFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Runs"),
        required=False,
        choices=[
            (selectors.HistoryFilter.ALL, _("All runs")),
            (selectors.HistoryFilter.ERRORS, _("With errors")),
            (selectors.HistoryFilter.RUNNING, _("Running or queued")),
        ],
    )
    date_from = forms.DateField(
        label=_("From"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        validators=_DATE_RANGE,
    )
    date_to = forms.DateField(
        label=_("To"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        validators=_DATE_RANGE,
    )
    before = forms.IntegerField(
        required=False, min_value=1, max_value=2**63 - 1, widget=forms.HiddenInput
    )

    def query(self, **changes: Any) -> str:
        """The filters as a query string ("?status=errors&…"), with ``changes`` applied."""
        values = {
            name: self.data.get(name, "")
            for name in ("status", "date_from", "date_to")
            if not self.errors.get(name)
        }
        values.update(changes)
        query = urlencode({key: value for key, value in values.items() if value})
        return f"?{query}" if query else ""


# History's content inside the base template, and the row it draws each run with.
CONTENT_TEMPLATE = "integrations/_run_history.html"
ROW_TEMPLATE = "integrations/_run_row.html"


@require_GET
@vary_on_headers("HX-Request")
@company_view()
def run_history(request: HttpRequest, membership: Membership, integration_id: int) -> HttpResponse:
    """Newest first, a page at a time by run number; the table polls while runs are active.

    A page whose runs are all finished is kept whole (``cached_content``) and served again
    as long as none of its runs changed: the request then reads only the runs' versions.
    """
    integration = get_integration(membership, integration_id)
    form = HistoryFilterForm(request.GET)
    form.is_valid()
    # A bad value (a mistyped date) is reported and ignored; the valid ones still apply.
    wanted = form.cleaned_data
    filters: dict[str, Any] = {
        "status": wanted.get("status") or selectors.HistoryFilter.ALL,
        "date_from": wanted.get("date_from"),
        "date_to": wanted.get("date_to"),
        "before": wanted.get("before"),
    }

    def content_context() -> dict[str, Any]:
        page = selectors.run_history(integration=integration, **filters)
        return {
            "integration": integration,
            "form": form,
            "page": page,
            # A finished run's row is rendered once and kept; an active one's moves by itself.
            "rows": cached_rows(
                ROW_TEMPLATE,
                page.rows,
                name="run",
                context={"company_slug": membership.company.slug},
                fresh=selectors.history_row_active,
                build=selectors.history_run,
            ),
            "newest_url": request.path + form.query(),
            "older_url": (
                request.path + form.query(before=page.older_before) if page.older_before else None
            ),
        }

    htmx = request.htmx  # type: ignore[attr-defined]
    if htmx and not htmx.history_restore_request:
        context = content_context()
        fragment = f"{CONTENT_TEMPLATE}#runs"
        if htmx.trigger == "runs" and not context["page"].any_active:
            # The poll that sees the last run end: show it and tell htmx to stop polling.
            return HttpResponseStopPolling(render_to_string(fragment, context, request=request))
        return render(request, fragment, context)

    def render_content() -> str:
        context = content_context()
        context["prunings"] = selectors.prunings_of(integration=integration)
        context["retention_days"] = settings.RETENTION_DAYS
        return render_to_string(CONTENT_TEMPLATE, context, request=request)

    versions = selectors.history_versions(integration=integration, **filters)
    if versions is None or any(active for *_, active in versions):
        # An active run's elapsed time moves without a write: such a page is never kept.
        content = mark_safe(render_content())  # noqa: S308 - our own template's output
    else:
        content = cached_content(
            CONTENT_TEMPLATE,
            includes=[ROW_TEMPLATE],
            state=(
                versions,
                # The filters as typed (a bad date is shown back), and no other parameter:
                # a query string of its own must not make a page of its own.
                request.path,
                [request.GET.get(name, "") for name in HistoryFilterForm.base_fields],
                membership.company.slug,
                membership.role,
                (integration.pk, integration.name, integration.connector),
                settings.RETENTION_DAYS,
            ),
            render=render_content,
        )
    return render(
        request, "integrations/run_history.html", {"integration": integration, "content": content}
    )
