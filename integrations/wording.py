"""The portal's own words in stored messages, shown in the reader's language.

A line's message, an attempt's, a run's error or pause reason, a resolution: each is
stored once, in English, whoever reads it later. The API, the logs, the grouping by
reason and the catalogue of known messages read that one text. The screens and mails
show it in the reader's language: ``localize`` recognises a text written from one of
the wordings below and writes it again from the wording's translation, with the same
values. A package's own message (Multivers answers in Dutch, Exact in English) matches
no wording and is shown as the package wrote it.

Here: the machinery, and the words of this layer (the connectors' base, the checks of a
record). The engine's words are in runs/wording.py (imported when the runs app is
ready). Every wording registers itself; ``localize`` tries them all.

A wording's English text is what the database already holds for older lines: change one
and those lines are shown in English again. Add a new one instead, and keep the old.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from functools import cached_property, lru_cache

from django.utils.translation import get_language, gettext, gettext_noop, ngettext

_FIELD = re.compile(r"%\((\w+)\)[sd]")
# What a value may be where it is a number: digits, or "…" where a reason folded them
# (runs/reasons.py). Any other value is any text.
_VALUES = {"number": r"\d+|…", "minutes": r"\d+|…"}
_WHOLE = r"\d+|…"


# Every wording made, in the order they were made (a module's, when it is imported).
WORDINGS: list[Wording] = []


class Wording:
    """A message the portal writes: ``wording(label="Exact Online")`` is the English text."""

    def __init__(
        self, text: str, *, shown: Mapping[str, Callable[[str], str]] | None = None
    ) -> None:
        self.text = text
        # Values that are words of ours themselves ("journal entry"): how to show them.
        self.shown = shown or {}
        WORDINGS.append(self)

    def __call__(self, **values: object) -> str:
        return _format(self.text, values)

    @cached_property
    def pattern(self) -> re.Pattern[str]:
        return _pattern(self.text)

    def match(self, text: str, *, whole: bool) -> re.Match[str] | None:
        return self.pattern.fullmatch(text) if whole else self.pattern.match(text)

    def translated(self, values: dict[str, str]) -> str:
        shown = {name: self.shown.get(name, str)(value) for name, value in values.items()}
        return _format(gettext(self.text), shown)


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


# --- a connector's words (integrations/connectors/base.py) -----------------------------
UNREACHABLE = Wording(gettext_noop("%(label)s could not be reached (%(error)s)."))
BROKE_OFF = Wording(
    gettext_noop(
        "The connection to %(label)s broke off after the record was sent (%(error)s); "
        "it may have been booked."
    )
)
NO_ANSWER_IN_TIME = Wording(gettext_noop("%(label)s did not answer in time (%(error)s)."))
ACCESS_REFUSED = Wording(
    gettext_noop("%(label)s refused access: %(detail)s; check the integration's settings.")
)
PACKAGE_UNAVAILABLE = Wording(
    gettext_noop("%(label)s is unavailable (HTTP %(status)s); the record will be offered again.")
)
PACKAGE_FAILED = Wording(gettext_noop("%(label)s failed (HTTP %(status)s)."))
RECORD_REFUSED = Wording(gettext_noop("%(label)s refused the record (HTTP %(status)s)."))
LOGIN_REFUSED = Wording(
    gettext_noop("%(label)s refused the login: %(detail)s; reconnect the integration.")
)


def _kind(words: str) -> str:
    """ "journal entry" as the reader's language names that kind of record."""
    from integrations.canonical import KIND_LABELS

    label = KIND_LABELS.get(words.replace(" ", "_"))
    return str(label).lower() if label is not None else words


# --- one package's words (integrations/connectors/<package>/connector.py) ---------------
NO_LOOKUP = Wording(
    gettext_noop(
        "%(label)s offers no documented look-up of a %(kind)s by its number (%(identifier)s); "
        "check in %(label)s whether it was booked."
    ),
    shown={"kind": _kind},
)
NUMBER_TAKEN = Wording(
    gettext_noop(
        "%(label)s gave the journal transaction number to another booking meanwhile "
        "(%(error)s); the record will be offered again."
    )
)
NO_NUMBER = Wording(
    gettext_noop(
        "%(label)s did not answer the request for a journal transaction number; nothing "
        "was booked and the record will be offered again."
    )
)
TOKEN_INTERVAL = Wording(
    gettext_noop(
        "%(label)s gives a new access token at most every %(seconds)s seconds; the record "
        "will be offered again."
    )
)
ADMINISTRATION_NOT_LISTED = Wording(
    gettext_noop("%(label)s does not list the administration %(database)s for this login.")
)
OFFICE_NOT_LISTED = Wording(
    gettext_noop("%(label)s does not list the office %(office)s for this login.")
)
OFFICE_ACCESS_REFUSED = Wording(
    gettext_noop("%(label)s refused access: %(detail)s Check the integration's office.")
)
NOT_PROCESSXML = Wording(
    gettext_noop("%(label)s answered something that is not a ProcessXml result (%(error)s).")
)
LOOKUP_TOO_SLOW = Wording(
    gettext_noop("%(label)s did not answer a look-up in time; it will be asked again.")
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

# integrations.canonical.summarise: "2 problems: lines.1.amount: Enter a number; vat_number: …."
_SUMMARY = re.compile(
    r"(?P<count>\d+) problems?: (?P<items>.+?)(?:; and (?P<more>\d+) more)?\.", re.DOTALL
)


def _longest_first() -> list[Wording]:
    # Where one wording begins another ("… is disabled." and "… is disabled; enable it
    # …"), the longer must be tried first. Sorted again only when a wording was added.
    if len(_SORTED) != len(WORDINGS):
        _SORTED[:] = sorted(WORDINGS, key=lambda wording: len(wording.text), reverse=True)
    return _SORTED


_SORTED: list[Wording] = []


def localize(text: str) -> str:
    """``text`` in the active language where the portal wrote it from a wording; a message
    made of two (a line in doubt whose offer failed: the in-doubt words, then why) is
    translated part by part. Anything else comes back as it is."""
    if not text:
        return text
    # Forty lines refused for one reason carry one message: read each once per language.
    return _localized(get_language(), len(WORDINGS), text)


@lru_cache(maxsize=4096)
def _localized(language: str | None, wordings: int, text: str) -> str:
    # Keyed on the language and on how many wordings there are: an answer kept before a
    # module registered its wordings (the runs app's) must not be served after.
    for wording in _longest_first():
        if match := wording.match(text, whole=True):
            return wording.translated(match.groupdict())
    if (own := gettext(text)) != text:
        return own  # one of the portal's sentences without values ("Enter a number.")
    if summary := _SUMMARY.fullmatch(text):
        return _summary(summary)
    for wording in _longest_first():
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
