"""The one place where connectors get their HTTP client.

Timeouts, the connection pool and the shared rate limiter are set here (the record of
every exchange is kept by ``integrations.exchanges``), so a test can replace the
transport in one spot and every connector behaves the same way on the wire.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, Protocol

import httpx

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

# Never let one call hang a worker: connect fast, read within the package's usual time.
DEFAULT_TIMEOUT = httpx.Timeout(connect=5.0, read=30.0, write=30.0, pool=30.0)


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
