"""Small display helpers for the run and line screens."""

from __future__ import annotations

from datetime import timedelta

from django import template
from django.utils.translation import gettext as _

from integrations.wording import localize

register = template.Library()


@register.filter
def translated(message: str | None) -> str:
    """``{{ line.message|translated }}``: a message the portal stored in English, in the
    reader's language (integrations/wording.py); a package's own message as it came."""
    return localize(message or "")


# Statuses of runs, lines and mails onto the colour classes the stylesheet knows
# (succeeded, running, queued, failed, skipped, …): the one place a state gets its colour.
_STATUS_CLASSES = {
    "finished": "status-succeeded",
    "delivering": "status-running",
    "sent": "status-succeeded",
    "sending": "status-running",
    "pending": "status-queued",
    # States that are not a run's or a line's but are drawn beside them.
    "connected": "status-succeeded",
    "not_connected": "status-queued",
    "connection_error": "status-failed",
    "disabled": "status-skipped",
    "overdue": "status-failed",
    "ready_to_reoffer": "status-running",
    "stuck": "status-failed",
    "paused": "status-running",
}


@register.filter
def status_class(status: str) -> str:
    return _STATUS_CLASSES.get(status, f"status-{status}")


@register.filter
def duration(value: timedelta | None) -> str:
    """``timedelta(seconds=65)`` → "1 min 5 s"; hours only when there are any."""
    if value is None:
        return ""
    seconds = max(int(value.total_seconds()), 0)
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return _("%(h)d h %(m)d min") % {"h": hours, "m": minutes}
    if minutes:
        return _("%(m)d min %(s)d s") % {"m": minutes, "s": seconds}
    return _("%(s)d s") % {"s": seconds}
