"""Retention: prune the details of half of 5 million lines; History's first page meanwhile.

    .venv/bin/python bench/retention.py [--size 5000000] [--batch 2000] [--requests 200]

Data: ``--size`` lines in runs of 100 (one ``INSERT … SELECT`` over generate_series per
slice), customers and sales invoices in turn, each with one delivery attempt holding its
exchange (the request body and the package's answer, as the connectors record them).
The older half of the runs finished 400 days ago, the newer half 10 days ago; one line
in 20 failed. A pruning pass with the default 180 days then removes the details of the
older half's booked lines (its failures stay), in a process of its own as the beat task
would run it, while this process fetches History's first page again and again.

Printed: lines pruned per second; table and index sizes of lines and attempts before,
right after and after a plain ``VACUUM`` (what autovacuum does: the space is reused by
new rows, the files do not shrink); and the ratio of History's median first-page time
during the prune to the same before it. Checks that every failure kept its details and
that exactly the old booked lines lost theirs.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness

LINES_PER_RUN = 100
FAILED_EVERY = 20
# Lines written per INSERT statement (progress shows, no one giant transaction).
SLICE_LINES = 500_000
HISTORY_TARGET = 1.5
PACE = 10  # History requests a second

_PRUNE = """
import django, statistics, sys, time
django.setup()
from runs.services import retention
# Time each batch (one transaction): the longest is the longest any row lock is held.
batches = []
batch_prune = retention._batch_prune
def timed(*args, **kwargs):
    started = time.perf_counter()
    try:
        return batch_prune(*args, **kwargs)
    finally:
        batches.append(time.perf_counter() - started)
retention._batch_prune = timed
started = time.perf_counter()
pruned = retention.lines_prune(batch_size=int(sys.argv[1]))
seconds = time.perf_counter() - started
p95 = statistics.quantiles(batches, n=20, method="inclusive")[-1] if len(batches) > 1 else batches[0]
print(f"pruned={pruned} seconds={seconds:.3f} batches={len(batches)} "
      f"batch_p95_ms={p95 * 1000:.0f} batch_max_ms={max(batches) * 1000:.0f}", flush=True)
"""


def _sizes() -> dict[str, int]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT t, pg_table_size(t), pg_indexes_size(t)
            FROM unnest(ARRAY['runs_runline', 'runs_deliveryattempt']::regclass[]) AS t
            """
        )
        sizes = {}
        for table, heap, indexes in cursor.fetchall():
            sizes[f"{table}.table"] = heap
            sizes[f"{table}.indexes"] = indexes
    return sizes


def _free_share() -> str:
    """Share of each table that is free space for new rows (pgstattuple_approx), if available."""
    from django.db import connection

    try:
        with connection.cursor() as cursor:
            cursor.execute("CREATE EXTENSION IF NOT EXISTS pgstattuple")
            shares = []
            for table in ("runs_runline", "runs_deliveryattempt"):
                cursor.execute("SELECT approx_free_percent FROM pgstattuple_approx(%s)", [table])
                shares.append(f"{table}.free={cursor.fetchone()[0]:.0f}%")
    except Exception as error:  # a figure for information only
        return f"(pgstattuple not available: {error})"
    return " ".join(shares)


def _size_text(sizes: dict[str, int]) -> str:
    return " ".join(f"{name}={harness.mib(value)}" for name, value in sizes.items())


def _lines(
    integration_id: int, connector: str, first_run: int, last_run: int, old_runs: int
) -> None:
    """Lines and their attempts for runs numbered first_run…last_run (inclusive)."""
    from django.db import connection

    from bench import data

    customer = json.dumps(data.record("customer", 1, connector))
    invoice = json.dumps(data.record("sales_invoice", 1, connector))
    answer = json.dumps({"id": 0, "message": "Created", "links": [{"rel": "self"}] * 3})
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO runs_runline (run_id, integration_id, position, kind, identifier,
                payload, status, message, field_errors, external_id, attempts, in_doubt,
                finished_at, reoffer, resolution, version)
            SELECT r.id, r.integration_id, p,
                   CASE WHEN p %% 2 = 0 THEN 'customer' ELSE 'sales_invoice' END,
                   r.number || '-' || p,
                   CASE WHEN p %% 2 = 0 THEN %(customer)s::jsonb ELSE %(invoice)s::jsonb END,
                   CASE WHEN p %% %(failed_every)s = 0 THEN 'failed' ELSE 'succeeded' END,
                   CASE WHEN p %% %(failed_every)s = 0 THEN 'Relatie bestaat niet.' ELSE '' END,
                   '{}'::jsonb,
                   CASE WHEN p %% %(failed_every)s = 0 THEN '' ELSE r.number || '-' || p END,
                   1, false,
                   CASE WHEN r.number <= %(old_runs)s THEN now() - interval '400 days'
                        ELSE now() - interval '10 days' END,
                   false, '', 1
            FROM runs_run r CROSS JOIN generate_series(1, %(per_run)s) AS p
            WHERE r.integration_id = %(integration)s AND r.number BETWEEN %(first)s AND %(last)s
            """,
            {
                "customer": customer,
                "invoice": invoice,
                "failed_every": FAILED_EVERY,
                "old_runs": old_runs,
                "per_run": LINES_PER_RUN,
                "integration": integration_id,
                "first": first_run,
                "last": last_run,
            },
        )
        cursor.execute(
            """
            INSERT INTO runs_deliveryattempt (line_id, number, started_at, duration_ms, outcome,
                                              message, exchanges)
            SELECT l.id, 1, l.finished_at, 40, l.status, l.message,
                   jsonb_build_array(jsonb_build_object(
                       'method', 'POST', 'url', 'http://127.0.0.1:8101/V22/api/MVL00001/Customer',
                       'request_body', l.payload::text, 'status', 201,
                       'response_body', %(answer)s, 'duration_ms', 40, 'started_at', 1.7e9))
            FROM runs_runline l JOIN runs_run r ON r.id = l.run_id
            WHERE r.integration_id = %(integration)s AND r.number BETWEEN %(first)s AND %(last)s
            """,
            {"answer": answer, "integration": integration_id, "first": first_run, "last": last_run},
        )


def _history_times(client, url: str, count: int, until=None) -> list[float]:  # type: ignore[no-untyped-def]
    """Seconds of ``count`` requests of ``url`` (or as many as fit before ``until()`` is true).

    Paced at PACE requests a second, as people clicking would: hammering the page would
    take a whole core of the two and measure the machine's CPU share, not the prune.
    """
    times = []
    while len(times) < count or (until is not None and not until()):
        started = time.perf_counter()
        response = client.get(url)
        took = time.perf_counter() - started
        times.append(took)
        if response.status_code != 200:
            raise RuntimeError(f"History answered {response.status_code}")
        if until is not None and until():
            break
        time.sleep(max(0.0, 1 / PACE - took))
    return times


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def main() -> None:
    args = harness.parser(__doc__.splitlines()[0], size=5_000_000)
    args.add_argument("--batch", type=int, default=2000, help="lines per prune transaction")
    args.add_argument("--requests", type=int, default=200, help="History requests before the prune")
    options = args.parse_args()
    harness.setup("retention", keep=options.keep_db)

    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.urls import reverse

    from bench import data
    from runs.models import LineStatus, RunLine

    runs = max(2, options.size // LINES_PER_RUN)
    old_runs = runs // 2
    integration = data.tenant()
    harness.note(f"{runs} runs of {LINES_PER_RUN} lines, with one attempt each")
    with harness.stopwatch() as elapsed:
        data.bulk_runs(integration, runs)
        step = max(1, SLICE_LINES // LINES_PER_RUN)
        for first in range(1, runs + 1, step):
            _lines(
                integration.pk, integration.connector, first, min(runs, first + step - 1), old_runs
            )
            harness.note(f"  lines of runs {first}…{min(runs, first + step - 1)}")
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE runs_runline")
            cursor.execute("VACUUM ANALYZE runs_deliveryattempt")
    lines = RunLine.objects.count()
    harness.note(f"{lines} lines in {elapsed():.0f} s")
    before_sizes = _sizes()
    expected = RunLine.objects.filter(
        status=LineStatus.SUCCEEDED, run__number__lte=old_runs
    ).count()

    client = Client()
    client.force_login(get_user_model().objects.get(username=data.USERNAME))
    url = reverse(
        "run_history",
        kwargs={"company_slug": integration.company.slug, "integration_id": integration.pk},
    )
    _history_times(client, url, 5)  # warm: templates compiled, plans cached
    quiet = _history_times(client, url, options.requests)

    pruner = harness.Process("retention-prune", [harness.PYTHON, "-c", _PRUNE, str(options.batch)])
    busy = _history_times(client, url, 1, until=lambda: pruner.popen.poll() is not None)
    pruner.stop()
    result = pruner.log().strip().splitlines()[-1]
    if not result.startswith("pruned="):
        raise RuntimeError(f"the prune failed:\n{pruner.log()[-3000:]}")
    fields = dict(part.split("=") for part in result.split())
    pruned, seconds = int(fields["pruned"]), float(fields["seconds"])
    after_sizes = _sizes()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM runs_runline")
        cursor.execute("VACUUM runs_deliveryattempt")
    vacuumed_sizes = _sizes()

    failures_whole = not RunLine.objects.filter(
        status=LineStatus.FAILED, pruned_at__isnull=False
    ).exists()
    if pruned != expected or not failures_whole:
        raise RuntimeError(
            f"pruned {pruned}, expected {expected}; failures whole: {failures_whole}"
        )

    quiet_median, busy_median = statistics.median(quiet), statistics.median(busy)
    ratio = busy_median / quiet_median
    harness.report(
        "retention",
        f"History first page during the prune {_ms(busy_median)} (median of {len(busy)})",
        f"before it {_ms(quiet_median)} (median of {len(quiet)})",
        ratio,
        f"≤ {HISTORY_TARGET}",
        ratio <= HISTORY_TARGET,
        pruned=pruned,
        lines=lines,
        seconds=f"{seconds:.1f}",
        rows_per_s=f"{harness.rate(pruned, seconds):.0f}",
        batch=options.batch,
        batches=fields["batches"],
        batch_ms=f"p95 {fields['batch_p95_ms']}, max {fields['batch_max_ms']}",
        busy_p95=_ms(statistics.quantiles(busy, n=20, method="inclusive")[-1])
        if len(busy) >= 2
        else "-",
    )
    print(f"  sizes before:        {_size_text(before_sizes)}", flush=True)
    print(f"  sizes after prune:   {_size_text(after_sizes)}", flush=True)
    print(f"  sizes after VACUUM:  {_size_text(vacuumed_sizes)} {_free_share()}", flush=True)
    harness.finish(options.strict)


if __name__ == "__main__":
    main()
