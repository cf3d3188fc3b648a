"""Export throughput: the real engine against raw httpx, same lines, same simulator, same concurrency.

    .venv/bin/python bench/export_throughput.py [--size 10000] [--latency-ms 0] [--split]

Subject: a run of ``--size`` lines stored with ``run_create`` and delivered by a real Celery
worker subprocess (prefork, Redis broker) through a package's connector (``--package``,
default: the first without a published rate limit), timed from the
moment the run is queued until its status is final. Reference: a thread pool of the same
size as the engine's concurrency sending the same requests with a bare ``httpx.Client``
(the package's ``simulator/bench.py``) — the connector's ``to_package`` bodies, computed before the clock starts,
and for invoices the journal-number call the connector makes first — once before the
subject and once after, their mean taken, so a machine that gets busier or quieter during
the run does not tilt the ratio. All runs use one simulator process, reset and seeded with
the same relations before each. ``--split`` also times the connector alone (its
``book`` on the same thread pool, no engine), to tell connector cost from engine cost.
"""

from __future__ import annotations

import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness

# The design's target (docs/benchmarks.md, "The export gap"; issue 15, part 5).
TARGET = 0.85


def raw_reference(package: str) -> Any:
    """The package's hand-written reference (``simulator/bench.py`` beside its simulator):
    ``raw_requests(records)`` and ``raw_export(simulator, prepared, concurrency)``."""
    from importlib import import_module

    from integrations.simulators.registry import spec_of

    simulator_package = spec_of(package).app.partition(":")[0].rpartition(".")[0]
    try:
        return import_module(f"{simulator_package}.bench")
    except ModuleNotFoundError:
        raise SystemExit(
            f"{package} has no raw httpx reference ({simulator_package}.bench); "
            "write one beside its simulator"
        ) from None


def connector_export(
    integration: Any, records: list[tuple[str, dict[str, Any]]], concurrency: int
) -> float:
    """The connector alone: ``book`` on a thread pool, no engine, no database writes."""
    from integrations.canonical import validate_record
    from integrations.credentials import connector_for

    validated = [(kind, validate_record(kind, raw)[0]) for kind, raw in records]
    connector = connector_for(integration)
    try:
        with harness.stopwatch() as elapsed, ThreadPoolExecutor(concurrency) as pool:
            for _ in pool.map(
                lambda item: connector.book(item[0], item[1], idempotency_key=""), validated
            ):
                pass
    finally:
        connector.client.close()
    return elapsed()


def engine_export(
    integration: Any, records: list[tuple[str, dict[str, Any]]], timeout: float
) -> tuple[float, Any]:
    """Store the run, let the worker deliver it; seconds from queued to final, and the run."""
    from integrations.canonical import identifier_of
    from runs.models import Run, RunStatus, Trigger
    from runs.services.runs import NewLine, run_create

    lines = (
        NewLine(kind=kind, identifier=identifier_of(kind, record), payload=record)
        for kind, record in records
    )
    run = run_create(integration=integration, trigger=Trigger.INTAKE, lines=lines)
    started = time.perf_counter()
    deadline = started + timeout
    while True:
        run = Run.objects.get(pk=run.pk)
        if run.status in (RunStatus.FINISHED, RunStatus.FAILED):
            return time.perf_counter() - started, run
        if time.perf_counter() > deadline:
            raise RuntimeError(
                f"run {run.pk} not final after {timeout:.0f} s: {run.status} {run.done}/{run.total}"
            )
        time.sleep(0.02)


def main() -> None:
    args = harness.parser(__doc__.splitlines()[0], size=10_000)
    args.add_argument("--latency-ms", type=int, default=0, help="simulator latency per call")
    args.add_argument(
        "--split",
        action="store_true",
        help="also time the connector alone (no engine), to tell connector from engine cost",
    )
    options = args.parse_args()
    harness.setup("export", keep=options.keep_db)
    harness.flush_redis()

    from bench import data
    from integrations.canonical.examples import EXAMPLE_RELATIONS
    from runs.services.export import EngineConfig

    concurrency = EngineConfig.from_settings().concurrency
    package = options.package or data.default_package()
    reference = raw_reference(package)
    simulator = harness.start_simulator(package, latency_ms=options.latency_ms)
    integration = data.tenant(connector=package)
    records = list(data.batch(options.size, connector=package))
    prepared = reference.raw_requests(records)

    def fresh_simulator() -> None:
        """Reset, seeded with the relations the invoices name, the integration logged in."""
        simulator.reset()
        simulator.set_faults(latency_ms=options.latency_ms)
        data.connect(integration, simulator)
        data.seed_relations(integration)

    def raw_round() -> tuple[float, float]:
        """One reference run on a fresh simulator: (seconds, simulator CPU share)."""
        fresh_simulator()
        with harness.CpuShare(simulator.pid) as share:
            seconds = reference.raw_export(simulator, prepared, concurrency)
        booked = simulator.stats()["bookings"] - 2 * EXAMPLE_RELATIONS
        if booked != options.size:
            raise SystemExit(f"raw httpx booked {booked} of {options.size} lines")
        return seconds, share.share

    # The reference runs before and after the subject, so a machine that gets busier or
    # quieter during the run does not tilt the ratio.
    harness.note(f"raw httpx: {options.size} lines, {concurrency} threads")
    raw_before, raw_sim = raw_round()

    fresh_simulator()
    worker = harness.Worker("export-worker")
    harness.note(f"engine: {options.size} lines through a Celery worker")
    with harness.CpuShare(simulator.pid) as engine_sim:
        engine_seconds, run = engine_export(
            integration, records, timeout=max(120.0, raw_before * 20)
        )
    engine_booked = simulator.stats()["bookings"] - 2 * EXAMPLE_RELATIONS
    worker.stop()
    if run.succeeded != options.size or engine_booked != options.size:
        failed = run.lines.filter(status="failed").values_list("message", flat=True).first()
        raise SystemExit(
            f"not every line was booked once: run {run.status}, {run.succeeded}/{run.total} "
            f"succeeded ({run.failed} failed: {failed!r}), simulator bookings {engine_booked}"
        )

    connector_rate = None
    if options.split:
        harness.note("the connector alone")
        fresh_simulator()
        connector_rate = harness.rate(
            options.size, connector_export(integration, records, concurrency)
        )

    harness.note("raw httpx again")
    raw_after, _ = raw_round()
    raw_seconds = (raw_before + raw_after) / 2
    engine_rate = harness.rate(options.size, engine_seconds)
    raw_rate = harness.rate(options.size, raw_seconds)
    ratio = engine_rate / raw_rate
    harness.report(
        "export_throughput",
        f"engine {engine_rate:.0f} lines/s ({engine_seconds:.2f} s)",
        f"raw httpx {raw_rate:.0f} lines/s ({raw_before:.2f} s before, {raw_after:.2f} s after)",
        ratio,
        f"≥ {TARGET:.2f}",
        ratio >= TARGET,
        lines=options.size,
        latency_ms=options.latency_ms,
        concurrency=concurrency,
        simulator_cpu=f"{raw_sim:.0%}/{engine_sim.share:.0%}",
        **({"connector_alone": f"{connector_rate:.0f}/s"} if connector_rate else {}),
    )
    harness.finish(options.strict)


if __name__ == "__main__":
    main()
