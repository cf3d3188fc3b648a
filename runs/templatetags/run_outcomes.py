"""How a run looks on the Integrations and History screens: its outcome and its chart."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django import template
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from runs.models import Run, RunStatus, Trigger

register = template.Library()

# Geometry of the recent-runs chart, in SVG user units.
BAR_WIDTH = 10
BAR_GAP = 4
CHART_HEIGHT = 40


@dataclass(frozen=True)
class RunOutcome:
    css: str  # suffix of the .status-… class
    label: str
    has_errors: bool


@register.filter
def run_outcome(run: Run) -> RunOutcome:
    """What went on in a run, in one word and one colour: errors show red."""
    if run.status == RunStatus.FAILED:
        return RunOutcome("failed", _("Failed"), True)
    if run.status == RunStatus.RUNNING:
        return RunOutcome("running", _("Running"), run.failed > 0)
    if run.status == RunStatus.QUEUED:
        return RunOutcome("queued", _("Queued"), False)
    if run.failed:
        return RunOutcome("failed", _("Finished with errors"), True)
    if run.in_doubt:
        # Not a success until a person says whether the package booked them.
        return RunOutcome("in_doubt", _("Finished, lines in doubt"), True)
    return RunOutcome("succeeded", _("Succeeded"), False)


@register.filter
def run_trigger(run: Run) -> str:
    """ "Intake", "Manual", … or "Retry of #N"."""
    number = getattr(run, "retry_of_number", None)
    if run.trigger == Trigger.RETRY and number:
        return _("Retry of #%(number)s") % {"number": number}
    return str(run.get_trigger_display())


@register.filter
def run_elapsed(run: Run) -> timedelta | None:
    """How long a run took, or has been running so far."""
    if run.started_at is None:
        return None
    return (run.finished_at or timezone.now()) - run.started_at


@dataclass(frozen=True)
class Segment:
    css: str
    y: int
    height: int


@dataclass(frozen=True)
class Bar:
    x: int
    title: str
    segments: list[Segment]


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    bar_width: int
    bars: list[Bar]


@register.simple_tag
def run_chart(runs: list[Run], slots: int) -> Chart:
    """Stacked bars, one per run, the latest on the right; each bar is its run's lines.

    Every bar has the full height (a run of 3 lines and one of 3,000 are read the same
    way: how much of it went well); green succeeded, amber skipped, red failed, grey
    not done yet.
    """
    width = slots * (BAR_WIDTH + BAR_GAP) - BAR_GAP
    first_x = width - len(runs) * (BAR_WIDTH + BAR_GAP) + BAR_GAP
    bars = [
        Bar(x=first_x + i * (BAR_WIDTH + BAR_GAP), title=_bar_title(run), segments=_segments(run))
        for i, run in enumerate(runs)
    ]
    return Chart(width=width, height=CHART_HEIGHT, bar_width=BAR_WIDTH, bars=bars)


def _segments(run: Run) -> list[Segment]:
    total = max(run.total, run.done, 1)
    parts = [
        ("succeeded", run.succeeded),
        ("skipped", run.skipped),
        ("failed", run.failed),
        ("open", total - run.done),
    ]
    segments: list[Segment] = []
    bottom, counted = CHART_HEIGHT, 0
    for css, count in parts:
        if count <= 0:
            continue
        counted += count
        # Round the running sum, not each part, so the parts always fill the bar exactly.
        top = CHART_HEIGHT - round(CHART_HEIGHT * counted / total)
        if bottom - top > 0:
            segments.append(Segment(css, top, bottom - top))
        bottom = top
    return segments


def _bar_title(run: Run) -> str:
    when = date_format(timezone.localtime(run.queued_at), "DATETIME_FORMAT")
    return _(
        "Run #%(number)s, %(when)s: %(succeeded)s succeeded, %(failed)s failed, "
        "%(skipped)s skipped of %(total)s lines"
    ) % {
        "number": run.number,
        "when": when,
        "succeeded": run.succeeded,
        "failed": run.failed,
        "skipped": run.skipped,
        "total": run.total,
    }
