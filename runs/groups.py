"""Open failures grouped by reason: forty lines refused for one cause are one group.

A group is (kind, reason): the lines of one kind whose message has the same reason
(``runs.reasons.reason_of``, the one normalisation the failure mails use too). The
database groups by the stored message, bounded to ``MAX_MESSAGES`` distinct ones;
messages that differ only in their values are folded here. Two queries per screen,
however many lines; the same pass counts the lines and those marked for re-offer, so
run details needs no count of its own.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.db.models import Count, Min, Q, QuerySet

from runs.models import Kind, RunLine
from runs.reasons import known_messages_of, reason_of

if TYPE_CHECKING:
    from collections.abc import Mapping

    from integrations.connectors.base import KnownMessage

# Distinct messages read per screen. Past it the groups cover the most frequent messages
# and the screen says that not all failures are grouped.
MAX_MESSAGES = 1000
EXAMPLES = 3
_INDEX = re.compile(r"(?<=\.)\d+(?=\.|$)")


@dataclass
class FailureGroup:
    kind: str
    reason: str
    count: int = 0
    messages: list[str] = field(default_factory=list)
    examples: list[str] = field(default_factory=list)
    # The canonical field the reason concerns ("lines.*.vat_code": every row), or "".
    field_path: str = ""
    known: list[tuple[str, KnownMessage]] = field(default_factory=list)

    @property
    def key(self) -> str:
        """A short, stable name for URLs: the same kind and reason give the same key."""
        return group_key(self.kind, self.reason)

    @property
    def kind_label(self) -> str:
        return str(Kind(self.kind).label) if self.kind in Kind.values else self.kind


@dataclass(frozen=True)
class FailureGroups:
    groups: list[FailureGroup]
    # More distinct messages than MAX_MESSAGES: the rarest ones are not grouped.
    capped: bool
    # All the open failures given, grouped or not (capped), and how many of them are
    # marked for re-offer: what Retry would take.
    lines: int = 0
    marked: int = 0


def group_key(kind: str, reason: str) -> str:
    return hashlib.sha256(f"{kind}\0{reason}".encode()).hexdigest()[:16]


def field_pattern(path: str) -> str:
    """``lines.0.vat_code`` → ``lines.*.vat_code``: the same field on every row."""
    return _INDEX.sub("*", path)


def _field_of(reason: str, field_errors: Mapping[str, str]) -> str:
    if not field_errors:
        return ""
    matching = [path for path, text in field_errors.items() if reason_of(str(text)) == reason]
    paths = matching or (list(field_errors) if len(field_errors) == 1 else [])
    patterns = {field_pattern(path) for path in paths}
    return patterns.pop() if len(patterns) == 1 else ""


def failure_groups(
    *, lines: QuerySet[RunLine], catalogue: Mapping[str, KnownMessage]
) -> FailureGroups:
    """``lines`` (open failures already scoped to a company) grouped by kind and reason,
    largest group first, each with its field, a few example identifiers and the
    catalogue's explanation when the package's message is a known one."""
    marked = Count("pk", filter=Q(reoffer=True))
    rows = list(
        lines.order_by()
        .values("kind", "message")
        .annotate(n=Count("pk"), marked=marked, example=Min("pk"))
        .order_by("-n", "kind", "message")[: MAX_MESSAGES + 1]
    )
    capped = len(rows) > MAX_MESSAGES
    if capped:
        # The rows read are not all there are: count the rest in a pass of their own.
        totals = lines.aggregate(n=Count("pk"), marked=marked)
    else:
        totals = {"n": sum(row["n"] for row in rows), "marked": sum(r["marked"] for r in rows)}
    rows = rows[:MAX_MESSAGES]
    examples: dict[int, dict[str, Any]] = {
        row["pk"]: dict(row)
        for row in RunLine.objects.filter(pk__in=[row["example"] for row in rows]).values(
            "pk", "identifier", "field_errors"
        )
    }
    groups: dict[tuple[str, str], FailureGroup] = {}
    for row in rows:
        reason = reason_of(row["message"])
        group = groups.get((row["kind"], reason))
        example: dict[str, Any] = examples.get(row["example"], {})
        if group is None:
            group = groups[row["kind"], reason] = FailureGroup(
                kind=row["kind"],
                reason=reason,
                field_path=_field_of(reason, example.get("field_errors") or {}),
                known=known_messages_of(catalogue, row["message"], example.get("field_errors")),
            )
        group.count += row["n"]
        group.messages.append(row["message"])
        if len(group.examples) < EXAMPLES and example:
            group.examples.append(example["identifier"])
    ordered = sorted(groups.values(), key=lambda group: (-group.count, group.kind, group.reason))
    return FailureGroups(groups=ordered, capped=capped, lines=totals["n"], marked=totals["marked"])


def failure_group(
    *, lines: QuerySet[RunLine], catalogue: Mapping[str, KnownMessage], key: str
) -> FailureGroup | None:
    """The group named ``key`` among ``lines``, or None when no open failure has it."""
    for group in failure_groups(lines=lines, catalogue=catalogue).groups:
        if group.key == key:
            return group
    return None


def group_lines(*, lines: QuerySet[RunLine], group: FailureGroup) -> QuerySet[RunLine]:
    """The group's lines among ``lines``, oldest run first."""
    return lines.filter(kind=group.kind, message__in=group.messages).order_by(
        "run__number", "position"
    )
