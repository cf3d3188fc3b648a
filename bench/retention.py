"""Retention: prune the details of half of 5 million lines; History's first page meanwhile.

    .venv/bin/python bench/retention.py [--size 5000000] [--batch 2000] [--requests 200]

Data: ``--size`` lines in runs of 100 (one ``INSERT … SELECT`` over generate_series per
slice), customers and sales invoices in turn, each with one delivery attempt holding its
exchange (the request body and the package's answer, as the connectors record them).
Loaded without the two tables' secondary indexes and constraints, which are then built
again from their own definitions (see ``_bulk_load``): the tables are the product's.
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

import contextlib
import json
import statistics
import sys
import time
from collections.abc import Iterator
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


@contextlib.contextmanager
def _bulk_load(tables: tuple[str, ...]) -> Iterator[None]:
    """Load ``tables`` without their secondary indexes and constraints, then restore them.

    Maintaining fourteen indexes row by row and queueing one deferred foreign-key check per
    row and constraint made loading ~4 minutes per 500,000 lines; building each index once
    and validating each key with one join afterwards is many times faster. The definitions
    are read from the catalogue (what the migrations made), recreated verbatim and compared
    afterwards, so the tables measured are exactly the product's: logged, same indexes and
    constraints. Primary keys and check constraints stay throughout.
    """
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(_DEFINITIONS, {"tables": list(tables)})
        definitions = cursor.fetchall()
        cursor.execute("SET synchronous_commit = off")  # the loading session only
        for table, kind, name, _ in definitions:
            if kind == "index":
                cursor.execute(f'DROP INDEX "{name}"')
            else:
                cursor.execute(f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"')
    yield
    with connection.cursor() as cursor:
        cursor.execute("SET maintenance_work_mem = '1GB'")
        # Indexes and unique constraints first: the foreign keys' validation joins use them.
        for table, kind, name, definition in sorted(definitions, key=lambda d: d[1] == "f"):
            if kind == "index":
                cursor.execute(definition)
            else:
                cursor.execute(f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" {definition}')
        cursor.execute("RESET maintenance_work_mem")
        cursor.execute("RESET synchronous_commit")
        cursor.execute(_DEFINITIONS, {"tables": list(tables)})
        restored = cursor.fetchall()
    if sorted(restored) != sorted(definitions):
        raise RuntimeError(f"indexes or constraints differ after loading: {restored}")


# Secondary indexes (kind "index", CREATE INDEX statement) and unique and foreign-key
# constraints (kind "u"/"f", the constraint's definition) of the tables.
_DEFINITIONS = """
    SELECT i.indrelid::regclass::text, 'index', i.indexrelid::regclass::text,
           pg_get_indexdef(i.indexrelid)
    FROM pg_index i
    WHERE i.indrelid::regclass::text = ANY(%(tables)s) AND NOT i.indisprimary
      AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
    UNION ALL
    SELECT c.conrelid::regclass::text, c.contype::text, c.conname, pg_get_constraintdef(c.oid)
    FROM pg_constraint c
    WHERE c.conrelid::regclass::text = ANY(%(tables)s) AND c.contype IN ('u', 'f')
"""


def _lines(
    integration_id: int, connector: str, first_run: int, last_run: int, old_runs: int
) -> None:
    """Lines for runs numbered first_run…last_run (inclusive)."""
    from django.db import connection

    from bench import data

    customer = json.dumps(data.record("customer", 1, connector))
    invoice = json.dumps(data.record("sales_invoice", 1, connector))
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
            -- A run's lines get consecutive ids, as intake writes them; without it the plan
            -- may number the first line of every run first, which scatters a batch of
            -- lines over thousands of runs and every index.
            ORDER BY r.number, p
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


def _attempts(first_line: int, last_line: int) -> None:
    """One attempt, holding its exchange, for each line with an id in first_line…last_line."""
    from django.db import connection

    answer = json.dumps({"id": 0, "message": "Created", "links": [{"rel": "self"}] * 3})
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO runs_deliveryattempt (line_id, number, started_at, duration_ms, outcome,
                                              message, exchanges)
            SELECT l.id, 1, l.finished_at, 40, l.status, l.message,
                   jsonb_build_array(jsonb_build_object(
                       'method', 'POST', 'url', 'http://127.0.0.1:8101/V22/api/MVL00001/Customer',
                       'request_body', l.payload::text, 'status', 201,
                       'response_body', %(answer)s, 'duration_ms', 40, 'started_at', 1.7e9))
            FROM runs_runline l
            WHERE l.id BETWEEN %(first)s AND %(last)s
            """,
            {"answer": answer, "first": first_line, "last": last_line},
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
    from django.db.models import Max, Min
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
        with _bulk_load(("runs_runline", "runs_deliveryattempt")):
            step = max(1, SLICE_LINES // LINES_PER_RUN)
            for first in range(1, runs + 1, step):
                last = min(runs, first + step - 1)
                _lines(integration.pk, integration.connector, first, last, old_runs)
                harness.note(f"  lines of runs {first}…{last} ({elapsed():.0f} s)")
            bounds = RunLine.objects.aggregate(low=Min("pk"), high=Max("pk"))
            for first in range(bounds["low"], bounds["high"] + 1, SLICE_LINES):
                _attempts(first, first + SLICE_LINES - 1)
                harness.note(f"  attempts of lines {first}… ({elapsed():.0f} s)")
            harness.note(f"  loaded; indexes and constraints next ({elapsed():.0f} s)")
        harness.note(f"  indexes and constraints restored ({elapsed():.0f} s)")
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE runs_runline")
            cursor.execute("VACUUM ANALYZE runs_deliveryattempt")
            # The load's dirty pages are written now, not by the checkpointer during the
            # prune: otherwise the prune's figure pays for writing gigabytes of loading.
            cursor.execute("CHECKPOINT")
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
