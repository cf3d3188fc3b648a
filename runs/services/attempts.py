"""One attempt of one claimed line: the only work done on the thread pool.

Nothing here touches the database. A thread validates the record, asks the connector to book it,
retries a transient fault a few times with capped exponential backoff and full jitter,
and returns an ``Attempted`` that the engine writes, in bulk, from its own thread.
"""

from __future__ import annotations

import dataclasses
import random
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import httpx
from django.conf import settings
from django.utils import timezone

from integrations.canonical import summarise, validate_record
from integrations.connectors.base import DeliveryError, Fault, Result
from integrations.http import CallsHeld, Hold
from runs import wording
from runs.models import DeliveryAttempt, LineStatus

if TYPE_CHECKING:
    from integrations.connectors.base import Connector, Exchange
    from integrations.limits import PackageLimiter
    from runs.services.claims import Job


@dataclass(frozen=True)
class RetryPolicy:
    quick_tries: int  # tries within one claim
    quick_wait_max: float  # longer waits are stored on the line instead
    backoff_base: float
    backoff_cap: float
    max_attempts: int  # after this many, a transient fault fails the line
    retry_after_max: float  # the longest one 429's Retry-After is honoured

    @classmethod
    def from_settings(cls) -> RetryPolicy:
        return cls(
            quick_tries=settings.RUN_QUICK_TRIES,
            quick_wait_max=settings.RUN_QUICK_WAIT_MAX_SECONDS,
            backoff_base=settings.RUN_RETRY_BASE_SECONDS,
            backoff_cap=settings.RUN_RETRY_CAP_SECONDS,
            max_attempts=settings.RUN_MAX_ATTEMPTS,
            retry_after_max=settings.RUN_RETRY_AFTER_MAX_SECONDS,
        )

    def backoff(self, attempt: int, retry_after: float | None = None) -> float:
        """Full jitter on a capped exponential; never sooner than the package asked."""
        ceiling = min(self.backoff_cap, self.backoff_base * 2 ** max(attempt - 1, 0))
        return max(retry_after or 0.0, random.uniform(0, ceiling))


@dataclass
class Try:
    started_at: datetime
    duration_ms: int
    outcome: str
    message: str = ""
    exchanges: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Attempted:
    """What became of one line. ``status`` None: back to pending (see ``retry_in``)."""

    job: Job
    status: str | None = None
    message: str = ""
    field_errors: dict[str, str] = field(default_factory=dict)
    external_id: str = ""
    tries: list[Try] = field(default_factory=list)
    counted: int = 0  # calls that count as attempts (a refused login or a wait does not)
    retry_in: float | None = None
    hold: Hold | None = None  # held back before sending (the line loses no attempt)
    run_fault: str = ""  # the run must stop: credentials refused, no access
    transient: bool = False  # ended on a package fault (feeds the circuit breaker)
    # Not known whether the package booked it: no POST until a look-up answers
    # "not there". Set from the claim and by a connection lost after sending; only a
    # look-up that answered clears it.
    in_doubt: bool = False
    detail: str = ""  # the last fault in short, e.g. "HTTP 503"
    reached_package: bool = False  # got any answer at all (success resets the breaker)


def _exchanges(items: list[Exchange]) -> list[dict[str, Any]]:
    return [dataclasses.asdict(item) for item in items]


def _now() -> datetime:
    return datetime.now(UTC)


class Attempter:
    """Shared by the pool's threads for one run; holds nothing per line."""

    def __init__(
        self,
        connector: Connector,
        limiter: PackageLimiter,
        policy: RetryPolicy,
        stop: threading.Event,
    ) -> None:
        self.connector = connector
        self.limiter = limiter
        self.policy = policy
        self.stop = stop

    def attempt(self, job: Job) -> Attempted:
        result = Attempted(job=job)
        if self.stop.is_set():
            return result  # never sent: released as it was
        record, errors = validate_record(job.kind, job.data)
        if record is None:
            # Pre-flight: a record the schema refuses is not worth an API call.
            result.status, result.message, result.field_errors = (
                LineStatus.FAILED,
                summarise(errors),
                errors,
            )
            result.counted = 1
            result.tries.append(Try(_now(), 0, DeliveryAttempt.Outcome.FAILED, result.message))
            return result
        self._attempt_with_retries(job, record, result)
        return result

    def _attempt_with_retries(self, job: Job, record: dict[str, Any], result: Attempted) -> None:
        result.in_doubt = job.in_doubt
        if result.in_doubt and not self._findable(job):
            self._check_in_package(result)
            return
        for quick in range(self.policy.quick_tries):
            if self.stop.is_set():
                break
            started, clock = _now(), time.monotonic()
            try:
                if result.in_doubt:
                    if self._reconcile(job, record, result, started, clock):
                        return
                    result.in_doubt = False  # the package answered "not there"
                outcome = self.connector.book(job.kind, record, idempotency_key=job.idempotency_key)
            except CallsHeld as held:
                result.retry_in, result.hold = held.seconds, held.hold
                result.message = hold_message(held.hold, self.connector.label, held.seconds)
                return
            except DeliveryError as err:
                result.reached_package = result.reached_package or _answered(err)
                if err.fault is Fault.IN_DOUBT:
                    result.in_doubt = True
                if result.in_doubt and err.fault is Fault.DATA:
                    # Still in doubt, so the look-up was refused, not the record.
                    self._check_in_package(result, err, started, clock)
                    return
                delay = self._fault(job, err, result, started, clock)
                if delay is None:
                    return
                if result.in_doubt and not self._findable(job):
                    self._check_in_package(result)
                    return
                if delay > self.policy.quick_wait_max or quick == self.policy.quick_tries - 1:
                    result.retry_in = delay
                    return
                time.sleep(delay)
                continue
            result.counted += 1
            result.reached_package = True
            self._delivered(job, outcome, result, started, clock)
            return
        if result.retry_in is None and result.tries:
            result.retry_in = self.policy.backoff(job.attempts)

    def _findable(self, job: Job) -> bool:
        return job.kind in type(self.connector).findable

    def _check_in_package(
        self,
        result: Attempted,
        err: DeliveryError | None = None,
        started: datetime | None = None,
        clock: float | None = None,
    ) -> None:
        """Perhaps booked, and no look-up can tell: a person checks in the package."""
        label = self.connector.label
        result.status = LineStatus.IN_DOUBT
        result.message = in_doubt_message(label)
        if err is not None:
            result.message += f" {label} answered the look-up: {err.message}"
        exchanges = _exchanges(err.exchanges) if err is not None else []
        ms = _ms(clock) if clock is not None else 0
        result.tries.append(
            Try(started or _now(), ms, DeliveryAttempt.Outcome.IN_DOUBT, result.message, exchanges)
        )

    def _reconcile(
        self, job: Job, record: dict[str, Any], result: Attempted, started: datetime, clock: float
    ) -> bool:
        """An earlier offer may have been booked: True when the package has the record.

        Raises the look-up's DeliveryError: a look-up that failed leaves the line in doubt.
        """
        found = self.connector.find_existing(job.kind, record)
        if not found:
            return False
        result.status, result.external_id = LineStatus.SUCCEEDED, found
        result.message = wording.FOUND_AFTER_INTERRUPTION(
            label=self.connector.label, external_id=found
        )
        result.reached_package = True
        result.counted += 1
        result.tries.append(
            Try(started, _ms(clock), DeliveryAttempt.Outcome.SUCCEEDED, result.message)
        )
        return True

    def _delivered(
        self, job: Job, outcome: Any, result: Attempted, started: datetime, clock: float
    ) -> None:
        label = self.connector.label
        result.external_id = outcome.external_id
        # Only a first offer can meet a record someone else booked; after an earlier
        # try of ours, "already there" means that try got through.
        first_attempt = job.attempts == 1 and len(result.tries) == 0
        if outcome.result is Result.ALREADY_BOOKED and first_attempt:
            result.status = LineStatus.SKIPPED
            result.message = wording.ALREADY_IN_PACKAGE(
                label=label, external_id=outcome.external_id
            )
            tried = DeliveryAttempt.Outcome.SKIPPED
        else:
            result.status = LineStatus.SUCCEEDED
            result.message = (
                wording.UPDATED_EXISTING(label=label) if outcome.result is Result.UPDATED else ""
            )
            tried = DeliveryAttempt.Outcome.SUCCEEDED
        result.tries.append(
            Try(started, _ms(clock), tried, result.message, _exchanges(outcome.exchanges))
        )

    def _fault(
        self, job: Job, err: DeliveryError, result: Attempted, started: datetime, clock: float
    ) -> float | None:
        """Record a fault; answer how long to wait before the next try, or None if final."""
        exchanges = _exchanges(err.exchanges)
        status = _status_of(err)
        # A 429 means "not now", a package that could not be reached at all got nothing,
        # and a refused login was no offer: none of them spends an attempt. A package that
        # stays unreachable opens the circuit breaker, which stops the run resumable after
        # CIRCUIT_RUN_STOP_SECONDS; its lines never fail for it.
        if err.fault is not Fault.RUN and status != 429 and not _unreached(err):
            result.counted += 1
        if err.fault is Fault.DATA:
            result.status, result.message, result.field_errors = (
                LineStatus.FAILED,
                err.message,
                err.field_errors,
            )
            result.tries.append(
                Try(started, _ms(clock), DeliveryAttempt.Outcome.FAILED, err.message, exchanges)
            )
            return None
        if err.fault is Fault.RUN:
            result.run_fault = err.message
            result.tries.append(
                Try(started, _ms(clock), DeliveryAttempt.Outcome.FAILED, err.message, exchanges)
            )
            return None
        outcome = (
            DeliveryAttempt.Outcome.IN_DOUBT
            if err.fault is Fault.IN_DOUBT
            else DeliveryAttempt.Outcome.TRANSIENT
        )
        result.tries.append(Try(started, _ms(clock), outcome, err.message, exchanges))
        result.transient = True
        result.message = err.message
        result.detail = f"HTTP {status}" if status else err.message.rstrip(".")
        if status == 429:
            # Everyone holds off, not just this thread, as long as the package says,
            # but never longer than RUN_RETRY_AFTER_MAX_SECONDS for one answer.
            wait = min(err.retry_after or 1.0, self.policy.retry_after_max)
            self.limiter.pause(wait)
            result.transient = False  # slow down, not down: the breaker stays out of it
            return wait
        return self.policy.backoff(job.attempts + result.counted - 1, err.retry_after)


def in_doubt_message(label: str) -> str:
    return wording.IN_DOUBT(label=label)


_HOLD_MESSAGES = {
    Hold.RATE_LIMIT: wording.WAIT_RATE_LIMIT,
    Hold.DAILY_LIMIT: wording.WAIT_DAILY_LIMIT,
    Hold.ERROR_LIMIT: wording.WAIT_ERROR_LIMIT,
    Hold.SHARED_STATE: wording.WAIT_SHARED_STATE,
    Hold.RENEWAL: wording.WAIT_RENEWAL,
}


def hold_message(hold: Hold, label: str, seconds: float) -> str:
    """Why a line (and its run) waits, with the time it goes: shown on the screens."""
    at = timezone.localtime(timezone.now() + timedelta(seconds=seconds))
    return _HOLD_MESSAGES[hold](label=label, at=at.strftime("%Y-%m-%d %H:%M:%S %Z"))


def _status_of(err: DeliveryError) -> int | None:
    return err.exchanges[-1].status if err.exchanges else None


def _unreached(err: DeliveryError) -> bool:
    """No connection to the package was made: nothing was sent, nothing can be booked."""
    return err.fault is Fault.TRANSIENT and isinstance(
        err.__cause__, httpx.ConnectError | httpx.ConnectTimeout
    )


def _answered(err: DeliveryError) -> bool:
    status = _status_of(err)
    return status is not None and status < 500 and status != 429


def _ms(clock: float) -> int:
    return int((time.monotonic() - clock) * 1000)
