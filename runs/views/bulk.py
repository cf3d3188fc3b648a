"""What run details and open failures share: bulk Re-offer/Resolve and Retry, with their messages."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth.models import User
from django.http import HttpResponse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from runs.models import Run
from runs.services.corrections import CorrectionError, run_retry
from runs.views.requests import HtmxHttpRequest, authenticated


def bulk_action(
    request: HtmxHttpRequest,
    *,
    reoffer: Callable[[list[int], User], int],
    resolve: Callable[[list[int], User, str], int],
) -> HttpResponse | None:
    """Apply the posted action to the selected lines and say how it went.

    Returns a 400 answer for an unknown action, else None: the caller redirects back.
    """
    action = request.POST.get("action")
    if action not in ("reoffer", "resolve"):
        return HttpResponse(_("Unknown action."), status=400)
    line_ids = [int(value) for value in request.POST.getlist("line") if value.isdigit()]
    if not line_ids:
        messages.warning(request, _("Select one or more failed lines first."))
        return None
    user = authenticated(request)
    try:
        if action == "reoffer":
            count = reoffer(line_ids, user)
            text = ngettext(
                "%(count)d line marked for re-offer.", "%(count)d lines marked for re-offer.", count
            )
        else:
            count = resolve(line_ids, user, request.POST.get("reason", ""))
            text = ngettext("%(count)d line resolved.", "%(count)d lines resolved.", count)
    except CorrectionError as exc:
        messages.error(request, str(exc))
        return None
    messages.success(request, text % {"count": count})
    return None


def retry(request: HtmxHttpRequest, run: Run) -> Run | None:
    """Retry ``run``'s marked lines; the new run, or None with the reason as a message."""
    try:
        new_run = run_retry(run=run, user=authenticated(request))
    except CorrectionError as exc:
        messages.warning(request, str(exc))
        return None
    messages.success(
        request,
        ngettext(
            "Run #%(number)s started with %(count)d line.",
            "Run #%(number)s started with %(count)d lines.",
            new_run.total,
        )
        % {"number": new_run.number, "count": new_run.total},
    )
    return new_run
