"""Admission control towards an accounting package, shared by every worker of an integration.

Two things live here:

* ``PackageLimiter`` (the ``integrations.http.Limiter`` protocol): a GCRA pacer. Calls are
  spaced evenly at the package's declared rate (a little under it), and as soon as the
  package reports its own window (``observe(remaining, reset_at)``, e.g. Exact's
  ``X-RateLimit-Minutely-*`` headers) the spacing follows the window instead: the calls
  still allowed are spread over the time left, so the full allowance is used without a
  429. ``remaining == 0`` stops every worker until the window resets. With Redis the
  state is one hash per integration changed by Lua scripts (atomic, one round trip);
  without Redis (the embedded default runs one worker) it is process-local.
* ``CircuitBreaker``: after N consecutive transient faults the integration is left alone
  for a cool-off, then one probe decides. State is in Django's cache so all workers agree.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import random
import threading
import time
import uuid
from dataclasses import dataclass
from functools import cache as memoize
from typing import TYPE_CHECKING

import redis
from django.conf import settings
from django.core.cache import cache

from integrations.connectors.base import Connector
from integrations.http import CallsHeld, Hold

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    import httpx

    from integrations.connectors.base import ErrorBudget, RateLimit
    from integrations.http import Guard

logger = logging.getLogger(__name__)

# Pace at this share of a declared rate: evenly spaced calls at exactly the limit can
# still land L+1 of them in one fixed window of the package.
DECLARED_RATE_SHARE = 0.97
# Calls of the package's window kept in reserve for requests in flight we cannot see.
WINDOW_RESERVE = 1
# Wait this much past a reported reset, for the package's clock and ours to agree.
RESET_MARGIN = 0.05
# A waiting caller re-checks at least this often (another worker may have learnt more).
MAX_NAP = 0.5
# State of an idle integration is forgotten after a day.
STATE_TTL_SECONDS = 86_400
# Without a declared rate, how stale this process's copy of the shared state may be
# (see ``_FreeGate``): a pause another worker stored is honoured at most this late.
FREE_RECHECK_SECONDS = 0.25


class RateLimitWait(CallsHeld):
    """The package's allowance is used up for longer than a worker should block."""

    def __init__(self, seconds: float, hold: Hold = Hold.RATE_LIMIT) -> None:
        super().__init__(seconds, hold)


@dataclass
class PacerState:
    """One integration's pacing state; the Lua script below keeps the same fields."""

    tat: float = 0.0  # theoretical arrival time of the next call (GCRA)
    seq: int = 0  # calls admitted so far
    remaining: int = -1  # the package's last reported allowance (-1: unknown)
    reset_at: float = 0.0  # when that window ends (epoch seconds)
    observed_seq: int = 0  # calls admitted before the report's request
    blocked_until: float = 0.0  # nobody calls before this (remaining 0, a 429)

    def admit(self, now: float, base_interval: float) -> tuple[int, float]:
        """``(seq, 0)`` when a call may go now, else ``(0, seconds to wait)``."""
        if self.blocked_until > now:
            return 0, self.blocked_until - now
        interval = base_interval
        if self.remaining >= 0 and self.reset_at > now:
            budget = self.remaining - (self.seq - self.observed_seq) - WINDOW_RESERVE
            if budget <= 0:
                return 0, self.reset_at - now + RESET_MARGIN
            interval = (self.reset_at - now) / budget
        start = max(self.tat, now)
        if start > now:
            return 0, start - now
        self.tat = start + interval
        self.seq += 1
        return self.seq, 0.0

    def observe(self, remaining: int, reset_at: float, seq: int) -> None:
        if remaining <= 0:
            self.blocked_until = max(self.blocked_until, reset_at + RESET_MARGIN)
        newer_window = reset_at > self.reset_at + 0.5
        if newer_window or (abs(reset_at - self.reset_at) <= 0.5 and seq >= self.observed_seq):
            self.remaining, self.reset_at, self.observed_seq = remaining, reset_at, seq

    def free(self, now: float) -> bool:
        """True when, without a declared rate, ``admit`` would let any call go at once."""
        window = self.remaining >= 0 and self.reset_at > now
        return self.blocked_until <= now and self.tat <= now and not window


class _LocalPacer:
    """Process-local state, for the embedded default (one worker process)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._state = PacerState()

    def admit(self, base_interval: float) -> tuple[int, float]:
        with self._lock:
            return self._state.admit(time.time(), base_interval)

    def observe(self, remaining: int, reset_at: float, seq: int) -> None:
        with self._lock:
            self._state.observe(remaining, reset_at, seq)

    def peek(self) -> PacerState:
        with self._lock:
            return dataclasses.replace(self._state)


# The same algorithm as PacerState, in one atomic step on the Redis server. Numbers
# go back as strings: Redis truncates Lua numbers to integers.
_ADMIT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1e6
local base = tonumber(ARGV[1])
local h = redis.call('HMGET', KEYS[1], 'tat', 'seq', 'remaining', 'reset_at', 'observed_seq', 'blocked_until')
local tat = tonumber(h[1]) or 0
local seq = tonumber(h[2]) or 0
local remaining = tonumber(h[3]) or -1
local reset_at = tonumber(h[4]) or 0
local observed_seq = tonumber(h[5]) or 0
local blocked_until = tonumber(h[6]) or 0
if blocked_until > now then return {0, tostring(blocked_until - now)} end
local interval = base
if remaining >= 0 and reset_at > now then
  local budget = remaining - (seq - observed_seq) - tonumber(ARGV[2])
  if budget <= 0 then return {0, tostring(reset_at - now + tonumber(ARGV[3]))} end
  interval = (reset_at - now) / budget
end
local start = math.max(tat, now)
if start > now then return {0, tostring(start - now)} end
seq = seq + 1
redis.call('HSET', KEYS[1], 'tat', tostring(start + interval), 'seq', seq)
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[4]))
return {seq, '0'}
"""

_OBSERVE = """
local remaining = tonumber(ARGV[1])
local reset_at = tonumber(ARGV[2])
local seq = tonumber(ARGV[3])
local h = redis.call('HMGET', KEYS[1], 'reset_at', 'observed_seq', 'blocked_until')
local known_reset = tonumber(h[1]) or 0
local observed_seq = tonumber(h[2]) or 0
local blocked_until = tonumber(h[3]) or 0
if remaining <= 0 then
  redis.call('HSET', KEYS[1], 'blocked_until', tostring(math.max(blocked_until, reset_at + tonumber(ARGV[4]))))
end
if reset_at > known_reset + 0.5 or (math.abs(reset_at - known_reset) <= 0.5 and seq >= observed_seq) then
  redis.call('HSET', KEYS[1], 'remaining', remaining, 'reset_at', tostring(reset_at), 'observed_seq', seq)
end
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[5]))
return 1
"""


@memoize
def _redis():  # type: ignore[no-untyped-def]
    import redis

    return redis.Redis.from_url(settings.REDIS_URL)


class _RedisPacer:
    def __init__(self, key: str) -> None:
        client = _redis()
        self._key = key
        self._admit = client.register_script(_ADMIT)
        self._observe = client.register_script(_OBSERVE)

    def admit(self, base_interval: float) -> tuple[int, float]:
        seq, wait = self._admit(
            keys=[self._key], args=[base_interval, WINDOW_RESERVE, RESET_MARGIN, STATE_TTL_SECONDS]
        )
        return int(seq), float(wait)

    def observe(self, remaining: int, reset_at: float, seq: int) -> None:
        self._observe(
            keys=[self._key],
            args=[remaining, reset_at, seq, RESET_MARGIN, STATE_TTL_SECONDS],
        )

    def peek(self) -> PacerState:
        """The shared state as it is now: one plain HMGET, nothing changed."""
        names = ("tat", "seq", "remaining", "reset_at", "observed_seq", "blocked_until")
        values = _redis().hmget(self._key, names)
        state = PacerState()
        for name, value in zip(names, values, strict=True):
            if value is not None:
                setattr(state, name, type(getattr(state, name))(float(value)))
        return state


class _FreeGate:
    """Whether a connector that declares no rate may skip the pacer, from a cached peek.

    Without a declared rate (Multivers) the pacer admits every call at once unless a 429
    paused the integration or the package reported a window, yet asking it costs a Redis
    round trip per call (~22 % of the pool threads' time). So this process peeks at the
    shared state at most every ``FREE_RECHECK_SECONDS`` and, while it is free, admits
    calls without asking; otherwise calls go through the pacer as before. A pause stored
    by this process is seen at once (``forget``); one stored by another worker within
    ``FREE_RECHECK_SECONDS``.
    """

    def __init__(self, pacer: _LocalPacer | _RedisPacer) -> None:
        self.pacer = pacer
        self._refreshing = threading.Lock()
        # (state, monotonic time it was read), replaced as a whole: threads read it unlocked.
        self._known: tuple[PacerState | None, float] = (None, 0.0)
        self._generation = 0  # moved on by ``forget``: a peek begun before is not kept

    def admits(self) -> int | None:
        """The pacer's call count (for ``observe``) when a call may go unasked, else None."""
        state, read_at = self._known
        now = time.monotonic()
        # One thread refreshes; the others go on with what is known meanwhile (nothing
        # known: through the pacer), so no thread queues behind a Redis round trip.
        if (state is None or now - read_at >= FREE_RECHECK_SECONDS) and self._refreshing.acquire(
            blocking=False
        ):
            try:
                generation = self._generation
                state = self.pacer.peek()
                if generation == self._generation:
                    self._known = (state, now)
                else:
                    state = None  # a pause came meanwhile: this call asks the pacer
            finally:
                self._refreshing.release()
        if state is None or not state.free(time.time()):
            return None
        return state.seq

    def forget(self) -> None:
        self._generation += 1
        self._known = (None, 0.0)


_local_pacers: dict[str, _LocalPacer] = {}
_local_lock = threading.Lock()


_free_gates: dict[str, _FreeGate] = {}


def _pacer(key: str) -> _LocalPacer | _RedisPacer:
    if settings.REDIS_URL:
        return _RedisPacer(key)
    with _local_lock:
        return _local_pacers.setdefault(key, _LocalPacer())


def _free_gate(key: str, pacer: _LocalPacer | _RedisPacer) -> _FreeGate:
    # One per integration and process, so a pause seen through any limiter instance
    # (the connector's client and the engine each hold one) reaches all of them.
    with _local_lock:
        gate = _free_gates.get(key)
        # A local pacer that was replaced (tests reset them) needs a gate of its own.
        if gate is None or (isinstance(pacer, _LocalPacer) and gate.pacer is not pacer):
            gate = _free_gates[key] = _FreeGate(pacer)
        return gate


class PackageLimiter:
    """The ``Limiter`` of one integration: every call to its package passes ``acquire``."""

    def __init__(self, integration_id: int, rate: RateLimit | None) -> None:
        key = f"portal:ratelimit:{integration_id}"
        self._pacer = _pacer(key)
        self._base_interval = rate.per_seconds / (rate.calls * DECLARED_RATE_SHARE) if rate else 0.0
        # No declared rate: ask the pacer only when the shared state says it might wait.
        self._gate = _free_gate(key, self._pacer) if not rate else None
        self._max_wait = settings.LIMITER_MAX_WAIT_SECONDS
        # Which admitted call this thread made, so its answer's headers are placed right.
        self._local = threading.local()

    def acquire(self) -> None:
        """Block until one more call is allowed; raise RateLimitWait if that is far off.

        Without Redis nobody can know what the other workers sent: no call goes, and
        the line waits ``LIMITER_SHARED_STATE_RETRY_SECONDS`` without losing an attempt
        (it is not the line's fault, and the package was not asked).
        """
        try:
            self._acquire()
        except redis.RedisError as exc:
            logger.warning("shared rate-limit state unavailable: %r", exc)
            raise CallsHeld(settings.LIMITER_SHARED_STATE_RETRY_SECONDS, Hold.SHARED_STATE) from exc

    def _acquire(self) -> None:
        if self._gate is not None:
            seq = self._gate.admits()
            if seq is not None:
                self._local.seq = seq
                return
        while True:
            seq, wait = self._pacer.admit(self._base_interval)
            if seq:
                self._local.seq = seq
                return
            if wait > self._max_wait:
                raise RateLimitWait(wait)
            time.sleep(min(wait, MAX_NAP))

    def observe(self, remaining: int, reset_at: float) -> None:
        # What the package reported is advice; without Redis the next acquire holds anyway.
        with _soft("rate-limit report"):
            self._pacer.observe(remaining, reset_at, getattr(self._local, "seq", 0))
        if self._gate is not None:
            self._gate.forget()

    def pause(self, seconds: float) -> None:
        """Nobody calls for ``seconds`` (the package answered 429 with Retry-After)."""
        with _soft("rate-limit pause"):
            self._pacer.observe(0, time.time() + seconds, getattr(self._local, "seq", 0))
        if self._gate is not None:
            self._gate.forget()


@contextlib.contextmanager
def _soft(what: str) -> Iterator[None]:
    """Shared state that cannot be written is logged, never a line's failure."""
    try:
        yield
    except redis.RedisError as exc:
        logger.warning("shared state unavailable (%s): %r", what, exc)


def limiter_for(integration_id: int, rate: RateLimit | None) -> PackageLimiter:
    return PackageLimiter(integration_id, rate)


# --- circuit breaker -----------------------------------------------------------------


@dataclass(frozen=True)
class BreakerVerdict:
    allowed: bool
    probe: bool = False  # half-open: send one line and let it decide
    wait: float = 0.0  # when not allowed: seconds until the next probe
    down_since: float | None = None  # start of the current run of faults


class CircuitBreaker:
    """Per integration; opens after ``CIRCUIT_FAILURES`` consecutive transient faults.

    Counts are kept in the cache with plain get/set: two workers may lose an increment,
    which only delays opening by a fault or two.
    """

    def __init__(self, integration_id: int) -> None:
        prefix = f"portal:circuit:{integration_id}:"
        self._failures, self._open_until, self._since, self._probe = (
            prefix + name for name in ("failures", "open_until", "since", "probe")
        )
        self.threshold = settings.CIRCUIT_FAILURES
        self.cooloff = settings.CIRCUIT_COOLOFF_SECONDS

    def check(self) -> BreakerVerdict:
        """Whether lines may go. Without the shared cache the breaker stays out of the
        way: the rate limiter holds calls then anyway, and a breaker that cannot count
        must not stop a run."""
        try:
            return self._check()
        except redis.RedisError as exc:
            logger.warning("circuit breaker state unavailable: %r", exc)
            return BreakerVerdict(allowed=True)

    def _check(self) -> BreakerVerdict:
        state = cache.get_many([self._open_until, self._since])
        open_until = state.get(self._open_until)
        if open_until is None:
            return BreakerVerdict(allowed=True)
        now = time.time()
        if open_until > now:
            return BreakerVerdict(
                allowed=False, wait=open_until - now, down_since=state.get(self._since)
            )
        # Half-open: the first worker to ask sends one probe; the others wait for it.
        if cache.add(self._probe, 1, timeout=max(1, int(self.cooloff))):
            return BreakerVerdict(allowed=True, probe=True, down_since=state.get(self._since))
        return BreakerVerdict(
            allowed=False, wait=min(self.cooloff, 5.0), down_since=state.get(self._since)
        )

    def record(self, outcomes: list[bool]) -> None:
        """Feed the transient faults and successes of a batch, in the order they came."""
        with _soft("circuit breaker"):
            self._record(outcomes)

    def _record(self, outcomes: list[bool]) -> None:
        if not outcomes:
            return
        if any(outcomes):
            trailing = len(outcomes) - 1 - max(i for i, ok in enumerate(outcomes) if ok)
            if trailing == 0:
                self._reset(only_if_dirty=True)
                return
            failures = trailing
            cache.delete_many([self._since, self._open_until, self._probe])
        else:
            failures = int(cache.get(self._failures) or 0) + len(outcomes)
        cache.set(self._failures, failures, timeout=STATE_TTL_SECONDS)
        if failures >= self.threshold:
            now = time.time()
            cache.add(self._since, now, timeout=STATE_TTL_SECONDS)
            # Jitter, so workers of several integrations on one broken host do not probe at once.
            cache.set(
                self._open_until,
                now + self.cooloff * random.uniform(1.0, 1.2),
                timeout=STATE_TTL_SECONDS,
            )
            cache.delete(self._probe)

    def reset(self, *, only_if_dirty: bool = False) -> None:
        with _soft("circuit breaker"):
            self._reset(only_if_dirty=only_if_dirty)

    def _reset(self, *, only_if_dirty: bool = False) -> None:
        if only_if_dirty and not cache.get(self._failures):
            return
        cache.delete_many([self._failures, self._open_until, self._since, self._probe])


# --- the package's error limit, per endpoint -----------------------------------------

# A call that got no answer (its worker died, the connection broke) stops counting as
# "in flight" after this long: the client's own read timeout, and a little.
IN_FLIGHT_TTL_SECONDS = 35.0
# When errors plus calls in flight fill the budget, a caller looks again this soon.
BUDGET_NAP = 0.2
_BUDGET_REQUEST_KEY = "portal.error_budget"

# Errors in the window plus calls in flight (each may become an error) stay under
# ``stop_at``: answers {1, 0} (admitted), {0, seconds} (errors fill it: wait), or
# {0, -1} (calls in flight fill it: look again shortly).
_BUDGET_ADMIT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1e6
local window = tonumber(ARGV[1])
local stop_at = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - tonumber(ARGV[3]))
local errors = redis.call('ZCARD', KEYS[1])
if errors >= stop_at then
  local oldest = redis.call('ZRANGE', KEYS[1], errors - stop_at, errors - stop_at, 'WITHSCORES')
  return {0, tostring(tonumber(oldest[2]) + window - now)}
end
if errors + redis.call('ZCARD', KEYS[2]) >= stop_at then return {0, '-1'} end
redis.call('ZADD', KEYS[2], now, ARGV[4])
redis.call('EXPIRE', KEYS[1], math.ceil(window) + 1)
redis.call('EXPIRE', KEYS[2], math.ceil(tonumber(ARGV[3])) + 1)
return {1, '0'}
"""

_BUDGET_SETTLE = """
redis.call('ZREM', KEYS[2], ARGV[1])
if ARGV[2] == '1' then
  local t = redis.call('TIME')
  redis.call('ZADD', KEYS[1], tonumber(t[1]) + tonumber(t[2]) / 1e6, ARGV[1])
  redis.call('EXPIRE', KEYS[1], math.ceil(tonumber(ARGV[3])) + 1)
end
return 1
"""


class _LocalBudget:
    """Process-local error counts, for the embedded default (one worker process)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._errors: dict[str, list[float]] = {}
        self._in_flight: dict[str, dict[str, float]] = {}

    def admit(self, key: str, member: str, window: float, stop_at: int) -> float:
        now = time.time()
        with self._lock:
            errors = [at for at in self._errors.get(key, []) if at > now - window]
            self._errors[key] = errors
            flying = {
                m: at
                for m, at in self._in_flight.get(key, {}).items()
                if at > now - IN_FLIGHT_TTL_SECONDS
            }
            self._in_flight[key] = flying
            if len(errors) >= stop_at:
                return errors[len(errors) - stop_at] + window - now
            if len(errors) + len(flying) >= stop_at:
                return -1.0
            flying[member] = now
            return 0.0

    def settle(self, key: str, member: str, error: bool) -> None:
        with self._lock:
            self._in_flight.get(key, {}).pop(member, None)
            if error:
                self._errors.setdefault(key, []).append(time.time())


_local_budgets: dict[int, _LocalBudget] = {}


class ErrorBudgetGuard:
    """Counts a package's error answers per endpoint and stops before its block.

    Exact Online blocks an endpoint for an hour past 10 errors (400/401/403/404) in an
    hour. Errors in the sliding window plus the calls still in flight (each may become
    one) are kept under ``stop_at``; when the errors alone reach it, calls to that
    endpoint are held (``CallsHeld``, ``Hold.ERROR_LIMIT``) until the oldest leaves the
    window. Shared by all workers through Redis sorted sets; process-local without it.
    """

    def __init__(
        self,
        integration_id: int,
        budget: ErrorBudget,
        endpoint_of: Callable[[str], str],
    ) -> None:
        self.prefix = f"portal:errors:{integration_id}:"
        self.budget = budget
        self.stop_at = settings.LIMITER_ERROR_STOP_AT or budget.stop_at
        self.endpoint_of = endpoint_of
        self._local = (
            None
            if settings.REDIS_URL
            else _local_budgets.setdefault(integration_id, _LocalBudget())
        )
        if self._local is None:
            client = _redis()
            self._admit = client.register_script(_BUDGET_ADMIT)
            self._settle = client.register_script(_BUDGET_SETTLE)

    def _keys(self, endpoint: str) -> list[str]:
        return [f"{self.prefix}{endpoint}", f"{self.prefix}{endpoint}:in-flight"]

    def before(self, request: httpx.Request) -> None:
        endpoint = self.endpoint_of(str(request.url))
        member = uuid.uuid4().hex
        deadline = time.monotonic() + settings.LIMITER_MAX_WAIT_SECONDS
        while True:
            try:
                wait = self._try_admit(endpoint, member)
            except redis.RedisError as exc:
                logger.warning("error-limit state unavailable: %r", exc)
                raise CallsHeld(
                    settings.LIMITER_SHARED_STATE_RETRY_SECONDS, Hold.SHARED_STATE
                ) from exc
            if wait == 0:
                request.extensions[_BUDGET_REQUEST_KEY] = (endpoint, member)
                return
            if wait > 0:
                raise CallsHeld(wait, Hold.ERROR_LIMIT)
            if time.monotonic() > deadline:
                raise CallsHeld(BUDGET_NAP, Hold.ERROR_LIMIT)
            time.sleep(BUDGET_NAP)  # others' calls in flight: their answers decide

    def _try_admit(self, endpoint: str, member: str) -> float:
        window, stop_at = self.budget.per_seconds, self.stop_at
        if self._local is not None:
            return self._local.admit(self._keys(endpoint)[0], member, window, stop_at)
        admitted, wait = self._admit(
            keys=self._keys(endpoint), args=[window, stop_at, IN_FLIGHT_TTL_SECONDS, member]
        )
        return 0.0 if int(admitted) else float(wait)

    def after(self, response: httpx.Response) -> None:
        admitted = response.request.extensions.pop(_BUDGET_REQUEST_KEY, None)
        if admitted is None:
            return
        endpoint, member = admitted
        error = response.status_code in self.budget.statuses
        if error:
            logger.info(
                "error answer %s on %s counts against the error limit",
                response.status_code,
                endpoint,
            )
        with _soft("error limit"):
            if self._local is not None:
                self._local.settle(self._keys(endpoint)[0], member, error)
            else:
                self._settle(
                    keys=self._keys(endpoint), args=[member, int(error), self.budget.per_seconds]
                )


# --- the package's daily cap ------------------------------------------------------------

# How often a process reads the shared "day used up" mark (another worker may have set it).
DAILY_RECHECK_SECONDS = 5.0
_daily_marks: dict[int, tuple[float, float]] = {}  # integration → (reset epoch, read at)


class DailyCapGuard:
    """Holds every call once the package says the day's calls are used up, until its reset.

    The package's headers (``Connector.daily_limit_state``) say how many calls are left
    today and when the day resets. At 0 the mark goes to the shared cache, so every
    worker holds (``Hold.DAILY_LIMIT``) until the reset, without spending attempts.
    """

    def __init__(
        self,
        integration_id: int,
        daily_limit_state: Callable[[httpx.Response], tuple[int, float] | None],
    ) -> None:
        self.integration_id = integration_id
        self.key = f"portal:daily:{integration_id}"
        self.daily_limit_state = daily_limit_state

    def before(self, request: httpx.Request) -> None:
        now = time.time()
        reset_at, read_at = _daily_marks.get(self.integration_id, (0.0, 0.0))
        if time.monotonic() - read_at >= DAILY_RECHECK_SECONDS:
            with _soft("daily limit"):
                reset_at = max(reset_at, float(cache.get(self.key) or 0.0))
                _daily_marks[self.integration_id] = (reset_at, time.monotonic())
        if reset_at > now:
            raise CallsHeld(reset_at - now + RESET_MARGIN, Hold.DAILY_LIMIT)

    def after(self, response: httpx.Response) -> None:
        state = self.daily_limit_state(response)
        if state is None:
            return
        remaining, reset_at = state
        if remaining > 0 or reset_at <= time.time():
            return
        logger.info("daily limit of integration %s used up until %s", self.integration_id, reset_at)
        _daily_marks[self.integration_id] = (reset_at, time.monotonic())
        with _soft("daily limit"):
            cache.set(self.key, reset_at, timeout=max(1, int(reset_at - time.time()) + 60))


def forget_local_state() -> None:
    """Drop every process-local copy of shared state (tests start each from nothing)."""
    _local_pacers.clear()
    _free_gates.clear()
    _local_budgets.clear()
    _daily_marks.clear()


def guards_for(
    integration_id: int, connector_class: type[Connector], connector: Callable[[], Connector]
) -> list[Guard]:
    """The guards of an integration's client, for the limits its package declares.

    ``connector`` answers the connector the client belongs to (built after the client):
    it reads the package's headers and names the endpoints.
    """
    guards: list[Guard] = []
    if connector_class.daily_limit_state is not Connector.daily_limit_state:
        guards.append(
            DailyCapGuard(integration_id, lambda response: connector().daily_limit_state(response))
        )
    if connector_class.error_budget is not None:
        guards.append(
            ErrorBudgetGuard(
                integration_id,
                connector_class.error_budget,
                lambda url: connector().endpoint_of(url),
            )
        )
    return guards
