"""Fair share: a small run of company B while company A's big export holds every worker.

    .venv/bin/python bench/fairness.py [--size 50000] [--b-size 20] [--processes 2] [--latency-ms 50]

One Celery worker with ``--processes`` pool processes, one Multivers simulator with
``--latency-ms`` per call. Company A has one integration per process and ``--size`` lines
split over them, so A's runs take every worker process (one run per integration runs at a
time). Company B has one integration.

* B alone: B's ``--b-size``-line run, queued on an idle worker, timed from queued to final
  (``--repeat`` times, the median);
* A alone: A's runs, from queued until every one is final (lines/s), once before and
  once after the next step, their mean;
* both: A's runs again (new records); once a tenth of them is done, B's run is queued
  ``--repeat`` times, one after the other, each timed from queued to final.

Ratios: B's median time to final with A running against B alone (target ≤ 2), and A's
throughput with B against alone (target ≥ 0.9). Without fair share B would wait until one
of A's runs finished.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness

TARGET_B = 2.0
TARGET_A = 0.9


def wait_final(runs: list[Any], timeout: float) -> float:
    """Poll until every run is final; answer the seconds it took (from the call)."""
    from runs.models import Run, RunStatus

    started = time.perf_counter()
    pks = [run.pk for run in runs]
    while True:
        states = list(Run.objects.filter(pk__in=pks).values_list("status", flat=True))
        if all(s in (RunStatus.FINISHED, RunStatus.FAILED) for s in states):
            return time.perf_counter() - started
        if time.perf_counter() - started > timeout:
            raise SystemExit(f"runs {pks} not final after {timeout:.0f} s: {states}")
        time.sleep(0.01)


def check_booked(runs: list[Any]) -> None:
    from runs.models import Run

    for run in Run.objects.filter(pk__in=[r.pk for r in runs]):
        if run.succeeded != run.total:
            raise SystemExit(f"run {run.pk}: {run.status}, {run.succeeded}/{run.total} succeeded")


def queue_a(integrations: list[Any], size: int, offset: int) -> list[Any]:
    from bench import data

    share = size // len(integrations)
    return [
        data.queue_run(integration, data.batch(share, offset=offset + i * share))
        for i, integration in enumerate(integrations)
    ]


def b_alone(b: Any, options: Any, offset: int) -> list[float]:
    from bench import data

    seconds = []
    for i in range(options.repeat):
        run = data.queue_run(b, data.batch(options.b_size, offset=offset + i * options.b_size))
        seconds.append(wait_final([run], timeout=120))
        check_booked([run])
    return seconds


def main() -> None:
    args = harness.parser(__doc__.splitlines()[0], size=50_000)
    args.add_argument("--b-size", type=int, default=20, help="lines of B's run (default 20)")
    args.add_argument("--processes", type=int, default=2, help="worker pool processes")
    args.add_argument("--latency-ms", type=int, default=50, help="simulator latency per call")
    args.add_argument("--repeat", type=int, default=3, help="B's runs per measurement")
    options = args.parse_args()
    harness.setup("fairness", keep=options.keep_db)
    harness.flush_redis()

    from bench import data

    simulator = harness.start_simulator(data.default_package(), latency_ms=options.latency_ms)
    first = data.tenant()
    a = [first] + [
        data.tenant_integration(first.company, f"Bench A {i}") for i in range(1, options.processes)
    ]
    for integration in a:
        data.connect(integration, simulator)
    data.seed_relations(first)  # the relations every invoice names, booked once
    (b,) = data.companies(1, simulator, prefix="Other")
    worker = harness.Worker("fairness-worker", concurrency=options.processes)
    b_offset = 3 * options.size  # every run books records of its own

    harness.note(f"B alone: {options.b_size} lines, {options.repeat} times")
    alone = b_alone(b, options, b_offset)
    b_offset += options.repeat * options.b_size

    def a_round(offset: int) -> float:
        started = time.perf_counter()
        a_runs = queue_a(a, options.size, offset)
        wait_final(a_runs, timeout=600 + options.size)
        check_booked(a_runs)
        return time.perf_counter() - started

    harness.note(f"A alone: {options.size} lines over {options.processes} integrations")
    a_before = a_round(0)

    harness.note("A again, and B's runs once a tenth of A is done")
    started = time.perf_counter()
    a_runs = queue_a(a, options.size, options.size)
    from runs.models import RunLine

    while RunLine.objects.filter(run__in=a_runs, status="succeeded").count() < options.size // 10:
        time.sleep(0.2)
    beside = b_alone(b, options, b_offset)
    wait_final(a_runs, timeout=600 + options.size)
    a_busy = time.perf_counter() - started
    check_booked(a_runs)
    harness.note("A alone again")
    # Before and after, their mean: a machine that gets busier or quieter meanwhile
    # does not tilt A's ratio.
    a_alone = (a_before + a_round(2 * options.size)) / 2
    worker.stop()

    b_ratio = statistics.median(beside) / statistics.median(alone)
    a_ratio = a_alone / a_busy  # throughput with B / throughput alone (same lines)
    harness.report(
        "fairness",
        f"B's {options.b_size} lines beside A {statistics.median(beside):.2f} s "
        f"(worst {max(beside):.2f} s)",
        f"B alone {statistics.median(alone):.2f} s",
        b_ratio,
        f"≤ {TARGET_B:.1f}, A's throughput ≥ {TARGET_A}",
        b_ratio <= TARGET_B and a_ratio >= TARGET_A,
        a_throughput=f"{a_ratio:.2f} ({options.size / a_busy:.0f} vs {options.size / a_alone:.0f} lines/s alone)",
        lines=options.size,
        processes=options.processes,
        latency_ms=options.latency_ms,
    )
    harness.finish(options.strict)


if __name__ == "__main__":
    main()
