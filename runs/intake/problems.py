"""The refusal every intake reader and check raises, and its limits.

A refused batch is one ``IntakeError``: the HTTP status, one sentence, and every problem
found (``problem``), at most ``ERRORS_SHOWN`` of them kept.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _

ERRORS_SHOWN = 1000  # a refusal names at most this many problems (and says so)


@dataclass
class IntakeError(Exception):
    """A refused batch: the HTTP status, one sentence, and every problem found."""

    status: int
    detail: str
    errors: list[dict[str, Any]] = field(default_factory=list)
    # Problems found but not kept in ``errors`` (a batch of 50,000 bad records need not
    # hold 50,000 of them to say how many there were).
    not_kept: int = 0

    def body(self) -> dict[str, Any]:
        answer: dict[str, Any] = {"detail": self.detail}
        if self.errors:
            answer["errors"] = self.errors[:ERRORS_SHOWN]
            not_shown = max(len(self.errors) - ERRORS_SHOWN, 0) + self.not_kept
            if not_shown:
                answer["errors_not_shown"] = not_shown
        return answer


def check_size(length: int) -> None:
    if length > settings.INTAKE_MAX_BYTES:
        raise IntakeError(
            413,
            _("The batch is %(size)d bytes; at most %(limit)d are accepted.")
            % {"size": length, "limit": settings.INTAKE_MAX_BYTES},
        )


def check_count(count: int) -> None:
    if count > settings.INTAKE_MAX_LINES:
        raise IntakeError(
            413,
            _(
                "The batch has %(count)d records; at most %(limit)d are accepted in one run. Split it."
            )
            % {"count": count, "limit": settings.INTAKE_MAX_LINES},
        )


def problem(line: int, identifier: Any, field: str | None, message: str) -> dict[str, Any]:
    return {"line": line, "identifier": identifier, "field": field, "message": message}
