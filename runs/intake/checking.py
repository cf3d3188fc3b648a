"""Checking a batch: every record against the shape, its kind's schema and the others."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from django.utils.translation import gettext as _

from integrations.canonical import KINDS, NATURAL_KEY, record_errors
from integrations.canonical.messages import RECORD_PATH
from runs.intake.problems import ERRORS_SHOWN, IntakeError, problem
from runs.services.runs import NewLine


class BatchCheck:
    """Checks the records one by one and hands on the valid ones as lines to store.

    Holds only what a check across records needs: the (kind, identifier) pairs seen (for
    duplicates) and the first ``ERRORS_SHOWN`` problems, so memory does not grow with
    the records themselves. Once a problem is found, no further line is handed on (the
    batch will be refused), but every record is still checked so the refusal names all.
    """

    def __init__(self) -> None:
        self.seen: dict[tuple[str, str], int] = {}
        self.problems: list[dict[str, Any]] = []
        self.not_kept = 0  # problems beyond ERRORS_SHOWN, counted only
        self.bad = 0  # records with at least one problem
        self.count = 0

    def lines(self, records: Iterable[tuple[int, Any]]) -> Iterator[NewLine]:
        """The lines to store; raises the 422 at the end when any record was bad.

        Meant to be consumed inside the run's transaction: the refusal is raised from
        within it, so the lines already written are rolled back with the run.
        """
        for number, record in records:
            self.count += 1
            found = _record_problems(number, record, self.seen)
            if found:
                self.bad += 1
                room = ERRORS_SHOWN - len(self.problems)
                self.problems.extend(found[:room] if room > 0 else ())
                self.not_kept += max(len(found) - max(room, 0), 0)
            elif not self.bad:
                yield NewLine(
                    kind=record["kind"],
                    identifier=_text(record["identifier"]),
                    payload=record["data"],
                )
        self.verdict()

    def verdict(self) -> None:
        if self.bad:
            raise IntakeError(
                422,
                _(
                    "%(bad)d of %(count)d records are not valid; nothing was stored. "
                    "Correct them and send the batch again."
                )
                % {"bad": self.bad, "count": self.count},
                self.problems,
                self.not_kept,
            )
        if not self.count:
            raise IntakeError(422, _("The batch has no records."))


def _text(value: Any) -> str:
    if value.__class__ is str:  # the usual case, checked first: it runs twice a record
        return value.strip()
    return (
        str(value).strip() if isinstance(value, str | int) and not isinstance(value, bool) else ""
    )


_RECORD_KEYS = frozenset({"kind", "identifier", "data"})


def _record_problems(
    number: int, record: Any, seen: dict[tuple[str, str], int]
) -> list[dict[str, Any]]:
    if not isinstance(record, dict):
        return [
            problem(number, None, None, _('A record is an object: {"kind", "identifier", "data"}.'))
        ]
    identifier = _text(record.get("identifier"))
    problems = []
    unknown = record.keys() - _RECORD_KEYS
    for name in sorted(unknown):
        problems.append(problem(number, identifier or None, name, _("Unknown field.")))
    kind = record.get("kind")
    if kind not in KINDS:
        problems.append(
            problem(
                number,
                identifier or None,
                "kind",
                _("Unknown kind; use one of %(kinds)s.") % {"kinds": ", ".join(KINDS)},
            )
        )
    if not identifier:
        problems.append(
            problem(number, None, "identifier", _("Enter the record's identifier as text."))
        )
    data = record.get("data")
    if not isinstance(data, dict):
        problems.append(
            problem(
                number, identifier or None, "data", _("Enter the record's fields as an object.")
            )
        )
    if problems:
        return problems
    # No problems means both checks above passed: a known kind (a str) and an object.
    assert isinstance(kind, str) and isinstance(data, dict)
    if (kind, identifier) in seen:
        problems.append(
            problem(
                number,
                identifier,
                "identifier",
                _("The %(kind)s %(identifier)s is in the batch twice (also line %(line)d).")
                % {"kind": kind, "identifier": identifier, "line": seen[kind, identifier]},
            )
        )
    seen.setdefault((kind, identifier), number)
    key = NATURAL_KEY[kind]
    natural = _text(data.get(key))
    if natural and natural != identifier:
        problems.append(
            problem(
                number,
                identifier,
                "identifier",
                _("The identifier must equal the record's %(field)s (%(value)s).")
                % {"field": key, "value": data.get(key)},
            )
        )
    for path, message in record_errors(kind, data).items():
        problems.append(problem(number, identifier, None if path == RECORD_PATH else path, message))
    return problems
