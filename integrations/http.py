"""The one place where connectors get their HTTP client.

Timeouts, the connection pool, the shared rate limiter and the recording of every
exchange are set here, so a test can replace the transport in one spot and every
connector behaves the same way on the wire.
"""

from __future__ import annotations

import enum
import re
import time
from typing import TYPE_CHECKING, Protocol

import httpx

from integrations.connectors.base import Exchange

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

# A package's answer is shown to people and stored per attempt: keep it bounded.
MAX_STORED_BODY = 16_000
# Never let one call hang a worker: connect fast, read within the package's usual time.
DEFAULT_TIMEOUT = httpx.Timeout(connect=5.0, read=30.0, write=30.0, pool=30.0)

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


class Hold(enum.Enum):
    """Why calls to a package are held back (the screens say it in words)."""

    RATE_LIMIT = "rate_limit"  # the package's per-minute allowance
    DAILY_LIMIT = "daily_limit"  # the package's calls per day are used up
    ERROR_LIMIT = "error_limit"  # one more error answer could block the endpoint
    SHARED_STATE = "shared_state"  # Redis (limiter, error counts) cannot be reached
    RENEWAL = "renewal"  # a new access token is not allowed yet


class CallsHeld(Exception):
    """No call now: raised before anything is sent, so the line loses no attempt.

    Raised from the client's request hook (or the credential store) and passed through
    the connector untouched; the engine stores ``seconds`` on the line as its next
    attempt and tells why.
    """

    def __init__(self, seconds: float, hold: Hold = Hold.RATE_LIMIT) -> None:
        super().__init__(f"{hold.value}: wait {seconds:.1f} s")
        self.seconds = seconds
        self.hold = hold


class Limiter(Protocol):
    """Admission control shared by every worker of one integration."""

    def acquire(self) -> None:
        """Block until one more call to the package is allowed."""
        ...

    def observe(self, remaining: int, reset_at: float) -> None:
        """Tell the limiter what the package's rate-limit headers said."""
        ...


class Guard(Protocol):
    """A check around every call to a package beside the limiter (error budget, daily cap).

    ``before`` may raise CallsHeld: the request is not sent. ``after`` sees every
    answer (not calls that got none).
    """

    def before(self, request: httpx.Request) -> None: ...

    def after(self, response: httpx.Response) -> None: ...


def build_client(
    *,
    base_url: str,
    limiter: Limiter | None = None,
    rate_limit_state: Callable[[httpx.Response], tuple[int, float] | None] | None = None,
    guards: Sequence[Guard] = (),
    transport: httpx.BaseTransport | None = None,
    max_connections: int = 16,
) -> httpx.Client:
    """An httpx.Client for one integration.

    ``limiter.acquire`` runs before every request, and the package's own rate-limit
    headers are fed back through ``rate_limit_state`` after every response, so the
    portal slows down before the package answers 429. ``guards`` run after the limiter
    (before a request) and after it (on an answer).
    """

    def before(request: httpx.Request) -> None:
        if limiter is not None:
            limiter.acquire()
        for guard in guards:
            guard.before(request)

    def after(response: httpx.Response) -> None:
        if limiter is not None and rate_limit_state is not None:
            state = rate_limit_state(response)
            if state is not None:
                limiter.observe(*state)
        for guard in guards:
            guard.after(response)

    return httpx.Client(
        base_url=base_url,
        timeout=DEFAULT_TIMEOUT,
        limits=httpx.Limits(
            max_connections=max_connections, max_keepalive_connections=max_connections
        ),
        headers={"Accept": "application/json", "User-Agent": "CloudPortal/0.1"},
        event_hooks={"request": [before], "response": [after]},
        transport=transport,
        follow_redirects=False,
    )
