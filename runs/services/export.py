"""Exporting a run: claim lines, attempt them with bounded concurrency, record the outcomes.

The rows are the truth, the queue only wakes workers up (the why of every rule is in
docs/delivery.md). A run is executed by at most one worker at a time,
and one run at a time per integration:

* ``queued``                          waiting for a worker (or for another run of its
                                      integration to finish);
* ``running``, heartbeat recent       a worker is on it;
* ``running``, heartbeat empty        paused until lines' ``next_attempt_at``, its task
                                      queued with a countdown; it keeps the integration;
* ``running``, heartbeat old          its worker died: the sweeper queues it again.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from celery import current_app
from django.conf import settings
from django.db import transaction
from django.db.models import Count, Exists, F, Min, OuterRef, Q
from django.utils import timezone

from integrations.connectors.base import OnExisting
from integrations.credentials import PackageLimits, connector_for
from integrations.http import Hold
from integrations.limits import CircuitBreaker, limiter_for
from integrations.models import Integration
from runs import wording
from runs.models import DeliveryAttempt, LineStatus, Run, RunKind, RunLine, RunStatus
from runs.services.attempts import Attempted, Attempter, RetryPolicy, Try, in_doubt_message
from runs.services.claims import PHASES, Job, lines_claim, lines_release
from runs.services.recording import earlier_failures_open, results_record
from runs.signals import run_finished, run_paused, run_stopped

if TYPE_CHECKING:
    from integrations.connectors.base import Connector

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class EngineConfig:
    chunk_size: int
    concurrency: int
    lease_seconds: float
    heartbeat_seconds: float  # write a heartbeat at least this often
    stale_seconds: float  # a heartbeat older than this: the worker is gone
    queued_grace_seconds: float  # a queued run untouched this long is queued again
    max_countdown: float  # well below the broker's visibility timeout
    down_stop_seconds: float  # package down this long: stop the run
    slice_seconds: float  # held the worker this long: yield it to another company waiting
    slice_max_seconds: float  # held the worker this long: queue behind the others anyway
    yield_check_seconds: float  # how often to ask whether another company waits

    @classmethod
    def from_settings(cls) -> EngineConfig:
        return cls(
            chunk_size=settings.RUN_CHUNK_SIZE,
            concurrency=settings.RUN_CONCURRENCY,
            lease_seconds=settings.RUN_LINE_LEASE_SECONDS,
            heartbeat_seconds=settings.RUN_HEARTBEAT_SECONDS,
            stale_seconds=settings.RUN_HEARTBEAT_STALE_SECONDS,
            queued_grace_seconds=settings.RUN_QUEUED_GRACE_SECONDS,
            max_countdown=settings.RUN_MAX_COUNTDOWN_SECONDS,
            down_stop_seconds=settings.CIRCUIT_RUN_STOP_SECONDS,
            slice_seconds=settings.RUN_SLICE_SECONDS,
            slice_max_seconds=settings.RUN_SLICE_MAX_SECONDS,
            yield_check_seconds=settings.RUN_YIELD_CHECK_SECONDS,
        )


# Waits that are the package's own long stop (not our pacing): people are told when one begins.
_ANNOUNCED_HOLDS = frozenset({Hold.DAILY_LIMIT, Hold.ERROR_LIMIT})


class RunStopped(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# --- entry points ----------------------------------------------------------------------


def run_execute(*, run_id: int, share: bool = False) -> None:
    """Deliver the run's due lines; safe to call twice, concurrently, or after a crash.

    ``share`` (the worker's task): execute in slices, handing the worker to waiting runs
    of other companies (docs/delivery.md, "Fair share"). A direct call keeps on.
    """
    config = EngineConfig.from_settings()
    # Eager (tests, one-off commands): no queue to go behind others in.
    share = share and not current_app.conf.task_always_eager
    while True:
        pause = _execute_once(run_id, config, share=share)
        if pause is None:
            return
        countdown = min(max(pause, 0.0), config.max_countdown)
        if current_app.conf.task_always_eager:
            # Eager (tests, one-off commands): no broker to come back through.
            time.sleep(countdown)
            continue
        _queue(run_id, countdown=countdown)
        return


def run_resume(*, run: Run) -> Run:
    """Queue a run that stopped on a run-level fault again; its pending lines go on."""
    with transaction.atomic():
        updated = Run.objects.filter(
            pk=run.pk, kind=RunKind.EXPORT, status=RunStatus.FAILED
        ).update(status=RunStatus.QUEUED, error="", finished_at=None, heartbeat_at=None)
        if updated:
            # A person says "try again": give the package a fresh chance at once.
            CircuitBreaker(run.integration_id).reset()
            _queue(run.pk)
    run.refresh_from_db()
    return run


def run_wake(*, run: Run) -> None:
    """A line of ``run`` is due again (a person offered it again): queue the run.

    A finished run is reopened; a stopped (failed) one waits for its resume, which
    takes the line along.
    """
    with transaction.atomic():
        Run.objects.filter(pk=run.pk, status=RunStatus.FINISHED).update(
            status=RunStatus.QUEUED, finished_at=None, heartbeat_at=None
        )
        if Run.objects.filter(pk=run.pk, status__in=(RunStatus.QUEUED, RunStatus.RUNNING)).exists():
            _queue(run.pk)


def runs_sweep() -> int:
    """Queue again every run that should be moving and is not; answer how many.

    * running, heartbeat older than the stale limit: its worker died; the lines it had
      claimed are picked up as in doubt once their lease expires;
    * running and paused past its ``paused_until``: the countdown task was lost;
    * queued for longer than the grace period while no other run of its integration
      runs: the task was lost, or the run that blocked it did not hand over.
    """
    config = EngineConfig.from_settings()
    now = timezone.now()
    stale = now - timedelta(seconds=config.stale_seconds)
    grace = now - timedelta(seconds=config.queued_grace_seconds)
    # Open items imports run beside exports and are swept by their own schedule.
    exports = Run.objects.filter(kind=RunKind.EXPORT)
    busy = exports.filter(integration=OuterRef("integration"), status=RunStatus.RUNNING).filter(
        Q(heartbeat_at__gt=stale) | Q(heartbeat_at__isnull=True)
    )
    dead = Q(status=RunStatus.RUNNING, heartbeat_at__lte=stale)
    # A paused run's countdown task comes back at ``paused_until``: only one that is
    # overdue was lost (queuing a waiting run again every sweep only made noise).
    lost_pause = Q(status=RunStatus.RUNNING, heartbeat_at__isnull=True) & (
        Q(paused_until__isnull=True) | Q(paused_until__lte=now - timedelta(seconds=5))
    )
    forgotten = (
        Q(status=RunStatus.QUEUED)
        & ~Q(Exists(busy))
        & (Q(heartbeat_at__lte=grace) | Q(heartbeat_at__isnull=True, queued_at__lte=grace))
    )
    run_ids = list(
        exports.filter(dead | lost_pause | forgotten).values_list("pk", flat=True)[:1000]
    )
    for run_id in run_ids:
        _queue(run_id)
    if run_ids:
        logger.info("sweep: queued runs %s again", run_ids)
    return len(run_ids)


def _queue(run_id: int, *, countdown: float = 0) -> None:
    from runs.tasks import run_execute as task

    # robust: a broker that cannot be reached (Redis down) is logged, not raised into the
    # run; the run's row says it should move, and the sweeper queues it again.
    transaction.on_commit(
        lambda: task.apply_async((run_id,), countdown=countdown or None),
        robust=True,
    )


# --- one execution -------------------------------------------------------------------------


def _execute_once(run_id: int, config: EngineConfig, *, share: bool) -> float | None:
    """Deliver what is due; answer seconds until more is due (pause), or None (done/not ours)."""
    run = _run_start(run_id, config)
    if run is None:
        return None
    connector = connector_for(run.integration)
    try:
        return _Export(run, connector, config, share=share).execute()
    except RunStopped as stopped:
        _run_fail(run, stopped.reason)
        return None
    finally:
        connector.client.close()


def _run_start(run_id: int, config: EngineConfig) -> Run | None:
    """Take the run for this worker, or answer None when it is not ours to execute."""
    now = timezone.now()
    stale = now - timedelta(seconds=config.stale_seconds)
    with transaction.atomic():
        integration_id = (
            Run.objects.filter(pk=run_id).values_list("integration_id", flat=True).first()
        )
        if integration_id is None:
            return None
        # Serialises starts per integration, so two runs never both see "nobody runs".
        integration = (
            Integration.objects.select_for_update(of=("self",))
            .select_related("company")
            .get(pk=integration_id)
        )
        run = Run.objects.get(pk=run_id)
        run.integration = integration
        if run.status in (RunStatus.FINISHED, RunStatus.FAILED) or run.kind != RunKind.EXPORT:
            return None
        if run.status == RunStatus.RUNNING and run.heartbeat_at and run.heartbeat_at > stale:
            return None  # another worker is on it (a duplicate delivery of the task)
        if not integration.enabled:
            _run_fail(
                run,
                wording.INTEGRATION_DISABLED_RESUME(name=integration.name),
            )
            return None
        busy = (
            Run.objects.filter(
                integration_id=integration_id, kind=RunKind.EXPORT, status=RunStatus.RUNNING
            )
            .filter(Q(heartbeat_at__gt=stale) | Q(heartbeat_at__isnull=True))
            .exclude(pk=run.pk)
            .exists()
        )
        if busy:
            # The running one hands over when it finishes; the sweeper if it does not.
            Run.objects.filter(pk=run.pk).update(status=RunStatus.QUEUED, heartbeat_at=now)
            return None
        # The run's heartbeat is the lease of the lines it claimed: one left delivering
        # now belonged to a worker that is gone (a live one keeps the heartbeat fresh,
        # and a pause writes every line first). Look them up now, not after a lease.
        RunLine.objects.filter(run=run, status=LineStatus.DELIVERING).update(
            status=LineStatus.PENDING, in_doubt=True, lease_until=None, next_attempt_at=None
        )
        run.status = RunStatus.RUNNING
        run.started_at = run.started_at or now
        run.heartbeat_at = now
        run.paused_until = None
        run.error = ""
        run.save(update_fields=["status", "started_at", "heartbeat_at", "paused_until", "error"])
    return run


def _run_fail(run: Run, reason: str) -> None:
    # One transaction, so what the signal's receivers write (the fault mail) commits
    # with the failed status or not at all.
    with transaction.atomic():
        Run.objects.filter(pk=run.pk).update(
            status=RunStatus.FAILED,
            error=reason,
            finished_at=timezone.now(),
            heartbeat_at=None,
            paused_reason="",
            paused_until=None,
        )
        _recount(run)
        run_stopped.send(sender=Run, run=run, reason=reason)
    logger.warning("run %s stopped: %s", run.pk, reason)


def _recount(run: Run) -> dict[str, int]:
    """The counters, exactly, from the lines: one aggregate query."""
    counts = RunLine.objects.filter(run=run).aggregate(
        total=Count("id"),
        succeeded=Count("id", filter=Q(status=LineStatus.SUCCEEDED)),
        failed=Count("id", filter=Q(status=LineStatus.FAILED)),
        skipped=Count("id", filter=Q(status=LineStatus.SKIPPED)),
        in_doubt=Count("id", filter=Q(status=LineStatus.IN_DOUBT)),
    )
    Run.objects.filter(pk=run.pk).update(**counts)
    return counts


def _run_finish(run: Run) -> None:
    now = timezone.now()
    with transaction.atomic():
        _recount(run)
        Run.objects.filter(pk=run.pk, status=RunStatus.RUNNING).update(
            status=RunStatus.FINISHED,
            finished_at=now,
            heartbeat_at=None,
            paused_reason="",
            paused_until=None,
        )
        run_finished.send(sender=Run, run=run)
        following = (
            Run.objects.filter(
                integration_id=run.integration_id, kind=RunKind.EXPORT, status=RunStatus.QUEUED
            )
            .order_by("number")
            .values_list("pk", flat=True)
            .first()
        )
        if following is not None:
            _queue(following)


def _unsettled(run: Run, kinds: tuple[str, ...]) -> bool:
    return RunLine.objects.filter(
        run=run, kind__in=kinds, status__in=(LineStatus.PENDING, LineStatus.DELIVERING)
    ).exists()


def _run_pause(
    run: Run,
    *,
    kinds: tuple[str, ...] | None = None,
    reason: str | None = None,
    announce: bool = False,
) -> float | None:
    """Nothing is due now: finish, or answer how long until the next line is due.

    With ``kinds``, only those lines are waited for (a phase that must end first).
    ``reason`` is shown while the run waits; None keeps the one stored (an execution
    that found nothing due learnt nothing new).
    """
    now = timezone.now()
    lines = RunLine.objects.filter(run=run)
    if kinds is not None:
        lines = lines.filter(kind__in=kinds)
    next_due = lines.filter(status=LineStatus.PENDING).aggregate(at=Min("next_attempt_at"))["at"]
    leased = lines.filter(status=LineStatus.DELIVERING).aggregate(at=Min("lease_until"))["at"]
    moments = [moment for moment in (next_due, leased) if moment is not None]
    if lines.filter(status=LineStatus.PENDING, next_attempt_at__isnull=True).exists():
        pause = 0.5  # released by a stop or a race: go again soon
    elif moments:
        pause = max((min(moments) - now).total_seconds(), 0.5)
    elif kinds is not None:
        pause = 0.5
    else:
        _run_finish(run)
        return None
    _paused(run, pause, reason, announce=announce)
    return pause


def _paused(run: Run, pause: float, reason: str | None, *, announce: bool = False) -> None:
    """Store the pause. ``announce``: the package itself stopped us for longer (its daily
    or error limit); when such a wait begins, ``run_paused`` tells people, once."""
    # Paused: an empty heartbeat lets the countdown task take the run over. Every pause,
    # also a short one: with a fresh heartbeat that task takes it for another worker's
    # and drops it, and the run waits for the sweeper.
    fields: dict[str, object] = {
        "heartbeat_at": None,
        "paused_until": timezone.now() + timedelta(seconds=pause),
    }
    if reason is not None:
        fields["paused_reason"] = reason
    with transaction.atomic():
        begins = (
            announce and bool(reason) and Run.objects.filter(pk=run.pk, paused_reason="").exists()
        )
        Run.objects.filter(pk=run.pk).update(**fields)
        if begins:
            run_paused.send(sender=Run, run=run, reason=reason)


# --- the export loop -------------------------------------------------------------------------


class _Export:
    """Claims and attempts one run's lines: threads do the HTTP, this thread the database."""

    def __init__(
        self, run: Run, connector: Connector, config: EngineConfig, *, share: bool
    ) -> None:
        self.run = run
        self.share = share
        self.connector = connector
        self.config = config
        self.policy = RetryPolicy.from_settings()
        self.breaker = CircuitBreaker(run.integration_id)
        self.stop = threading.Event()
        self.limiter = limiter_for(run.integration_id, PackageLimits.of(type(connector)).rate_limit)
        self.attempter = Attempter(connector, self.limiter, self.policy, self.stop)
        self.run_fault = ""
        self.probe = False
        self.resolve_earlier = earlier_failures_open(run)
        self.hold_message = ""  # the last "held back" met (daily limit, error limit, …)
        self.hold: Hold | None = None
        self.attempted = False
        self.started = self.last_fair_check = time.monotonic()
        self.yielded = False

    def execute(self) -> float | None:
        with ThreadPoolExecutor(
            self.config.concurrency, thread_name_prefix=f"run-{self.run.pk}"
        ) as pool:
            for number, kinds in enumerate(PHASES, start=1):
                held = self._phase(pool, kinds)
                if self.run_fault:
                    raise RunStopped(self.run_fault)
                if self.yielded:
                    # Back of the queue at once: the waiting run's task is ahead of ours.
                    _paused(self.run, 0.0, None)
                    return 0.0
                if held is not None:
                    # The circuit is open: come back when it may close.
                    _paused(self.run, held, self.reason, announce=self.announce)
                    return held
                if number < len(PHASES) and _unsettled(self.run, kinds):
                    # Relations waiting for a retry: their invoices must not go first.
                    return _run_pause(
                        self.run, kinds=kinds, reason=self.reason, announce=self.announce
                    )
        return _run_pause(self.run, reason=self.reason, announce=self.announce)

    @property
    def reason(self) -> str | None:
        """Why the run waits: the last hold met, "" when lines moved freely, None when
        nothing was offered (the stored reason still holds)."""
        if self.hold_message:
            return self.hold_message
        return "" if self.attempted else None

    @property
    def announce(self) -> bool:
        """The wait is the package's own long stop, which people should hear of."""
        return self.hold in _ANNOUNCED_HOLDS

    def _phase(self, pool: ThreadPoolExecutor, kinds: tuple[str, ...]) -> float | None:
        """Offer the phase's due lines; answer the breaker's hold when it opened, else None.

        Claimed lines go straight into the pool's queue, and the next chunk is claimed
        while a whole chunk is still waiting there: the threads always have work while
        this thread writes outcomes or claims (it is the only one touching the database,
        and a line is committed ``delivering`` before it is queued).
        """
        in_flight: dict[Future[Attempted], Job] = {}
        # Futures land here as they finish: one ``get`` per result, where ``wait()`` on
        # every future in flight costs a lock per future per call and left the threads
        # idle for a third of the time while this thread walked 200 futures per result.
        finished: queue.SimpleQueue[Future[Attempted]] = queue.SimpleQueue()
        done: list[Attempted] = []
        exhausted = False
        held: float | None = None
        last_write = time.monotonic()
        while True:
            # Refill up to the threads plus one chunk queued behind them; a chunk of
            # lines that were all settled at once (booked earlier) goes to ``done`` and
            # the claiming goes on: only a claim that finds nothing ends the phase.
            while (
                not exhausted
                and not self.stop.is_set()
                and len(in_flight) < self.config.concurrency + self.config.chunk_size
                and len(done) < self.config.chunk_size
            ):
                held = self._breaker_hold()
                if held is not None:
                    exhausted = True
                    break
                claimed, to_attempt = self._claim(kinds, done)
                exhausted = not claimed
                for job in to_attempt:
                    future = pool.submit(self.attempter.attempt, job)
                    in_flight[future] = job
                    future.add_done_callback(finished.put)
                if self.probe:
                    break  # one line decides whether the package is back
            if in_flight:
                with contextlib.suppress(queue.Empty):
                    future = finished.get(timeout=self.config.heartbeat_seconds)
                    while True:
                        done.append(self._result(future, in_flight.pop(future)))
                        future = finished.get_nowait()
            elif exhausted or self.stop.is_set():
                break
            self._yield_if_due()
            if (
                len(done) >= self.config.chunk_size
                or time.monotonic() - last_write >= self.config.heartbeat_seconds
            ):
                self._write(done, in_flight)
                done, last_write = [], time.monotonic()
        self._write(done, in_flight)
        return held

    def _yield_if_due(self) -> None:
        """End this slice when the run has held its worker long enough and someone waits.

        Stopping sends nothing more: lines still queued on the pool come back unsent and
        are released, calls in flight finish and are recorded, as on any stop.
        """
        now = time.monotonic()
        if (
            not self.share
            or self.yielded
            or now - self.last_fair_check < self.config.yield_check_seconds
        ):
            return
        self.last_fair_check = now
        held = now - self.started
        if held >= self.config.slice_max_seconds or _another_company_waits(
            self.run, small_only=held < self.config.slice_seconds, small=self.config.chunk_size
        ):
            self.yielded = True
            self.stop.set()

    def _claim(self, kinds: tuple[str, ...], done: list[Attempted]) -> tuple[int, list[Job]]:
        """Claim a chunk: answer how many lines were claimed, and those to offer.

        Lines already booked by an earlier run are settled right away (into ``done``).
        """
        limit = 1 if self.probe else self.config.chunk_size
        jobs = lines_claim(
            run=self.run, kinds=kinds, limit=limit, lease_seconds=self.config.lease_seconds
        )
        booked = _booked_earlier(self.run, [job for job in jobs if self._never_twice(job.kind)])
        to_attempt = []
        for job in jobs:
            earlier = booked.get((job.kind, job.identifier))
            if earlier is None:
                to_attempt.append(job)
                continue
            number, external_id = earlier
            message = wording.ALREADY_BOOKED_EARLIER(number=number, external_id=external_id)
            done.append(
                Attempted(
                    job=job,
                    status=LineStatus.SKIPPED,
                    message=message,
                    external_id=external_id,
                    counted=1,
                    tries=[Try(timezone.now(), 0, DeliveryAttempt.Outcome.SKIPPED, message)],
                )
            )
        return len(jobs), to_attempt

    def _never_twice(self, kind: str) -> bool:
        return type(self.connector).on_existing.get(kind) is OnExisting.SKIP

    def _breaker_hold(self) -> float | None:
        verdict = self.breaker.check()
        self.probe = verdict.probe
        if verdict.allowed:
            return None
        if verdict.down_since and time.time() - verdict.down_since > self.config.down_stop_seconds:
            self.run_fault = wording.PACKAGE_DOWN(
                label=self.connector.label, minutes=int(self.config.down_stop_seconds // 60)
            )
            self.stop.set()
        return verdict.wait

    def _result(self, future: Future[Attempted], job: Job) -> Attempted:
        try:
            result = future.result()
        except Exception as exc:  # a bug in a connector must not leave the line delivering
            logger.exception("offering line %s failed", job.line_id)
            message = wording.COULD_NOT_OFFER(error=type(exc).__name__)
            if job.in_doubt:
                message = f"{in_doubt_message(self.connector.label)} {message}"
            return Attempted(
                job=job,
                # Perhaps booked already: "failed" would invite a second booking.
                status=LineStatus.IN_DOUBT if job.in_doubt else LineStatus.FAILED,
                message=message,
                counted=1,
                tries=[Try(timezone.now(), 0, DeliveryAttempt.Outcome.FAILED, message)],
            )
        # A hold is the reason of the pause that follows (the lines held wait longest);
        # answers that arrive after it (calls already in flight) do not undo it.
        if result.hold is not None:
            self.hold_message, self.hold = result.message, result.hold
        elif result.tries:
            self.attempted = True
        if result.run_fault and not self.run_fault:
            self.run_fault = result.run_fault
            self.stop.set()  # the other threads send nothing more
        return result

    def _write(self, done: list[Attempted], in_flight: dict[Future[Attempted], Job]) -> None:
        unsent = [r for r in done if r.status is None and not r.tries and r.retry_in is None]
        settled = [r for r in done if r not in unsent]
        lines_release(line_ids=[r.job.line_id for r in unsent])
        results_record(
            run=self.run,
            results=settled,
            policy=self.policy,
            label=self.connector.label,
            lease_ids=[job.line_id for job in in_flight.values()],
            lease_seconds=self.config.lease_seconds,
            resolve_earlier=self.resolve_earlier,
        )
        self.breaker.record(
            [
                r.status is not None
                for r in settled
                if r.reached_package or (r.status is None and r.transient)
            ]
        )


def _another_company_waits(run: Run, *, small_only: bool, small: int) -> bool:
    """A run of another company is ready to go and has no worker: queued with no other
    run of its integration active, or paused with its wake-up due (its task queued).

    ``small_only``: only a run with at most ``small`` lines left counts (it is let in
    at once: it gives the worker back within moments, so two big runs never take
    turns faster than their slices).
    """
    now = timezone.now()
    stale = now - timedelta(seconds=settings.RUN_HEARTBEAT_STALE_SECONDS)
    active = Run.objects.filter(
        integration=OuterRef("integration"), status=RunStatus.RUNNING
    ).filter(Q(heartbeat_at__gt=stale) | Q(heartbeat_at__isnull=True))
    ready = (Q(status=RunStatus.QUEUED) & ~Q(Exists(active))) | Q(
        status=RunStatus.RUNNING, heartbeat_at__isnull=True, paused_until__lte=now
    )
    waiting = Run.objects.filter(ready).exclude(integration__company_id=run.integration.company_id)
    if small_only:
        left = F("total") - F("succeeded") - F("failed") - F("skipped") - F("in_doubt")
        waiting = waiting.alias(left=left).filter(left__lte=small)
    return waiting.exists()


def _booked_earlier(run: Run, jobs: list[Job]) -> dict[tuple[str, str], tuple[int, str]]:
    """(kind, identifier) → (run number, external id) of records an earlier run booked."""
    if not jobs:
        return {}
    wanted = {(job.kind, job.identifier) for job in jobs}
    rows = (
        RunLine.objects.filter(
            integration_id=run.integration_id,
            kind__in={kind for kind, _ in wanted},
            identifier__in={identifier for _, identifier in wanted},
            status=LineStatus.SUCCEEDED,
        )
        .exclude(external_id="")
        .exclude(run_id=run.pk)
        .values_list("kind", "identifier", "run__number", "external_id")
        .order_by("run__number")
    )
    return {
        (kind, ident): (number, ext) for kind, ident, number, ext in rows if (kind, ident) in wanted
    }
