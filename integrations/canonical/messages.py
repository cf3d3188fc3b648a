"""pydantic's errors turned into field paths and sentences a bookkeeper understands.

pydantic's own messages ("Input should be …", with documentation URLs) never reach a
user: every error type maps to a message of ours, and an unforeseen type falls back
to a neutral one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from django.utils.translation import gettext, gettext_noop, ngettext
from pydantic import ValidationError
from pydantic_core import ErrorDetails

# Where an error about the record as a whole goes (Django's name for it).
RECORD_PATH = "__all__"
# A summary names this many problems and counts the rest.
_SUMMARY_LIMIT = 5

_Message = Callable[[Mapping[str, Any]], str]


def _fixed(text: str) -> _Message:
    # The text is marked with gettext_noop where it is written, so it reaches the catalog.
    return lambda ctx: gettext(text)


_DATE = _fixed(gettext_noop("Enter a valid date (YYYY-MM-DD)."))
_NUMBER = _fixed(gettext_noop("Enter a number."))
_WHOLE_NUMBER = _fixed(gettext_noop("Enter a whole number."))
_FIELDS = _fixed(gettext_noop("Enter a set of fields here, not a single value."))

_MESSAGES: dict[str, _Message] = {
    "canonical": lambda ctx: ctx["message"],
    "missing": _fixed(gettext_noop("This field is required.")),
    "extra_forbidden": _fixed(gettext_noop("Unknown field.")),
    "string_type": _fixed(gettext_noop("Enter text.")),
    "string_too_long": lambda ctx: (
        ngettext(
            "Use at most %(limit)d character.",
            "Use at most %(limit)d characters.",
            ctx["max_length"],
        )
        % {"limit": ctx["max_length"]}
    ),
    "int_type": _WHOLE_NUMBER,
    "int_parsing": _WHOLE_NUMBER,
    "int_parsing_size": _WHOLE_NUMBER,
    "int_from_float": _WHOLE_NUMBER,
    "decimal_type": _NUMBER,
    "decimal_parsing": _NUMBER,
    "finite_number": _NUMBER,
    "decimal_max_places": lambda ctx: (
        ngettext(
            "Use at most %(places)d decimal.",
            "Use at most %(places)d decimals.",
            ctx["decimal_places"],
        )
        % {"places": ctx["decimal_places"]}
    ),
    "greater_than_equal": lambda ctx: gettext("Enter %(limit)s or more.") % {"limit": ctx["ge"]},
    "less_than_equal": lambda ctx: gettext("Enter %(limit)s or less.") % {"limit": ctx["le"]},
    "date_type": _DATE,
    "date_parsing": _DATE,
    "list_type": _fixed(gettext_noop("Enter the lines as a list.")),
    "too_short": lambda ctx: (
        ngettext(
            "Enter at least %(count)d line.", "Enter at least %(count)d lines.", ctx["min_length"]
        )
        % {"count": ctx["min_length"]}
    ),
    "too_long": lambda ctx: (
        ngettext(
            "Enter at most %(count)d line.", "Enter at most %(count)d lines.", ctx["max_length"]
        )
        % {"count": ctx["max_length"]}
    ),
    "nul_character": lambda ctx: (
        gettext("Remove the NUL character (\\0) from %(field)s.") % {"field": ctx["field"]}
    ),
    "model_type": _FIELDS,
    "model_attributes_type": _FIELDS,
    "dict_type": _FIELDS,
}


def message_for(error: ErrorDetails) -> str:
    to_message = _MESSAGES.get(error["type"])
    if to_message is None:
        return gettext("Enter a valid value.")
    return to_message(error.get("ctx", {}))


def path_of(loc: tuple[int | str, ...]) -> str:
    """``("lines", 2, "vat_code")`` → ``"lines.2.vat_code"``."""
    return ".".join(map(str, loc)) or RECORD_PATH


def field_errors(exc: ValidationError) -> dict[str, str]:
    """{field path: message}, the first message of each path, in the record's order."""
    errors: dict[str, str] = {}
    for error in exc.errors(include_url=False, include_input=False):
        errors.setdefault(path_of(error["loc"]), message_for(error))
    return errors


def summarise(field_errors: Mapping[str, str]) -> str:
    """One sentence for the line's message: "2 problems: lines.1.amount: …; vat_number: …"."""
    if not field_errors:
        return ""
    count = len(field_errors)
    named = [
        f"{path}: {message.rstrip('.')}"
        for path, message in list(field_errors.items())[:_SUMMARY_LIMIT]
    ]
    summary = ngettext("%(count)d problem", "%(count)d problems", count) % {"count": count}
    summary = f"{summary}: {'; '.join(named)}"
    if count > _SUMMARY_LIMIT:
        more = count - _SUMMARY_LIMIT
        summary += ngettext("; and %(more)d more", "; and %(more)d more", more) % {"more": more}
    return summary + "."
