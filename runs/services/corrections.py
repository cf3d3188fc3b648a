"""Correcting failed lines and offering them again: the writes behind the line and run screens.

Every change is atomic, takes the line's row lock, bumps its ``version`` (so a form
opened before it is refused as stale) and leaves LineEdit rows behind: the audit
trail of who changed what, from what to what, when.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import F, QuerySet
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from audit.models import Action
from audit.services import audit_record
from integrations.canonical import NATURAL_KEY, identifier_of, validate_record
from runs.models import LineEdit, Run, RunLine, RunLineQuerySet, Trigger
from runs.services.runs import NewLine, run_create
from runs.signals import lines_assigned

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from integrations.models import Integration


class CorrectionError(Exception):
    """A change to a line that was refused; ``str()`` is the sentence for the user."""


class LineNotOpen(CorrectionError):
    def __init__(self, line: RunLine) -> None:
        super().__init__(_("Only failed lines that are still open can be changed."))
        self.line = line


class StaleEdit(CorrectionError):
    """The line changed since the form was opened; ``data`` is what the user sent."""

    def __init__(self, line: RunLine, data: Mapping[str, Any]) -> None:
        who = line.edited_by.get_username() if line.edited_by else _("someone else")
        when = (
            date_format(timezone.localtime(line.edited_at), "DATETIME_FORMAT")
            if line.edited_at
            else "?"
        )
        super().__init__(
            _(
                "This line was changed by %(user)s at %(time)s since you opened it. "
                "Your changes were not saved; reload to see them."
            )
            % {"user": who, "time": when}
        )
        self.line = line
        self.data = data


class CorrectionInvalid(CorrectionError):
    def __init__(self, field_errors: dict[str, str]) -> None:
        super().__init__(_("The correction was not saved: please correct the marked fields."))
        self.field_errors = field_errors


class ReasonRequired(CorrectionError):
    def __init__(self) -> None:
        super().__init__(_("Give a reason for resolving the lines."))


class ReasonInvalid(CorrectionError):
    def __init__(self, message: str) -> None:
        super().__init__(message)


# A resolve reason is a sentence or two for the next reader, not a document.
REASON_MAX_LENGTH = 500


class NothingToRetry(CorrectionError):
    def __init__(self, run: Run) -> None:
        latest = run.retries.order_by("-number").first()
        if latest is not None:
            message = _(
                "Nothing to retry: these lines were already re-offered in run #%(number)s."
            ) % {"number": latest.number}
        else:
            message = _("Nothing to retry: no lines are marked for re-offer.")
        super().__init__(message)
        self.run = run
        self.latest_retry = latest


def flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    """``{"lines": [{"amount": "1"}]}`` → ``{"lines.0.amount": "1"}``: the paths of field errors."""
    if isinstance(data, Mapping):
        items: Iterable[tuple[Any, Any]] = data.items()
    elif isinstance(data, list):
        items = enumerate(data)
    else:
        return {prefix: data}
    flat: dict[str, Any] = {}
    for key, value in items:
        flat.update(flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    return flat


def _blank(value: Any) -> bool:
    return value is None or value == ""


def _changed_paths(old: dict[str, Any], new: dict[str, Any], given: dict[str, Any]) -> list[str]:
    """Paths whose value the user changed; a default the schema filled in is not a change."""
    paths = list(old) + [path for path in new if path not in old]
    changed = []
    for path in paths:
        before, after = old.get(path), new.get(path)
        if _blank(before) and _blank(after):
            continue
        if path not in old and _blank(given.get(path)):
            continue
        if before is None or after is None or str(before) != str(after):
            changed.append(path)
    return changed


def _normalised(kind: str, data: Any) -> Any:
    normalised, _errors = validate_record(kind, data) if isinstance(data, Mapping) else (None, {})
    return normalised if normalised is not None else data


def _lock_open_line(line: RunLine) -> RunLine:
    locked = (
        RunLine.objects.select_for_update(of=("self",)).select_related("edited_by").get(pk=line.pk)
    )
    if not locked.is_open_failure:
        raise LineNotOpen(locked)
    return locked


def _refresh(line: RunLine) -> RunLine:
    """Reload the caller's instance, so it never holds a stale version."""
    line.refresh_from_db()
    return line


def _reoffer_edit(line: RunLine, user: User, reoffer: bool) -> LineEdit:
    action = LineEdit.Action.REOFFER if reoffer else LineEdit.Action.UNREOFFER
    return LineEdit(line=line, user=user, action=action, old_value=not reoffer, new_value=reoffer)


def line_correct(
    *, line: RunLine, user: User, data: dict[str, Any], version: int, reoffer: bool
) -> RunLine:
    """Store ``data`` as the line's correction (the payload stays as offered) and mark it.

    Raises StaleEdit when ``version`` is not the line's current one, CorrectionInvalid
    when the data fails the canonical schema, LineNotOpen when the line is not an open
    failure. Nothing is stored in any of those cases.
    """
    with transaction.atomic():
        locked = _lock_open_line(line)
        if locked.version != version:
            raise StaleEdit(locked, data)
        normalised, field_errors = validate_record(locked.kind, data)
        if normalised is None:
            raise CorrectionInvalid(field_errors)
        if identifier_of(locked.kind, normalised) != locked.identifier:
            # The key names the record across runs ("already booked", the timeline);
            # a different key is a different record, which only Reflex 3000 can send.
            raise CorrectionInvalid(
                {
                    NATURAL_KEY[locked.kind]: _(
                        "This is the record's key in Reflex 3000 and cannot be changed here."
                    )
                }
            )
        old = flatten(_normalised(locked.kind, locked.data))
        new = flatten(normalised)
        edits = [
            LineEdit(
                line=locked, user=user, field=path, old_value=old.get(path), new_value=new.get(path)
            )
            for path in _changed_paths(old, new, flatten(data))
        ]
        if locked.reoffer != reoffer:
            edits.append(_reoffer_edit(locked, user, reoffer))
        LineEdit.objects.bulk_create(edits)
        locked.correction = normalised
        locked.reoffer = reoffer
        locked.edited_by = user
        locked.edited_at = timezone.now()
        locked.version += 1
        locked.save(update_fields=["correction", "reoffer", "edited_by", "edited_at", "version"])
    return _refresh(line)


def line_set_reoffer(*, line: RunLine, user: User, reoffer: bool) -> RunLine:
    """Mark (or unmark) one open failed line for the next Retry."""
    with transaction.atomic():
        locked = _lock_open_line(line)
        if locked.reoffer != reoffer:
            _reoffer_edit(locked, user, reoffer).save()
            locked.reoffer = reoffer
            locked.edited_by = user
            locked.edited_at = timezone.now()
            locked.version += 1
            locked.save(update_fields=["reoffer", "edited_by", "edited_at", "version"])
    return _refresh(line)


def _open(lines: RunLineQuerySet, line_ids: Iterable[int] | None) -> QuerySet[RunLine]:
    """The open failed lines among ``lines`` (of ``line_ids`` if given), locked."""
    lines = lines.select_for_update().open_failures()
    if line_ids is not None:
        lines = lines.filter(pk__in=list(line_ids))
    return lines


def _open_lines(run: Run, line_ids: Iterable[int] | None = None) -> QuerySet[RunLine]:
    """The run's open failed lines (of ``line_ids`` if given), locked, in run order."""
    return _open(RunLine.objects.filter(run=run), line_ids).order_by("position")


def _open_lines_of(integration: Integration, line_ids: Iterable[int]) -> QuerySet[RunLine]:
    """The integration's open failed lines of ``line_ids``, locked, oldest run first."""
    return _open(RunLine.objects.filter(integration=integration), line_ids).order_by(
        "run_id", "position"
    )


def _mark_reoffer(open_lines: QuerySet[RunLine], user: User) -> int:
    lines = list(open_lines.filter(reoffer=False))
    LineEdit.objects.bulk_create(_reoffer_edit(line, user, True) for line in lines)
    RunLine.objects.filter(pk__in=[line.pk for line in lines]).update(
        reoffer=True, edited_by=user, edited_at=timezone.now(), version=F("version") + 1
    )
    return len(lines)


def _resolve(open_lines: QuerySet[RunLine], user: User, reason: str) -> int:
    reason = reason.strip()
    if not reason:
        raise ReasonRequired
    if len(reason) > REASON_MAX_LENGTH:
        raise ReasonInvalid(
            _("Keep the reason to %(limit)d characters; it has %(count)d.")
            % {"limit": REASON_MAX_LENGTH, "count": len(reason)}
        )
    if "\x00" in reason:
        # PostgreSQL refuses it; SQLite would keep it. Refused alike on every database.
        raise ReasonInvalid(_("Remove the NUL character (\\0) from the reason."))
    now = timezone.now()
    lines = list(open_lines)
    LineEdit.objects.bulk_create(
        LineEdit(line=line, user=user, action=LineEdit.Action.RESOLVE, new_value=reason)
        for line in lines
    )
    RunLine.objects.filter(pk__in=[line.pk for line in lines]).update(
        resolved_at=now,
        resolved_by=user,
        resolution=reason,
        reoffer=False,
        edited_by=user,
        edited_at=now,
        version=F("version") + 1,
    )
    return len(lines)


def _audit_lines(
    action: Action, user: User, integration: Integration, count: int, **details: Any
) -> None:
    if count:
        audit_record(
            action=action,
            actor=user,
            company=integration.company,
            target=f"{integration.name}: {count} line(s)",
            details={"integration": integration.pk, "lines": count, **details},
        )


def lines_reoffer(*, run: Run, line_ids: Iterable[int], user: User) -> int:
    """Mark the selected open failed lines of ``run`` for re-offer, data unchanged.

    Ids of other runs, or of lines not open, are ignored. Returns how many were marked.
    """
    with transaction.atomic():
        count = _mark_reoffer(_open_lines(run, line_ids), user)
        _audit_lines(Action.REOFFER, user, run.integration, count, run=run.number)
        return count


def lines_resolve(*, run: Run, line_ids: Iterable[int], user: User, reason: str) -> int:
    """Close the selected open failed lines without offering them again (fixed by hand).

    Resolved lines no longer count as open. Raises ReasonRequired without a reason.
    """
    with transaction.atomic():
        count = _resolve(_open_lines(run, line_ids), user, reason)
        _audit_lines(Action.RESOLVE, user, run.integration, count, run=run.number, reason=reason)
        return count


def integration_lines_reoffer(
    *, integration: Integration, line_ids: Iterable[int], user: User
) -> int:
    """``lines_reoffer`` across the integration's runs (the open failures screen).

    Ids of other integrations, or of lines not open, are ignored. Each line stays in
    its own run: Retry then makes one new run per old run.
    """
    with transaction.atomic():
        count = _mark_reoffer(_open_lines_of(integration, line_ids), user)
        _audit_lines(Action.REOFFER, user, integration, count)
        return count


def integration_lines_resolve(
    *, integration: Integration, line_ids: Iterable[int], user: User, reason: str
) -> int:
    """``lines_resolve`` across the integration's runs. Raises ReasonRequired without a reason."""
    with transaction.atomic():
        count = _resolve(_open_lines_of(integration, line_ids), user, reason)
        _audit_lines(Action.RESOLVE, user, integration, count, reason=reason)
        return count


def run_retry(*, run: Run, user: User) -> Run:
    """Offer every open line of ``run`` marked for re-offer, with its correction, in one new run.

    The old run's row lock serialises two Retry presses: the second finds the lines
    already taken and raises NothingToRetry, so they are never offered twice.
    """
    with transaction.atomic():
        locked = (
            Run.objects.select_for_update(of=("self",)).select_related("integration").get(pk=run.pk)
        )
        lines = list(_open_lines(locked).filter(reoffer=True))
        if not lines:
            raise NothingToRetry(locked)
        new_run = run_create(
            integration=locked.integration,
            trigger=Trigger.RETRY,
            retry_of=locked,
            created_by=user,
            lines=(
                NewLine(
                    kind=line.kind,
                    identifier=line.identifier,
                    payload=line.data,
                    source_line_id=line.pk,
                )
                for line in lines
            ),
        )
        RunLine.objects.filter(pk__in=[line.pk for line in lines]).update(
            reoffered_in=new_run, reoffer=False, version=F("version") + 1
        )
        _audit_lines(
            Action.RETRY,
            user,
            locked.integration,
            len(lines),
            run=locked.number,
            new_run=new_run.number,
        )
    return new_run


# --- a reason group at once (the consultant's desk) --------------------------------------


@dataclass
class BulkFieldResult:
    """What ``lines_set_field`` did: each line stands alone ("the rest applied")."""

    applied: list[RunLine] = field(default_factory=list)
    # The new value still fails pre-flight on these: (line, {path: message}).
    invalid: list[tuple[RunLine, dict[str, str]]] = field(default_factory=list)
    # Changed (or re-offered, resolved) by someone else since the screen was opened.
    stale: list[RunLine] = field(default_factory=list)

    @property
    def refused(self) -> int:
        return len(self.invalid) + len(self.stale)


class NoSuchField(CorrectionError):
    def __init__(self, path: str) -> None:
        super().__init__(_("Choose the field to set (%(path)s is not one).") % {"path": path})


def _matches(path: str, pattern: str) -> bool:
    segments, parts = path.split("."), pattern.split(".")
    return len(segments) == len(parts) and all(
        want in ("*", got) for want, got in zip(parts, segments, strict=True)
    )


def _paths_to_set(data: Any, pattern: str, field_errors: Mapping[str, str]) -> list[str]:
    """The record's paths matching ``pattern`` (``lines.*.vat_code``: any row): the failing
    ones if the line names any, else every row's, so a row that was fine keeps its value
    only when the package said which row failed."""
    failing = [path for path in field_errors if _matches(path, pattern)]
    if failing or "*" not in pattern:
        return failing or [pattern]
    head, _star, tail = pattern.partition(".*.")
    rows = data.get(head) if isinstance(data, Mapping) else None
    if not isinstance(rows, list) or not tail:
        return []
    return [f"{head}.{index}.{tail}" for index in range(len(rows))]


def _set_path(data: Any, path: str, value: Any) -> None:
    *parents, last = path.split(".")
    node = data
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node.setdefault(part, {})
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value


def _field_change(
    line: RunLine, pattern: str, value: str, user: User
) -> tuple[dict[str, Any] | None, dict[str, str], list[LineEdit]]:
    """The line's record with the field set, validated: (record, errors, history)."""
    data = copy.deepcopy(line.data)
    paths = _paths_to_set(data, pattern, line.field_errors or {})
    if not paths:
        return None, {pattern: _("This record has no such field.")}, []
    for path in paths:
        try:
            _set_path(data, path, value)
        except (IndexError, ValueError, TypeError, AttributeError):
            return None, {path: _("This record has no such field.")}, []
    normalised, field_errors = validate_record(line.kind, data)
    if normalised is None:
        return None, field_errors, []
    if identifier_of(line.kind, normalised) != line.identifier:
        return None, {NATURAL_KEY[line.kind]: _("The record's key cannot be changed here.")}, []
    old = flatten(_normalised(line.kind, line.data))
    new = flatten(normalised)
    edits = [
        LineEdit(line=line, user=user, field=path, old_value=old.get(path), new_value=new.get(path))
        for path in _changed_paths(old, new, flatten(data))
    ]
    if not line.reoffer:
        edits.append(_reoffer_edit(line, user, True))
    return normalised, {}, edits


def lines_set_field(
    *,
    integration: Integration,
    versions: Mapping[int, int],
    field_path: str,
    value: str,
    user: User,
) -> BulkFieldResult:
    """Set one field to ``value`` on each of the lines (id → the version the user saw) and
    mark them for re-offer; ``field_path`` is canonical, ``*`` meaning every row.

    Each line is checked on its own, under its row lock: a line changed since (stale),
    no longer open, or whose record still fails pre-flight with the new value is listed
    in the result and left exactly as it was; the rest are applied, each with its own
    history entries and a new version. One transaction: no line is ever half-changed.
    """
    if not field_path.strip() or any(not part for part in field_path.split(".")):
        raise NoSuchField(field_path)
    result = BulkFieldResult()
    with transaction.atomic():
        locked = {line.pk: line for line in _open_lines_of(integration, versions)}
        edits: list[LineEdit] = []
        now = timezone.now()
        for line_id, version in versions.items():
            line = locked.get(line_id)
            if line is None or line.version != version:
                stale = line or RunLine.objects.filter(pk=line_id, integration=integration).first()
                if stale is not None:
                    result.stale.append(stale)
                continue
            record, errors, line_edits = _field_change(line, field_path, value, user)
            if record is None:
                result.invalid.append((line, errors))
                continue
            line.correction, line.reoffer = record, True
            line.edited_by, line.edited_at, line.version = user, now, line.version + 1
            edits.extend(line_edits)
            result.applied.append(line)
        LineEdit.objects.bulk_create(edits)
        RunLine.objects.bulk_update(
            result.applied, ["correction", "reoffer", "edited_by", "edited_at", "version"]
        )
    return result


class AssigneeNotMember(CorrectionError):
    def __init__(self) -> None:
        super().__init__(_("Lines can only be assigned to a member of the company."))


def integration_lines_assign(
    *, integration: Integration, line_ids: Iterable[int], assignee: User | None, user: User
) -> int:
    """Assign the open failed lines and lines in doubt (of ``line_ids``) to ``assignee``,
    or to nobody.

    The assignee must be a member of the integration's company (consultants are). Each
    change is in the line's history. Returns how many lines changed hands.
    """
    if (
        assignee is not None
        and not assignee.memberships.filter(  # type: ignore[attr-defined]
            company_id=integration.company_id
        ).exists()
    ):
        raise AssigneeNotMember
    new_id = assignee.pk if assignee is not None else None
    with transaction.atomic():
        waiting = (
            RunLine.objects.select_for_update()
            .awaiting_a_person(integration=integration)
            .filter(pk__in=list(line_ids))
            .order_by("run_id", "position")
        )
        lines = [line for line in waiting if line.assigned_to_id != new_id]
        # Usernames in one query: FOR UPDATE cannot take the outer join of select_related.
        previous: dict[int | None, str] = dict(
            get_user_model()
            .objects.filter(pk__in={line.assigned_to_id for line in lines})
            .values_list("pk", "username")
        )
        LineEdit.objects.bulk_create(
            LineEdit(
                line=line,
                user=user,
                action=LineEdit.Action.ASSIGN,
                old_value=previous.get(line.assigned_to_id),
                new_value=assignee.get_username() if assignee is not None else None,
            )
            for line in lines
        )
        RunLine.objects.filter(pk__in=[line.pk for line in lines]).update(
            assigned_to=assignee, version=F("version") + 1
        )
        # Inside the transaction: the assignee's mail is written with the assignment, or
        # not at all. One signal for all lines, so a group makes one mail.
        if lines and assignee is not None and assignee.pk != user.pk:
            lines_assigned.send(
                sender=RunLine,
                integration=integration,
                assignee=assignee,
                by=user,
                line_ids=[line.pk for line in lines],
            )
    return len(lines)


class NothingMarked(CorrectionError):
    def __init__(self) -> None:
        super().__init__(_("Nothing to retry: no lines are marked for re-offer."))


def integration_runs_retry(
    *, integration: Integration, line_ids: Iterable[int], user: User
) -> list[Run]:
    """Retry every run that holds one of the lines marked for re-offer: one new run per old
    run (as Retry on each run's page), oldest first. Raises NothingToRetry when none is."""
    marked = RunLine.objects.open_failures().filter(
        integration=integration, reoffer=True, pk__in=list(line_ids)
    )
    runs = list(Run.objects.filter(pk__in=marked.values("run_id")).order_by("number"))
    if not runs:
        raise NothingMarked
    return [run_retry(run=run, user=user) for run in runs]
