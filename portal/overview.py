"""The consultant's desk: every integration of every company the user sees, in one table.

Where a member of more than one company lands after login. Reads go through
``portal.selectors``; the user's memberships decide what is listed, never the request.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from integrations.connectors.registry import connector_choices
from portal import selectors

SEARCH_MAX_LENGTH = 100


class OverviewForm(forms.Form):
    q = forms.CharField(label=_("Search company"), required=False, max_length=SEARCH_MAX_LENGTH)
    package = forms.ChoiceField(label=_("Package"), required=False)
    attention = forms.BooleanField(label=_("Needs attention"), required=False)
    mine = forms.BooleanField(label=_("Assigned to me"), required=False)
    sort = forms.ChoiceField(
        required=False, choices=[(key, key) for key in selectors.SORTS], widget=forms.HiddenInput
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        package = self.fields["package"]
        assert isinstance(package, forms.ChoiceField)
        package.choices = [("", _("All packages")), *connector_choices()]

    def wanted(self) -> selectors.OverviewFilter:
        data = self.cleaned_data if self.is_valid() else {}
        return selectors.OverviewFilter(
            attention=bool(data.get("attention")),
            package=data.get("package") or "",
            search=(data.get("q") or "").strip(),
            assigned_to_me=bool(data.get("mine")),
        )

    def query(self, **changes: Any) -> str:
        """The filters as a query string, with ``changes`` applied (None drops a key)."""
        values = {
            name: self.data.get(name, "") for name in ("q", "package", "attention", "mine", "sort")
        }
        values.update(changes)
        query = urlencode({key: value for key, value in values.items() if value})
        return f"?{query}" if query else "?"


COLUMNS = [
    # (sort key or "", label)
    ("company", _("Company")),
    ("", _("Integration")),
    ("", _("Connection")),
    ("last_run", _("Last run")),
    ("failures", _("Open failed lines")),
    ("oldest", _("Oldest open failure")),
    ("", _("Stuck or paused runs")),
    ("", _("Assigned to me")),
]


@require_GET
@vary_on_headers("HX-Request")
@login_required
def overview(request: HttpRequest) -> HttpResponse:
    form = OverviewForm(request.GET)
    wanted = form.wanted()
    sort = (form.cleaned_data.get("sort") if form.is_valid() else "") or "company"
    page = selectors.overview_page(
        user=request.user,  # type: ignore[arg-type]
        sort=sort,
        wanted=wanted,
        after=request.GET.get("after"),
    )
    context = {
        "form": form,
        "page": page,
        "sort": sort,
        "columns": [
            {"key": key, "label": label, "url": form.query(sort=key) if key else ""}
            for key, label in COLUMNS
        ],
        "first_page_url": request.path + form.query(),
        "next_page_url": (
            request.path + form.query(after=page.next_after) if page.next_after else None
        ),
        "is_first_page": not request.GET.get("after"),
    }
    htmx = request.htmx  # type: ignore[attr-defined]
    if htmx and not htmx.history_restore_request:
        return render(request, "portal/overview.html#table", context)
    return render(request, "portal/overview.html", context)
