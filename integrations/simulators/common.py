"""Machinery both simulators share: fault knobs, the ledger, counters, rate limits, control API.

Every request passes :class:`FaultMiddleware` first (a plain ASGI middleware, so it costs
next to nothing). For calls of the package's API it injects latency, 429 bursts, rate
limits, transient 5xx answers and timeouts *before* the handler runs, so none of those
books anything, then checks the bearer token. The token and authorize endpoints only get
latency; ``/_sim/*`` gets nothing.

The control API (``/_sim/ledger``, ``/_sim/reset``, ``/_sim/faults``, ``/_sim/stats``,
``/_sim/errors``: the error answers per endpoint and the blocks they caused) is the same
for every simulator; other engineers' tests code against it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import pickle
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, fields, replace
from decimal import Decimal, InvalidOperation
from email.utils import formatdate
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from integrations.simulators.errorlimit import COUNTED_STATUSES, ErrorLedger
from integrations.simulators.oauth import TokenStore
from integrations.simulators.ratelimit import RateLimits

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from starlette.requests import Request
    from starlette.types import ASGIApp, Message, Receive, Scope, Send


@dataclass
class Faults:
    """The knobs. Defaults of one simulator are set when it is created; reset returns to them."""

    latency_ms: int = 0
    error_rate: float = 0.0
    burst_429: int = 0
    retry_after_format: str = "seconds"
    retry_after_seconds: int = 1
    timeout_rate: float = 0.0
    timeout_seconds: float = 35.0
    drop_after_book_rate: float = 0.0
    rate_limit_per_minute: int | None = None
    rate_limit_per_day: int | None = None
    token_ttl: int = 3600
    revoke_tokens: bool = False
    seed: int | None = None
    # Look-ups (GET) answer 503 at this rate, before the handler: "the package's reads
    # are failing for a while" while its writes may still book.
    get_error_rate: float = 0.0
    # Book a second copy of a record whose key is already booked instead of refusing it,
    # so a test sees a double booking that only the portal's own engine can prevent.
    accept_duplicates: bool = False
    # Exact's error limit: more than ``error_limit`` answers of 400/401/403/404 on one
    # endpoint within ``error_window_seconds`` block the key on that endpoint for the
    # window. None: no limit (Multivers documents none).
    error_limit: int | None = None
    error_window_seconds: float = 3600.0
    # Exact's token cadence: a new access token at most once per ``token_min_interval``
    # seconds and ``token_calls_per_day`` token calls a day, per grant (one user's link).
    token_min_interval: float = 0.0
    token_calls_per_day: int | None = None
    # The length of the simulator's "day" (daily caps; midnight is a multiple of it), so a
    # test can bring midnight within seconds.
    day_seconds: float = 86400.0
    # How long an authorization code lives, and the one redirect URI the demo client is
    # registered with (None: every local callback, so tests on any port can connect).
    code_ttl: float = 600.0
    registered_redirect_uri: str | None = None
    # The connected user's language; the package answers its messages in it.
    user_language: str = "en-GB"
    # Open items lists: rows a page (None: the package's own), and a bad answer on
    # purpose ("missing_field", "wrong_type", "empty_next"; see each simulator).
    list_page_size: int | None = None
    open_items_fault: str | None = None


_FAULT_TYPES = {
    "latency_ms": int,
    "error_rate": float,
    "burst_429": int,
    "retry_after_format": str,
    "retry_after_seconds": int,
    "timeout_rate": float,
    "timeout_seconds": float,
    "drop_after_book_rate": float,
    "rate_limit_per_minute": int,
    "rate_limit_per_day": int,
    "token_ttl": int,
    "revoke_tokens": bool,
    "seed": int,
    "get_error_rate": float,
    "accept_duplicates": bool,
    "error_limit": int,
    "error_window_seconds": float,
    "token_min_interval": float,
    "token_calls_per_day": int,
    "day_seconds": float,
    "code_ttl": float,
    "registered_redirect_uri": str,
    "user_language": str,
    "list_page_size": int,
    "open_items_fault": str,
}
_NULLABLE = {
    "rate_limit_per_minute",
    "rate_limit_per_day",
    "seed",
    "error_limit",
    "token_calls_per_day",
    "registered_redirect_uri",
    "list_page_size",
    "open_items_fault",
}


def parse_faults(data: dict[str, Any]) -> dict[str, Any]:
    """Check and coerce a knob update; raise ValueError naming the bad knob."""
    known = {f.name for f in fields(Faults)}
    parsed: dict[str, Any] = {}
    for name, value in data.items():
        if name not in known:
            raise ValueError(f"unknown knob {name!r}; known: {', '.join(sorted(known))}")
        if value is None and name in _NULLABLE:
            parsed[name] = None
            continue
        try:
            parsed[name] = _FAULT_TYPES[name](value)
        except (TypeError, ValueError):
            raise ValueError(f"knob {name!r} must be {_FAULT_TYPES[name].__name__}") from None
    if parsed.get("retry_after_format", "seconds") not in ("seconds", "http-date"):
        raise ValueError("knob 'retry_after_format' must be 'seconds' or 'http-date'")
    for name in ("day_seconds", "error_window_seconds"):
        if name in parsed and parsed[name] <= 0:
            raise ValueError(f"knob {name!r} must be more than 0")
    return parsed


class Ledger:
    """Every successful booking, in order, plus the duplicates that were refused."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._bookings: list[dict[str, Any]] = []
        self._refused: list[dict[str, Any]] = []

    def book(
        self,
        entity: str,
        key: str,
        id: str,
        body: dict[str, Any],
        *,
        scope: str,
        update: bool = False,
    ) -> None:
        entry = {
            "entity": entity,
            "key": key,
            "id": id,
            "body": body,
            "at": time.time(),
            "scope": scope,
        }
        if update:
            entry["update"] = True
        with self._lock:
            self._bookings.append(entry)

    def refuse(self, entity: str, key: str, *, scope: str) -> None:
        with self._lock:
            self._refused.append({"entity": entity, "key": key, "at": time.time(), "scope": scope})

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {"bookings": list(self._bookings), "refused_duplicates": list(self._refused)}

    def clear(self) -> None:
        with self._lock:
            self._bookings.clear()
            self._refused.clear()

    def state(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        with self._lock:
            return list(self._bookings), list(self._refused)

    def load_state(self, state: tuple[list[dict[str, Any]], list[dict[str, Any]]]) -> None:
        with self._lock:
            self._bookings, self._refused = list(state[0]), list(state[1])


@dataclass(frozen=True)
class Policy:
    """What differs per package: which paths are API calls, their rate-limit key, error bodies."""

    classify: Callable[
        [str], tuple[str, str]
    ]  # path -> ("api" | "token" | "other", rate-limit key)
    error_body: Callable[[str], bytes]  # message -> body in the package's error shape
    unauthorized_body: bytes
    rate_limit_headers: bool  # Exact sends X-RateLimit-* on every call; Multivers only Retry-After
    # path -> the endpoint errors are counted on (Exact's error limit), "" for none.
    endpoint_of: Callable[[str], str] = lambda path: ""
    # The answer of a key blocked on an endpoint by the error limit: (status, message).
    blocked: tuple[int, str] = (429, "Too many errors")


class Simulator:
    """The whole mutable state of one simulator; lives on ``app.state.sim``.

    With a ``state_path`` every change (a booking, a token, a reserved number, a counted
    error) is written there before the answer leaves, so a simulator killed with -9 and
    started again on the same file keeps its books and grants, as a real package does.
    """

    def __init__(self, defaults: Faults, *, state_path: Path | None = None) -> None:
        self.defaults = defaults
        self.state_path = state_path
        self.ledger = Ledger()
        self.tokens = TokenStore()
        self.limits = RateLimits()
        self.errors = ErrorLedger()
        self.on_reset: list[Callable[[], None]] = []
        # The package's own records (divisions, administrations): a getter and a setter,
        # set by the app, so they are saved and restored with the rest.
        self.records: tuple[Callable[[], Any], Callable[[Any], None]] | None = None
        self.reset()

    def persist(self) -> None:
        """Write the state to ``state_path`` (atomically: a crash leaves the old or the new)."""
        if self.state_path is None:
            return
        state = {
            "records": self.records[0]() if self.records else None,
            "ledger": self.ledger.state(),
            "tokens": self.tokens.state(),
            "limits": self.limits.state(),
            "errors": vars(self.errors),
        }
        partial = self.state_path.with_suffix(".partial")
        partial.write_bytes(pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL))
        os.replace(partial, self.state_path)

    def restore(self) -> bool:
        """Load what ``persist`` wrote; False when there is nothing to load."""
        if self.state_path is None or not self.state_path.exists():
            return False
        # Our own file, written by persist() above: never data from elsewhere.
        state = pickle.loads(self.state_path.read_bytes())  # noqa: S301
        if self.records and state["records"] is not None:
            self.records[1](state["records"])
        self.ledger.load_state(state["ledger"])
        self.tokens.load_state(state["tokens"])
        self.limits.load_state(state["limits"])
        vars(self.errors).update(state["errors"])
        return True

    def reset(self) -> None:
        self.faults = replace(self.defaults)
        self.rng = random.Random(self.faults.seed)
        self.ledger.clear()
        self.tokens.clear()
        self.tokens.ttl = self.faults.token_ttl
        self.limits.clear()
        self.limits.day_seconds = self.faults.day_seconds
        self.errors.clear()
        self.requests = 0
        self.by_status: Counter[int] = Counter()
        self.sent_429 = 0
        self.token_calls = 0
        # Token calls refused by the cadence: "early" (within token_min_interval), "day".
        self.token_refusals: Counter[str] = Counter()
        for hook in self.on_reset:
            hook()

    def set_faults(self, changes: dict[str, Any]) -> None:
        self.faults = replace(self.faults, **changes)
        if "seed" in changes:
            self.rng = random.Random(self.faults.seed)
        if "token_ttl" in changes:
            self.tokens.ttl = self.faults.token_ttl
        self.limits.day_seconds = self.faults.day_seconds
        if self.faults.revoke_tokens:
            self.tokens.revoke_all()
            self.faults.revoke_tokens = False

    def chance(self, rate: float) -> bool:
        return rate > 0 and self.rng.random() < rate

    def stats(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "by_status": {str(code): n for code, n in sorted(self.by_status.items())},
            "sent_429": self.sent_429,
            "token_calls": self.token_calls,
            "token_refusals": dict(self.token_refusals),
            # When each grant got its tokens, so a test can check the gaps between them.
            "token_grants": self.tokens.grants(),
            "bookings": len(self.ledger.snapshot()["bookings"]),
            "error_blocks": len(self.errors.blocks),
        }


def retry_after(faults: Faults, seconds: float) -> bytes:
    seconds = max(1, int(seconds + 0.999))
    if faults.retry_after_format == "http-date":
        return formatdate(time.time() + seconds, usegmt=True).encode()
    return str(seconds).encode()


class FaultMiddleware:
    """Counts every answer, injects the knobs' faults, enforces rate limits and bearer tokens."""

    def __init__(self, app: ASGIApp, sim: Simulator, policy: Policy) -> None:
        self.app = app
        self.sim = sim
        self.policy = policy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/_sim"):
            await self.app(scope, receive, send)
            return
        sim = self.sim
        faults = sim.faults
        sim.requests += 1
        kind, key = self.policy.classify(scope["path"])
        endpoint = self.policy.endpoint_of(scope["path"]) if kind == "api" else ""
        extra: list[tuple[bytes, bytes]] = []
        # Everything but a plain API read may change the state (the authorize page issues
        # a code): saved before the answer leaves.
        changes = kind != "api" or scope["method"] != "GET"

        async def counting_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                status = message["status"]
                sim.by_status[status] += 1
                if status == 429:
                    sim.sent_429 += 1
                if endpoint:
                    sim.errors.record(
                        endpoint,
                        status,
                        time.time(),
                        limit=sim.faults.error_limit,
                        window=sim.faults.error_window_seconds,
                    )
                if extra:
                    message["headers"] = [*message.get("headers", []), *extra]
                if changes or (endpoint and status in COUNTED_STATUSES):
                    sim.persist()
            await send(message)

        if kind == "token":
            sim.token_calls += 1
        if faults.latency_ms:
            await asyncio.sleep(faults.latency_ms / 1000)
        if kind == "api":
            refusal = self._blocked(endpoint, extra) or await self._refusal(
                scope, receive, key, extra
            )
            if refusal is not None:
                await refusal(scope, receive, counting_send)
                return
        await self.app(scope, receive, counting_send)

    def _blocked(self, endpoint: str, extra: list[tuple[bytes, bytes]]) -> Response | None:
        """The answer of a key that the error limit blocked on this endpoint."""
        until = self.sim.errors.blocked(endpoint, time.time()) if endpoint else None
        if until is None:
            return None
        extra.append((b"Retry-After", retry_after(self.sim.faults, until - time.time())))
        status, message = self.policy.blocked
        return _raw(status, self.policy.error_body(message))

    async def _refusal(
        self, scope: Scope, receive: Receive, key: str, extra: list[tuple[bytes, bytes]]
    ) -> Response | None:
        """The answer a fault or limit gives instead of the handler's, or None to go on."""
        sim, faults, policy = self.sim, self.sim.faults, self.policy
        if faults.burst_429 > 0:
            faults.burst_429 -= 1
            extra.append((b"Retry-After", retry_after(faults, faults.retry_after_seconds)))
            return _raw(429, policy.error_body("Too many requests"))
        if faults.rate_limit_per_minute is not None or faults.rate_limit_per_day is not None:
            allowed, headers, wait = sim.limits.hit(
                key, faults.rate_limit_per_minute, faults.rate_limit_per_day
            )
            if policy.rate_limit_headers:
                extra.extend(headers)
            if not allowed:
                if not policy.rate_limit_headers:
                    extra.append((b"Retry-After", retry_after(faults, wait)))
                return _raw(429, policy.error_body("Too many requests"))
        if scope["method"] == "GET" and sim.chance(faults.get_error_rate):
            return _raw(503, policy.error_body("Service Unavailable"))
        if sim.chance(faults.error_rate):
            status = 503 if sim.rng.random() < 0.7 else 500
            return _raw(
                status,
                policy.error_body(
                    "Service Unavailable" if status == 503 else "Internal Server Error"
                ),
            )
        if sim.chance(faults.timeout_rate):
            await _wait_for_disconnect(receive, faults.timeout_seconds)
            return _raw(504, policy.error_body("Gateway Timeout"))
        if not sim.tokens.valid(_bearer(scope)):
            return _raw(401, policy.unauthorized_body)
        return None


def _raw(status: int, body: bytes) -> Response:
    return Response(body, status_code=status, media_type="application/json")


def _bearer(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            return token.strip() if scheme.lower() == "bearer" else ""
    return ""


async def _wait_for_disconnect(receive: Receive, seconds: float) -> None:
    """Sleep like a hung server, but stop as soon as the client has given up."""

    async def until_disconnect() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass

    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(until_disconnect(), seconds)


class DropConnection(Exception):
    """Raised where no transport is at hand (in-process transports): the client sees an error."""


def drop_connection(request: Request) -> Response:
    """Close the client's connection without a byte of answer (the "booked, then lost" case).

    uvicorn hands the app its cycle's bound ``send``; its transport is closed here, so the
    response Starlette then writes goes nowhere and httpx raises RemoteProtocolError
    ("Server disconnected without sending a response").
    """
    transport = request.scope.get("sim.transport")
    if transport is None:
        raise DropConnection("simulated connection drop after booking")
    transport.close()
    return Response(status_code=204)


def capture_transport(scope: Scope, send: Send) -> None:
    """Keep the server's transport in the scope so :func:`drop_connection` can close it."""
    owner = getattr(send, "__self__", None)
    scope["sim.transport"] = getattr(owner, "transport", None)


def json_body(data: bytes) -> Any:
    """Parse a request body; None when it is not JSON."""
    try:
        return json.loads(data) if data else None
    except ValueError:
        return None


def amount(value: Any) -> Decimal | None:
    """An amount from a request body (a missing one is 0); None when it is no number."""
    try:
        return Decimal(str(value if value is not None else 0))
    except InvalidOperation:
        return None


def control_routes() -> list[Route]:
    """The ``/_sim/*`` routes, the same for every simulator."""

    async def ledger(request: Request) -> Response:
        return JSONResponse(request.app.state.sim.ledger.snapshot())

    async def reset(request: Request) -> Response:
        request.app.state.sim.reset()
        request.app.state.sim.persist()
        return JSONResponse({"reset": True})

    async def errors(request: Request) -> Response:
        sim = request.app.state.sim
        return JSONResponse(sim.errors.snapshot(time.time(), sim.faults.error_window_seconds))

    async def faults(request: Request) -> Response:
        sim = request.app.state.sim
        if request.method == "POST":
            data = json_body(await request.body())
            if not isinstance(data, dict):
                return JSONResponse({"error": "send a JSON object of knobs"}, status_code=400)
            try:
                sim.set_faults(parse_faults(data))
            except ValueError as exc:
                return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse(vars(sim.faults))

    async def stats(request: Request) -> Response:
        return JSONResponse(request.app.state.sim.stats())

    return [
        Route("/_sim/ledger", ledger),
        Route("/_sim/reset", reset, methods=["POST"]),
        Route("/_sim/faults", faults, methods=["GET", "POST"]),
        Route("/_sim/stats", stats),
        Route("/_sim/errors", errors),
    ]


class SimulatorApp(Starlette):
    """A Starlette app that keeps the server's transport at hand for connection drops."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            capture_transport(scope, send)
        await super().__call__(scope, receive, send)


def build_app(routes: list[BaseRoute], sim: Simulator, policy: Policy) -> Starlette:
    """Assemble a simulator: control API first, the package's routes, the fault middleware.

    Call ``sim.restore()`` once the app has set ``sim.records``.
    """
    app = SimulatorApp(
        routes=[*control_routes(), *routes],
        middleware=[Middleware(FaultMiddleware, sim=sim, policy=policy)],
    )
    app.state.sim = sim
    return app
