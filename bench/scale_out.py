"""Scale-out: the same lines delivered by 1, 2 and 4 worker processes, throughput against 1.

    .venv/bin/python bench/scale_out.py [--size 20000] [--latency-ms 50] [--counts 1,2,4]

``--size`` lines over four companies (one integration each: one run per integration runs at
a time, so four runs can keep four processes busy), one Multivers simulator with
``--latency-ms`` per call, PostgreSQL and Redis (broker and shared state; ``--broker amqp://…``
puts the tasks on RabbitMQ). For each count N, N Celery workers of one pool process each are
started, the four runs queued (new records each round) and timed from queued until every
one is final. Printed: lines/s per count and the ratio to one worker; target ≥ 1.8 at 2.
``cpu`` is the machine's busy share during the round (all cores = 100 %): where it nears
100 %, the cores bind, not the design.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness

TARGET = 1.8
COMPANIES = 4


def one_round(integrations: list[Any], size: int, offset: int, timeout: float) -> float:
    """Queue a run per integration; seconds until every one is final, all booked."""
    from bench import data
    from runs.models import Run, RunStatus

    share = size // len(integrations)
    started = time.perf_counter()
    runs = [
        data.queue_run(integration, data.batch(share, offset=offset + i * share))
        for i, integration in enumerate(integrations)
    ]
    while True:
        states = list(Run.objects.filter(pk__in=[r.pk for r in runs]))
        if all(r.status in (RunStatus.FINISHED, RunStatus.FAILED) for r in states):
            seconds = time.perf_counter() - started
            break
        if time.perf_counter() - started > timeout:
            raise SystemExit(
                f"not final after {timeout:.0f} s: {[(r.status, r.done) for r in states]}"
            )
        time.sleep(0.05)
    short = [(r.pk, r.status, r.succeeded, r.total) for r in states if r.succeeded != r.total]
    if short:
        raise SystemExit(f"not every line was booked: {short}")
    return seconds


def main() -> None:
    args = harness.parser(__doc__.splitlines()[0], size=20_000)
    args.add_argument("--latency-ms", type=int, default=50, help="simulator latency per call")
    args.add_argument("--counts", default="1,2,4", help="worker processes per round")
    args.add_argument("--broker", default="", help="a broker URL for the tasks (default: Redis)")
    options = args.parse_args()
    harness.setup("scale_out", keep=options.keep_db)
    harness.flush_redis()
    env = {"CELERY_BROKER_URL": options.broker} if options.broker else None

    from bench import data

    counts = [int(n) for n in options.counts.split(",")]
    simulator = harness.start_simulator(data.default_package(), latency_ms=options.latency_ms)
    integrations = data.companies(COMPANIES, simulator)
    data.seed_relations(integrations[0])  # the relations every invoice names, booked once
    rates: dict[int, float] = {}
    cpu: dict[int, float] = {}
    for round_number, count in enumerate(counts):
        harness.note(f"{count} worker process(es): {options.size} lines")
        workers = [
            harness.Worker(f"scale-worker-{i}", concurrency=1, env=env) for i in range(count)
        ]
        psutil.cpu_percent()  # starts the machine-wide measurement
        seconds = one_round(
            integrations, options.size, round_number * options.size, 600 + options.size / 10
        )
        cpu[count] = psutil.cpu_percent()
        rates[count] = harness.rate(options.size, seconds)
        harness.note(f"  {rates[count]:.0f} lines/s in {seconds:.1f} s, cpu {cpu[count]:.0f} %")
        for worker in workers:
            worker.stop()

    base = counts[0]
    at = 2 if 2 in rates else counts[-1]
    ratio = rates[at] / rates[base]
    harness.report(
        "scale_out",
        f"{at} workers {rates[at]:.0f} lines/s",
        f"{base} worker {rates[base]:.0f} lines/s",
        ratio,
        f"≥ {TARGET} at 2",
        ratio >= TARGET,
        per_count="/".join(
            f"{n}:{rates[n]:.0f}({rates[n] / rates[base]:.2f}x,cpu{cpu[n]:.0f}%)" for n in counts
        ),
        lines=options.size,
        latency_ms=options.latency_ms,
        broker="amqp" if options.broker.startswith("amqp") else "redis",
    )
    harness.finish(options.strict)


if __name__ == "__main__":
    main()
