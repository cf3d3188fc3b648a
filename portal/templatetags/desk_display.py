"""How the overview shows ages and connection states: in words, never colour alone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django import template
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

register = template.Library()


@register.filter
def age(value: timedelta | None) -> str:
    """``3 days``, ``5 hours``, ``12 minutes``, ``under a minute``: the largest whole unit,
    or "" for None."""
    if value is None:
        return ""
    seconds = max(int(value.total_seconds()), 0)
    if seconds >= 86_400:
        days = seconds // 86_400
        return ngettext("%(n)d day", "%(n)d days", days) % {"n": days}
    if seconds >= 3_600:
        hours = seconds // 3_600
        return ngettext("%(n)d hour", "%(n)d hours", hours) % {"n": hours}
    if seconds < 60:
        return _("under a minute")
    minutes = seconds // 60
    return ngettext("%(n)d minute", "%(n)d minutes", minutes) % {"n": minutes}


@dataclass(frozen=True)
class ConnectionState:
    css: str  # suffix of the .status-… class
    label: str
    # A sign beside the colour, so the state never rests on colour alone.
    sign: str


@register.filter
def connection_state(state: str) -> ConnectionState:
    states = {
        "refused": ConnectionState("failed", _("Login refused"), "✖"),
        "not_connected": ConnectionState("queued", _("Not connected"), "○"),
        "disabled": ConnectionState("skipped", _("Disabled"), "⏸"),
        "idle": ConnectionState("running", _("Credentials may expire soon"), "⚠"),
        "ok": ConnectionState("succeeded", _("Connected"), "✔"),
    }
    return states.get(state, states["ok"])
