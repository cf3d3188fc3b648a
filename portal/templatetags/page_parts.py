"""Parts every page draws the same way: the breadcrumb trail and the live-region poll."""

from __future__ import annotations

from typing import Any

from django import template
from django.conf import settings
from django.utils.html import format_html

register = template.Library()


@register.inclusion_tag("includes/breadcrumbs.html")
def breadcrumbs(*parts: Any) -> dict[str, Any]:
    """``{% breadcrumbs label url label url … current %}``: pairs of a label and its link,
    then the current page's label (unlinked, ``aria-current="page"``)."""
    *pairs, current = parts
    links = [(pairs[i], pairs[i + 1]) for i in range(0, len(pairs) - 1, 2)]
    return {"links": links, "current": current}


@register.simple_tag
def live_poll(url: str, live: bool) -> str:
    """``<div id="x"{% live_poll url run.is_active %}>``: while ``live``, the region asks
    ``url`` again every ``LIVE_POLL_SECONDS`` and replaces itself; the server's answer for a
    finished run carries no poll (or is htmx's 286), so the polling stops by itself."""
    if not live:
        return ""
    return format_html(
        ' hx-get="{}" hx-trigger="every {}s" hx-swap="outerHTML"', url, settings.LIVE_POLL_SECONDS
    )


@register.filter
def dashed(name: object, detail: object) -> str:
    """``integration.name|dashed:integration.connector_label`` → "Sales — Exact Online":
    a crumb's label made of two parts, as the headings write it."""
    return f"{name} — {detail}"
