"""A failure's reason: the package's message with the record's own values taken out.

Forty lines refused with "Klant '10010' bestaat niet.", "Klant '10011' bestaat niet.", …
share one reason, "Klant '…' bestaat niet.". Grouping on the screens, the failure mails
and the catalogue of known messages all key on ``reason_of``; there is no second copy.
"""

from __future__ import annotations

import re

PLACEHOLDER = "…"

# Order matters: quoted values first (they may hold digits and spaces), then codes that
# mix letters and digits (NL000099998B57, VF2025-000123, MVL00001), then bare numbers
# (amounts with a decimal comma or point, dates, years, periods).
_PATTERNS = (
    re.compile(r"'[^']*'"),
    re.compile(r'"[^"]*"'),
    re.compile(r"(?<![\w])(?=[\w./,-]*\d)[A-Za-z]*\d(?:[\w/-]|[.,](?=\w))*(?![\w])"),
)
_QUOTED = {"'": f"'{PLACEHOLDER}'", '"': f'"{PLACEHOLDER}"'}
_SPACES = re.compile(r"\s+")


def reason_of(message: str) -> str:
    """The message with quoted values, codes and numbers replaced by ``…``.

    >>> reason_of("Klant '10010' bestaat niet.")
    "Klant '…' bestaat niet."
    >>> reason_of("Not found: Account 8999")
    'Not found: Account …'
    >>> reason_of("Bedrag 12,50 klopt niet, zie regel 3.")
    'Bedrag … klopt niet, zie regel ….'
    >>> reason_of("This entry is not balanced on: 2021 / 12")
    'This entry is not balanced on: … / …'
    """
    text = _SPACES.sub(" ", message.strip())
    text = _PATTERNS[0].sub(_QUOTED["'"], text)
    text = _PATTERNS[1].sub(_QUOTED['"'], text)
    return _PATTERNS[2].sub(PLACEHOLDER, text)
