"""Line details: why the line failed, its record as a form to correct, and its history."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods
from django_htmx.http import HttpResponseClientRedirect

from integrations.wording import localize
from portal.models import Membership, Role
from portal.tenancy import company_view
from runs.forms import path_label, record_form, record_from_post
from runs.models import LineEdit, LineStatus, RunLine
from runs.reasons import known_messages_of
from runs.selectors import line_history
from runs.services.corrections import (
    CorrectionError,
    CorrectionInvalid,
    LineNotOpen,
    StaleEdit,
    flatten,
    line_correct,
)
from runs.services.in_doubt import line_mark_booked, line_offer_again
from runs.views.assign import company_members
from runs.views.requests import HtmxHttpRequest, authenticated

# A package's answer can be large; the screen shows its start.
BODY_DISPLAY_LIMIT = 20_000


def _get_line(membership: Membership, line_id: int) -> RunLine:
    """The line if it belongs to the member's company; 404 otherwise."""
    return get_object_or_404(
        # Two joins, not seven: PostgreSQL took ~5 ms to plan the line with its three
        # people and the run it was re-offered in joined, against 0.4 ms to run it. Those
        # are seldom set; one that is costs a query when the page shows it, and an empty
        # one none. (prefetch_related made the same queries and cost ~2 ms more per page
        # for the four empty keys of a usual failed line.)
        RunLine.objects.select_related("run__integration")
        # A page view has no business decrypting the integration's secrets (~0.4 ms).
        .defer("run__integration__credentials"),
        pk=line_id,
        run__integration__company=membership.company,
    )


def _body(body: Any) -> str:
    text = body if isinstance(body, str) else json.dumps(body, indent=2, ensure_ascii=False)
    if len(text) > BODY_DISPLAY_LIMIT:
        return text[:BODY_DISPLAY_LIMIT] + "\n" + _("… (cut off)")
    return text


def _exchanges(attempt: Any) -> list[dict[str, Any]]:
    return [
        {
            "method": exchange.get("method", ""),
            "url": exchange.get("url", ""),
            "status": exchange.get("status", ""),
            "duration_ms": exchange.get("duration_ms"),
            "request_body": _body(exchange.get("request_body", "")),
            "response_body": _body(exchange.get("response_body", "")),
        }
        for exchange in attempt.exchanges or []
        if isinstance(exchange, dict)
    ]


# What the edit history's From and To columns show per action: a field's old and new
# value, the resolution's reason, the assignees, the id a person found in the package.
# (Offer again's values are internal statuses, and a re-offer mark has none.)
_OLD_SHOWN = {LineEdit.Action.EDIT, LineEdit.Action.ASSIGN}
_NEW_SHOWN = {
    LineEdit.Action.EDIT,
    LineEdit.Action.RESOLVE,
    LineEdit.Action.ASSIGN,
    LineEdit.Action.MARK_BOOKED,
}


def _page_context(membership: Membership, line: RunLine) -> dict[str, Any]:
    history = line_history(line=line)
    show_exchanges = membership.allows(Role.CONSULTANT)
    attempts = [
        {"attempt": attempt, "exchanges": _exchanges(attempt) if show_exchanges else []}
        for attempt in history.attempts
    ]
    edits = [
        {
            "edit": edit,
            "field_label": path_label(line.kind, edit.field),
            "shows_old": edit.action in _OLD_SHOWN,
            "shows_new": edit.action in _NEW_SHOWN,
        }
        for edit in history.edits
    ]
    return {
        "known": known_messages_of(
            line.run.integration.connector_class.known_messages(), line.message, line.field_errors
        )
        if line.message
        else [],
        "members": company_members(membership.company_id)
        if membership.allows(Role.EDITOR) and line.awaits_a_person
        else [],
        "other_lines": history.other_lines,
        "attempts": attempts,
        "edits": edits,
        "show_exchanges": show_exchanges,
    }


def _form_context(
    membership: Membership,
    line: RunLine,
    *,
    data: dict[str, Any] | None = None,
    field_errors: dict[str, str] | None = None,
    reoffer: bool | None = None,
    stored: dict[str, Any] | None = None,
    form_error: str = "",
) -> dict[str, Any]:
    offered = flatten(line.payload) if line.correction is not None or data is not None else None
    return {
        "line": line,
        "run": line.run,
        "form": record_form(
            line.kind,
            data if data is not None else line.data,
            field_errors=(
                field_errors
                if field_errors is not None
                # Stored in English (integrations/wording.py): read in the reader's language.
                else {path: localize(text) for path, text in (line.field_errors or {}).items()}
            ),
            offered=offered,
            stored=stored,
        ),
        "reoffer": line.reoffer if reoffer is None else reoffer,
        "editable": membership.allows(Role.EDITOR) and line.is_open_failure,
        "decidable": membership.allows(Role.EDITOR) and line.status == LineStatus.IN_DOUBT,
        "form_error": form_error,
    }


def _render_form(
    request: HtmxHttpRequest, membership: Membership, line: RunLine, **form: Any
) -> HttpResponse:
    context = _form_context(membership, line, **form)
    if request.htmx:
        return render(request, "runs/line_detail.html#form", context)
    return render(request, "runs/line_detail.html", {**context, **_page_context(membership, line)})


def _version(request: HtmxHttpRequest) -> int:
    value = request.POST.get("version", "")
    return int(value) if value.isdigit() else 0


def _save(request: HtmxHttpRequest, membership: Membership, line: RunLine) -> HttpResponse:
    if not membership.allows(Role.EDITOR):
        raise PermissionDenied
    data = record_from_post(line.kind, request.POST)
    reoffer = request.POST.get("reoffer") == "1"
    try:
        line_correct(
            line=line,
            user=authenticated(request),
            data=data,
            version=_version(request),
            reoffer=reoffer,
        )
    except CorrectionInvalid as exc:
        return _render_form(
            request,
            membership,
            line,
            data=data,
            field_errors=exc.field_errors,
            reoffer=reoffer,
            form_error=str(exc),
        )
    except StaleEdit as exc:
        # Show what the user typed, with what is stored now beside it; saving again is
        # then a choice made knowing the other change.
        line = _get_line(membership, line.pk)
        return _render_form(
            request,
            membership,
            line,
            data=data,
            field_errors={},
            reoffer=reoffer,
            stored=flatten(line.data),
            form_error=str(exc),
        )
    except LineNotOpen as exc:
        messages.error(request, str(exc))
        return _render_form(request, membership, _get_line(membership, line.pk))
    if reoffer:
        text = _("Line %(identifier)s saved and marked for re-offer.")
    else:
        text = _("Line %(identifier)s saved.")
    messages.success(request, text % {"identifier": line.identifier})
    url = reverse(
        "run_detail", kwargs={"company_slug": membership.company.slug, "run_id": line.run_id}
    )
    if reoffer:
        # The run's warning that changes are ready takes the focus (portal.js).
        url += "#changes-ready"
    if request.htmx:
        return HttpResponseClientRedirect(url)
    return redirect(url)


def _decide(request: HtmxHttpRequest, membership: Membership, line: RunLine) -> HttpResponse:
    """A person's decision on a line in doubt: booked after all, or offer it again."""
    if not membership.allows(Role.EDITOR):
        raise PermissionDenied
    user = authenticated(request)
    try:
        if request.POST["decision"] == "mark_booked":
            line_mark_booked(line=line, user=user, external_id=request.POST.get("external_id", ""))
            text = _("Line %(identifier)s marked as booked.")
        else:
            line_offer_again(line=line, user=user)
            text = _("Line %(identifier)s will be offered again.")
    except CorrectionError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, text % {"identifier": line.identifier})
    return redirect(request.path)


@require_http_methods(["GET", "POST"])
@company_view(Role.VIEWER)
def line_detail(request: HtmxHttpRequest, membership: Membership, line_id: int) -> HttpResponse:
    line = _get_line(membership, line_id)
    if request.method == "POST":
        if request.POST.get("decision") in ("mark_booked", "offer_again"):
            return _decide(request, membership, line)
        return _save(request, membership, line)
    return _render_form(request, membership, line)
