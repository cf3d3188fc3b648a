"""Peak memory of a worker executing a run, and of the intake taking a batch, at N/4 and N.

    .venv/bin/python bench/memory.py [--size 100000] [--intake-size 50000]

Worker: a fresh Celery worker subprocess (prefork, one child) per size delivers a run of
``--size`` lines (and ``--size``/4) to the Multivers simulator; psutil samples the RSS of
every process of the worker every 20 ms and the largest single process counts. Intake: a
fresh ``gunicorn portal.wsgi -w 1`` per size takes a JSON batch of ``--intake-size`` (and
/4) records; its worker process is sampled the same way. Flat (lines streamed, not held)
means peak(N) / peak(N/4) ≈ 1; a footprint that grows with the data shows as up to 4.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness

TARGET = 1.25


def worker_peak(integration: Any, simulator: Any, size: int, offset: int) -> tuple[int, int, float]:
    """(peak RSS, RSS before the run, seconds) of a fresh worker delivering ``size`` lines."""
    from bench import data
    from bench.export_throughput import engine_export

    simulator.reset()
    data.connect(integration, simulator)
    data.seed_relations(integration)
    worker = harness.Worker(f"memory-worker-{size}")
    try:
        with harness.PeakRss(worker.processes) as rss:
            seconds, run = engine_export(
                integration,
                list(data.batch(size, offset=offset, connector=integration.connector)),
                timeout=max(600.0, size / 20),
            )
    finally:
        worker.stop()
    if run.succeeded != size:
        raise SystemExit(f"run {run.pk}: {run.status}, {run.succeeded} of {size} lines succeeded")
    return rss.peak, rss.baseline, seconds


def intake_peak(token: str, size: int) -> tuple[int, int, float]:
    """(peak RSS, RSS before, seconds) of a fresh gunicorn worker taking a ``size``-record batch."""
    import httpx

    from bench import data
    from integrations.canonical import identifier_of

    body = json.dumps(
        {
            "records": [
                {"kind": k, "identifier": identifier_of(k, r), "data": r}
                for k, r in data.batch(size)
            ]
        }
    ).encode()
    port = harness.free_port()
    server = harness.Process(
        f"memory-gunicorn-{size}",
        [
            harness.PYTHON,
            "-m",
            "gunicorn",
            "portal.wsgi",
            "-w",
            "1",
            "-b",
            f"127.0.0.1:{port}",
            "--timeout",
            "600",
        ],
    )
    try:
        harness.wait_http(f"http://127.0.0.1:{port}/healthz")

        def processes() -> list[Any]:
            import psutil

            main = psutil.Process(server.pid)
            return [main, *main.children(recursive=True)]

        with harness.PeakRss(processes) as rss:
            started = time.perf_counter()
            response = httpx.post(
                f"http://127.0.0.1:{port}/api/v1/runs",
                content=body,
                headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
                timeout=600,
            )
            seconds = time.perf_counter() - started
        if response.status_code != 201:
            raise SystemExit(f"intake answered {response.status_code}: {response.text[:500]}")
    finally:
        server.stop()
    return rss.peak, rss.baseline, seconds


def report(name: str, small: int, large: int, figures: dict[int, tuple[int, int, float]]) -> None:
    (peak_small, base_small, secs_small), (peak_large, base_large, secs_large) = (
        figures[small],
        figures[large],
    )
    ratio = peak_large / peak_small
    harness.report(
        name,
        f"peak {harness.mib(peak_large)} at {large} lines ({secs_large:.0f} s)",
        f"peak {harness.mib(peak_small)} at {small} lines ({secs_small:.0f} s)",
        ratio,
        f"≤ {TARGET} (flat)",
        ratio <= TARGET,
        growth=f"{harness.mib(peak_small - base_small)}→{harness.mib(peak_large - base_large)}",
    )


def main() -> None:
    args = harness.parser(__doc__.splitlines()[0], size=100_000)
    args.add_argument("--intake-size", type=int, default=50_000, help="records of the intake batch")
    args.add_argument("--skip-worker", action="store_true")
    args.add_argument("--skip-intake", action="store_true")
    options = args.parse_args()
    harness.setup("memory", keep=options.keep_db)
    harness.flush_redis()

    from bench import data

    integration = data.tenant(connector=options.package)
    if not options.skip_worker:
        simulator = harness.start_simulator(integration.connector)
        small, large = max(options.size // 4, 1), options.size
        figures = {}
        for size, offset in ((small, 0), (large, small)):
            harness.note(f"worker: a run of {size} lines")
            figures[size] = worker_peak(integration, simulator, size, offset)
        report("memory.worker", small, large, figures)
    if not options.skip_intake:
        token = integration.issue_intake_token()
        small, large = max(options.intake_size // 4, 1), options.intake_size
        figures = {}
        for size in (small, large):
            harness.note(f"intake: a batch of {size} records")
            figures[size] = intake_peak(token, size)
        report("memory.intake", small, large, figures)
    harness.finish(options.strict)


if __name__ == "__main__":
    main()
