"""Rate-limited export: the engine's achieved call rate against the simulator's allowed rate.

    .venv/bin/python bench/rate_limited_export.py [--size 600] [--workers 1|2] [--no-align]

The simulator of the first package that publishes a rate limit (``--package`` to choose;
Exact Online's reports its window in ``X-RateLimit-Minutely-*`` headers, as Exact does) allows ``rate_limit_per_minute`` = 2 * ``--size`` API calls: a new customer
costs two (look-up by code, then create), so the run needs about one minute at the allowed
rate (``--run-seconds`` shortens it: the allowance grows to match). The run is queued at the start of a clock minute, where the simulator's fixed
window starts (``--no-align`` skips the wait, for smoke runs; the ratio is then loose).
Achieved rate = API calls counted by the simulator / seconds from queued to final.
Target: ≥ 0.95 of the allowed rate, and zero 429 answers (``/_sim/stats``).

``--workers 2``: two Celery workers deliver two runs at once, of two integrations of the
same company on the same Exact division, so they share the package's limit (needs Redis).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness

TARGET = 0.95
CALLS_PER_LINE = 2  # a new customer: GET crm/Accounts?$filter=Code eq …, then POST
DIVISION = 123456


def wait_for_minute() -> None:
    """Sleep until just after the next clock minute: the simulator's window starts there."""
    time.sleep(60 - time.time() % 60 + 0.05)


def run_all(
    integrations: list[Any], batches: list[list[tuple[str, dict[str, Any]]]], timeout: float
) -> tuple[float, list[Any]]:
    """Queue one run per integration at once; seconds until every one is final."""
    from integrations.canonical import identifier_of
    from runs.models import Run, RunStatus, Trigger
    from runs.services.runs import NewLine, run_create

    runs = [
        run_create(
            integration=integration,
            trigger=Trigger.INTAKE,
            lines=[NewLine(kind=k, identifier=identifier_of(k, r), payload=r) for k, r in records],
        )
        for integration, records in zip(integrations, batches, strict=True)
    ]
    started = time.perf_counter()
    while True:
        runs = [Run.objects.get(pk=run.pk) for run in runs]
        if all(run.status in (RunStatus.FINISHED, RunStatus.FAILED) for run in runs):
            return time.perf_counter() - started, runs
        if time.perf_counter() - started > timeout:
            raise SystemExit(
                f"runs not final after {timeout:.0f} s: {[(r.status, r.done) for r in runs]}"
            )
        time.sleep(0.05)


def rate_limited_package() -> str:
    """The first registered package that publishes a rate limit (``Connector.rate_limit``)."""
    from integrations.connectors.registry import get_connector_class
    from integrations.simulators.registry import simulator_names

    return next(key for key in simulator_names() if get_connector_class(key).rate_limit)


def main() -> None:
    args = harness.parser(__doc__.splitlines()[0], size=600)
    args.add_argument("--workers", type=int, choices=(1, 2), default=1)
    args.add_argument("--no-align", action="store_true", help="do not wait for a clock minute")
    args.add_argument(
        "--run-seconds",
        type=int,
        default=60,
        help="how long the run should take at the allowed rate",
    )
    options = args.parse_args()
    harness.setup(f"ratelimit{options.workers}", keep=options.keep_db)
    harness.flush_redis()

    from bench import data

    allowed = CALLS_PER_LINE * options.size * 60 // options.run_seconds
    package = options.package or rate_limited_package()
    simulator = harness.start_simulator(package, rate_limit_per_minute=allowed)
    first = data.tenant(connector=package)
    integrations = [first]
    if options.workers == 2:
        integrations.append(
            data.tenant_integration(first.company, f"Bench {package} 2", connector=package)
        )
    for integration in integrations:
        data.connect(integration, simulator)
    share = options.size // len(integrations)
    batches = [
        list(data.batch(share, offset=i * share, connector=package, kinds=("customer",)))
        for i in range(len(integrations))
    ]
    workers = [harness.Worker(f"ratelimit-worker-{i}") for i in range(options.workers)]
    before = simulator.stats()
    if not options.no_align:
        harness.note("waiting for the next clock minute")
        wait_for_minute()
    harness.note(f"{options.size} lines, {allowed} calls/min allowed, {options.workers} worker(s)")
    seconds, runs = run_all(integrations, batches, timeout=300 + options.size)
    after = simulator.stats()
    for worker in workers:
        worker.stop()
    failed = [run for run in runs if run.succeeded != run.total]
    if failed:
        raise SystemExit(
            f"not every line succeeded: {[(r.status, r.succeeded, r.total, r.error) for r in failed]}"
        )
    calls = (after["requests"] - after["token_calls"]) - (
        before["requests"] - before["token_calls"]
    )
    rejected = after["sent_429"] - before["sent_429"]
    achieved = calls / seconds * 60
    ratio = achieved / allowed
    harness.report(
        f"rate_limited_export{'_2workers' if options.workers == 2 else ''}",
        f"engine {achieved:.0f} calls/min ({calls} calls in {seconds:.1f} s, {rejected} answered 429)",
        f"allowed {allowed} calls/min",
        ratio,
        f"≥ {TARGET} and zero 429",
        ratio >= TARGET and rejected == 0,
        lines=options.size,
        workers=options.workers,
        aligned=not options.no_align,
    )
    harness.finish(options.strict)


if __name__ == "__main__":
    main()
