"""A person's decision on a line in doubt: booked after all, or offer it again.

A line ends ``in_doubt`` when an earlier offer may have booked it and the package
could not be asked (no documented look-up for the kind, or the look-ups kept failing
until the tries ran out). The engine never posts such a line again by itself; the
person checks in the package and decides here. Each decision takes the line's row
lock, bumps its ``version`` and leaves a LineEdit behind.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from runs import wording
from runs.models import LineEdit, LineStatus, Run, RunLine
from runs.services.corrections import CorrectionError
from runs.services.export import run_wake

if TYPE_CHECKING:
    from django.contrib.auth.models import User

EXTERNAL_ID_MAX = RunLine._meta.get_field("external_id").max_length or 100


class LineNotInDoubt(CorrectionError):
    def __init__(self, line: RunLine) -> None:
        super().__init__(_("Only a line in doubt can be marked as booked or offered again."))
        self.line = line


class ExternalIdInvalid(CorrectionError):
    def __init__(self) -> None:
        super().__init__(
            _("Give the record's id in the package (at most %(max)s characters).")
            % {"max": EXTERNAL_ID_MAX}
        )


def _lock_in_doubt(line: RunLine) -> RunLine:
    locked = RunLine.objects.select_for_update(of=("self",)).get(pk=line.pk)
    if locked.status != LineStatus.IN_DOUBT:
        raise LineNotInDoubt(locked)
    return locked


def line_mark_booked(*, line: RunLine, user: User, external_id: str) -> RunLine:
    """The person found the record in the package: the line is booked, with its id there.

    Raises ExternalIdInvalid for an empty or too long id, LineNotInDoubt when the line
    is not in doubt (someone decided already); nothing is stored then.
    """
    external_id = external_id.strip()
    if not external_id or len(external_id) > EXTERNAL_ID_MAX:
        raise ExternalIdInvalid
    now = timezone.now()
    with transaction.atomic():
        locked = _lock_in_doubt(line)
        LineEdit.objects.create(
            line=locked,
            user=user,
            action=LineEdit.Action.MARK_BOOKED,
            field="external_id",
            old_value=locked.external_id,
            new_value=external_id,
        )
        RunLine.objects.filter(pk=locked.pk).update(
            status=LineStatus.SUCCEEDED,
            external_id=external_id,
            message=wording.MARKED_BOOKED(user=user.get_username(), external_id=external_id),
            edited_by=user,
            edited_at=now,
            version=F("version") + 1,
        )
        Run.objects.filter(pk=locked.run_id).update(
            in_doubt=F("in_doubt") - 1, succeeded=F("succeeded") + 1
        )
    line.refresh_from_db()
    return line


def line_offer_again(*, line: RunLine, user: User) -> RunLine:
    """The person checked: the record is not in the package. Offer it again, afresh.

    The line goes back to ``pending`` with its tries reset (the doubt is settled by a
    person, not by the package), and its run is queued (reopened if it had finished).
    """
    now = timezone.now()
    with transaction.atomic():
        locked = _lock_in_doubt(line)
        LineEdit.objects.create(
            line=locked,
            user=user,
            action=LineEdit.Action.OFFER_AGAIN,
            field="status",
            old_value=LineStatus.IN_DOUBT.value,
            new_value=LineStatus.PENDING.value,
        )
        RunLine.objects.filter(pk=locked.pk).update(
            status=LineStatus.PENDING,
            in_doubt=False,
            attempts=0,
            next_attempt_at=None,
            finished_at=None,
            message=wording.OFFERED_AGAIN(user=user.get_username()),
            edited_by=user,
            edited_at=now,
            version=F("version") + 1,
        )
        Run.objects.filter(pk=locked.run_id).update(in_doubt=F("in_doubt") - 1)
        run_wake(run=locked.run)
    line.refresh_from_db()
    return line
