"""What a call to a package leaves behind: the exchange shown on a line, redacted.

Its own module, below both the connector base (which records its calls) and the HTTP
client (which builds the pool), so neither of those imports the other.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

import httpx


@dataclass
class Exchange:
    """One request/response pair, kept for the consultant's view of a line.

    Bodies are stored already redacted (tokens, secrets) and size-limited; see ``record_exchange``.
    """

    method: str
    url: str
    request_body: str
    status: int | None
    response_body: str
    duration_ms: int
    started_at: float  # epoch seconds


# A package's answer is shown to people and stored per attempt: keep it bounded.
MAX_STORED_BODY = 16_000

_SECRET_NAMES = ("access_token", "refresh_token", "client_secret", "password")
_SECRET_PATTERNS = [
    # A whole key only: the lookbehind keeps a field that merely ends in a name readable.
    re.compile(
        r'(?<![A-Za-z0-9_])("?(?:' + "|".join(_SECRET_NAMES) + r')"?\s*[:=]\s*"?)([^"&\s,}]+)',
        re.I,
    ),
    # The OAuth authorization code travels only as a form or query parameter; a JSON
    # "Code" (Exact's relation code) or "postcode" is the record's data, not a secret.
    re.compile(r"((?:^|[?&])code=)([^&\s]+)"),
    re.compile(r"(Bearer\s+)([A-Za-z0-9._~+/=-]+)"),
]


def redact(text: str) -> str:
    """Blank out tokens and secrets before an exchange is stored or shown."""
    lowered = text.lower()
    # Most bodies name no secret at all: skip the regexes (they cost ~50 µs a body,
    # on every call of an export).
    if not any(name in lowered for name in (*_SECRET_NAMES, "code=", "bearer")):
        return text
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(r"\1[redacted]", text)
    return text


def _clip(text: str) -> str:
    if len(text) > MAX_STORED_BODY:
        return text[:MAX_STORED_BODY] + f"\n… [{len(text) - MAX_STORED_BODY} more characters]"
    return text


def record_exchange(
    request: httpx.Request, response: httpx.Response | None, started_at: float
) -> Exchange:
    """Turn one request/response into a stored Exchange (redacted, size-limited)."""
    body = request.content.decode("utf-8", "replace") if request.content else ""
    answer = ""
    if response is not None:
        try:
            answer = response.text
        except httpx.ResponseNotRead:
            answer = ""
    return Exchange(
        method=request.method,
        url=redact(str(request.url)),
        request_body=_clip(redact(body)),
        status=response.status_code if response is not None else None,
        response_body=_clip(redact(answer)),
        duration_ms=int((time.time() - started_at) * 1000),
        started_at=started_at,
    )
