"""The portal's own words in stored messages, shown in the reader's language.

A line's message, an attempt's, a run's error or pause reason, a resolution: each is
stored once, in English, whoever reads it later. The API, the logs, the grouping by
reason and the catalogue of known messages read that one text. The screens and mails
show it in the reader's language: ``localize`` recognises a text written from one of
the wordings below and writes it again from the wording's translation, with the same
values. A package's own message (Multivers answers in Dutch, Exact in English) matches
no wording and is shown as the package wrote it.

A wording's English text is what the database already holds for older lines: change one
and those lines are shown in English again. Add a new one instead, and keep the old.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cached_property

from django.utils.translation import gettext, gettext_noop, ngettext

_FIELD = re.compile(r"%\((\w+)\)[sd]")
# What a value may be where it is a number: digits, or "…" where a reason folded them
# (runs/reasons.py). Any other value is any text.
_VALUES = {"number": r"\d+|…", "minutes": r"\d+|…"}
_WHOLE = r"\d+|…"


class Wording:
    """A message the portal writes: ``wording(label="Exact Online")`` is the English text."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __call__(self, **values: object) -> str:
        return _format(self.text, values)

    @cached_property
    def pattern(self) -> re.Pattern[str]:
        return _pattern(self.text)

    def match(self, text: str, *, whole: bool) -> re.Match[str] | None:
        return self.pattern.fullmatch(text) if whole else self.pattern.match(text)

    def translated(self, values: dict[str, str]) -> str:
        return _format(gettext(self.text), values)


class PluralWording(Wording):
    """A message written with ngettext: ``text`` for one, ``plural`` for more; ``count``
    names the value that chose between them."""

    def __init__(self, text: str, plural: str, count: str) -> None:
        super().__init__(text)
        self.plural = plural
        self.count = count

    def __call__(self, **values: object) -> str:
        one = str(values[self.count]) == "1"
        return _format(self.text if one else self.plural, values)

    @cached_property
    def plural_pattern(self) -> re.Pattern[str]:
        return _pattern(self.plural)

    def match(self, text: str, *, whole: bool) -> re.Match[str] | None:
        for pattern in (self.pattern, self.plural_pattern):
            found = pattern.fullmatch(text) if whole else pattern.match(text)
            if found:
                return found
        return None

    def translated(self, values: dict[str, str]) -> str:
        raw = values[self.count]
        number = int(raw) if raw.isdigit() else 2  # "…", a reason's: many
        return _format(ngettext(self.text, self.plural, number), values)


def _pattern(text: str) -> re.Pattern[str]:
    """``text`` with each value as a group; a value named twice must repeat."""
    parts: list[str] = []
    named: set[str] = set()
    for index, piece in enumerate(_FIELD.split(text)):
        if index % 2 == 0:
            parts.append(re.escape(piece))
        elif piece in named:
            parts.append(f"(?P={piece})")
        else:
            named.add(piece)
            whole = f"%({piece})d" in text
            parts.append(f"(?P<{piece}>{_VALUES.get(piece, _WHOLE if whole else '.+?')})")
    return re.compile("".join(parts))


def _format(text: str, values: Mapping[str, object]) -> str:
    # The values are the text as it was stored ("12", or "…" in a reason): put them in
    # as text, whole numbers included.
    return _AS_TEXT.sub(r"%(\1)s", text) % values


_AS_TEXT = re.compile(r"%\((\w+)\)d")


# --- the engine's words on a line (runs/services/attempts.py, export.py, recording.py) ---
ALREADY_BOOKED_EARLIER = Wording(
    gettext_noop("Already booked in run #%(number)s (id %(external_id)s).")
)
ALREADY_IN_PACKAGE = Wording(
    gettext_noop("Already in %(label)s (id %(external_id)s); not booked again.")
)
FOUND_AFTER_INTERRUPTION = Wording(
    gettext_noop(
        "Found in %(label)s (id %(external_id)s): an earlier, interrupted offer booked it; "
        "not booked again."
    )
)
UPDATED_EXISTING = Wording(gettext_noop("Updated the existing record in %(label)s."))
COULD_NOT_OFFER = Wording(
    gettext_noop("The portal could not offer this line (%(error)s); support has been told.")
)
IN_DOUBT = Wording(
    gettext_noop(
        "In doubt — check in %(label)s: an earlier offer may have booked it, and %(label)s "
        "could not be asked. Mark it as booked (with its id there) or offer it again."
    )
)
IN_DOUBT_OUT_OF_TRIES = Wording(
    gettext_noop(
        "In doubt — check in %(label)s: an earlier offer may have booked it, and %(label)s "
        "could not be asked (%(detail)s) before the tries ran out. Mark it as booked (with "
        "its id there) or offer it again."
    )
)
UNAVAILABLE = Wording(
    gettext_noop(
        "%(label)s was unavailable (%(detail)s); the data was not refused. Re-offer it later."
    )
)
# --- why a line and its run wait (runs/services/attempts.py:hold_message) -------------
WAIT_RATE_LIMIT = Wording(gettext_noop("Waiting for %(label)s's rate limit; goes at %(at)s."))
WAIT_DAILY_LIMIT = Wording(
    gettext_noop("%(label)s's daily limit is used up; continues after %(at)s.")
)
WAIT_ERROR_LIMIT = Wording(gettext_noop("Waiting for %(label)s's error limit; goes at %(at)s."))
WAIT_SHARED_STATE = Wording(
    gettext_noop("Shared state unavailable (Redis); goes on when it is back, from %(at)s.")
)
WAIT_RENEWAL = Wording(
    gettext_noop("Waiting until %(label)s allows a new access token; goes at %(at)s.")
)
# --- a person's decision on a line in doubt (runs/services/in_doubt.py) ---------------
MARKED_BOOKED = Wording(
    gettext_noop("Marked as booked by %(user)s: found in the package (id %(external_id)s).")
)
OFFERED_AGAIN = Wording(gettext_noop("Offered again by %(user)s: not found in the package."))
# --- a failure resolved by a later booking (runs/services/recording.py) ---------------
BOOKED_IN_RUN = Wording(gettext_noop("Booked in run #%(number)s"))
# --- why a run stopped (runs/services/export.py, open_items.py) -----------------------
PACKAGE_DOWN = Wording(
    gettext_noop(
        "%(label)s has been unavailable for more than %(minutes)s minutes; the run stopped. "
        "Resume it later."
    )
)
INTEGRATION_DISABLED_RESUME = Wording(
    gettext_noop("The integration %(name)s is disabled; enable it and resume the run.")
)
INTEGRATION_DISABLED = Wording(gettext_noop("The integration %(name)s is disabled."))
IMPORT_INTERRUPTED = Wording(
    gettext_noop("The worker stopped during the import; the previous open items stay current.")
)

# --- the portal's checks of a record (integrations/canonical: messages.py, schemas.py,
# values.py), with values in them; those without are translated as they are (``localize``).
# tests/runs/screens/test_wording.py holds these to what the checks write.
UNBALANCED = Wording(
    gettext_noop("The entry does not balance: debit %(debit)s, credit %(credit)s.")
)
UNKNOWN_COUNTRY = Wording(gettext_noop("Unknown country code '%(code)s'."))
AT_LEAST = Wording(gettext_noop("Enter %(limit)s or more."))
AT_MOST = Wording(gettext_noop("Enter %(limit)s or less."))
NUL_CHARACTER = Wording(gettext_noop("Remove the NUL character (\\0) from %(field)s."))
TOO_LONG = PluralWording(
    "Use at most %(limit)d character.", "Use at most %(limit)d characters.", "limit"
)
TOO_PRECISE = PluralWording(
    "Use at most %(places)d decimal.", "Use at most %(places)d decimals.", "places"
)
TOO_FEW_LINES = PluralWording(
    "Enter at least %(count)d line.", "Enter at least %(count)d lines.", "count"
)
TOO_MANY_LINES = PluralWording(
    "Enter at most %(count)d line.", "Enter at most %(count)d lines.", "count"
)

WORDINGS = (
    ALREADY_BOOKED_EARLIER,
    ALREADY_IN_PACKAGE,
    FOUND_AFTER_INTERRUPTION,
    UPDATED_EXISTING,
    COULD_NOT_OFFER,
    IN_DOUBT,
    IN_DOUBT_OUT_OF_TRIES,
    UNAVAILABLE,
    WAIT_RATE_LIMIT,
    WAIT_DAILY_LIMIT,
    WAIT_ERROR_LIMIT,
    WAIT_SHARED_STATE,
    WAIT_RENEWAL,
    MARKED_BOOKED,
    OFFERED_AGAIN,
    BOOKED_IN_RUN,
    PACKAGE_DOWN,
    INTEGRATION_DISABLED_RESUME,
    INTEGRATION_DISABLED,
    IMPORT_INTERRUPTED,
    UNBALANCED,
    UNKNOWN_COUNTRY,
    AT_LEAST,
    AT_MOST,
    NUL_CHARACTER,
    TOO_LONG,
    TOO_PRECISE,
    TOO_FEW_LINES,
    TOO_MANY_LINES,
)

# integrations.canonical.summarise: "2 problems: lines.1.amount: Enter a number; vat_number: …."
_SUMMARY = re.compile(
    r"(?P<count>\d+) problems?: (?P<items>.+?)(?:; and (?P<more>\d+) more)?\.", re.DOTALL
)


def localize(text: str) -> str:
    """``text`` in the active language where the portal wrote it from a wording; a message
    made of two (a line in doubt whose offer failed: the in-doubt words, then why) is
    translated part by part. Anything else comes back as it is."""
    if not text:
        return text
    for wording in WORDINGS:
        if match := wording.match(text, whole=True):
            return wording.translated(match.groupdict())
    if (own := gettext(text)) != text:
        return own  # one of the portal's sentences without values ("Enter a number.")
    if summary := _SUMMARY.fullmatch(text):
        return _summary(summary)
    for wording in WORDINGS:
        if not wording.text.endswith("."):
            continue  # only whole sentences are followed by another
        match = wording.match(text, whole=False)
        if match and text[match.end() :].startswith(" "):
            rest = text[match.end() + 1 :]
            return f"{wording.translated(match.groupdict())} {localize(rest)}"
    return text


def _summary(summary: re.Match[str]) -> str:
    """A record's problems summed up, each problem's words in the active language."""
    count = int(summary["count"])
    problems = []
    for item in summary["items"].split("; "):
        path, colon, message = item.partition(": ")
        # The summary drops each message's full stop; the catalogue has it.
        problems.append(f"{path}{colon}{localize(message + '.').rstrip('.')}" if colon else item)
    text = ngettext("%(count)d problem", "%(count)d problems", count) % {"count": count}
    text = f"{text}: {'; '.join(problems)}"
    if summary["more"]:
        more = int(summary["more"])
        text += ngettext("; and %(more)d more", "; and %(more)d more", more) % {"more": more}
    return text + "."
