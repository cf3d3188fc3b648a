"""A failure's reason: the package's message with the record's own values taken out.

Forty lines refused with "Klant '10010' bestaat niet.", "Klant '10011' bestaat niet.", …
share one reason, "Klant '…' bestaat niet.". Grouping on the screens, the failure mails
and the catalogue of known messages all key on ``reason_of``; there is no second copy.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from integrations.connectors.base import KnownMessage

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


def known_messages_of(
    catalogue: Mapping[str, KnownMessage], message: str, field_errors: Mapping[str, str] | None
) -> list[tuple[str, KnownMessage]]:
    """The catalogue's explanations of a failure, as (reason, explanation), each once.

    A package may join several messages in one (Exact: one a line); each line and each
    field's own message is looked up on its reason. An unknown message has none.
    """
    texts = [message, *message.splitlines(), *(field_errors or {}).values()]
    found: dict[str, KnownMessage] = {}
    for text in texts:
        reason = reason_of(str(text))
        if reason in catalogue and reason not in found:
            found[reason] = catalogue[reason]
    return list(found.items())
