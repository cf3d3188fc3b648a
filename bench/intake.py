"""Intake of a JSON batch through the API, against PostgreSQL COPY of the same rows.

    .venv/bin/python bench/intake.py [--size 10000] [--repeat 3]

Subject: ``POST /api/v1/runs`` with a ``--size``-record batch and the integration's
bearer token, through Django's test client (the whole middleware stack and the ninja
API, no network), timed until the answer says the run is queued (201). Reference: COPY
of the rows intake stores (every RunLine column, payload as JSON) into a scratch table
made ``LIKE runs_runline INCLUDING ALL`` (same indexes and checks, no foreign keys), rows
built before the clock starts; for scale, the same COPY into ``runs_runline`` itself (its
foreign keys checked at commit) is printed too. Subject and reference alternate ``--repeat``
times; the fastest of each counts (a busy machine only ever adds time).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness

TARGET = 3.0


def main() -> None:
    args = harness.parser(__doc__.splitlines()[0], size=10_000)
    args.add_argument(
        "--repeat", type=int, default=3, help="rounds of subject and reference (the fastest counts)"
    )
    args.add_argument(
        "--profile", action="store_true", help="pyinstrument the last intake (var/bench/)"
    )
    options = args.parse_args()
    harness.setup("intake", keep=options.keep_db)
    harness.flush_redis()

    from django.db import connection, transaction
    from django.test import Client

    from bench import data
    from integrations.canonical import identifier_of
    from runs.models import Run, RunStatus

    integration = data.tenant()
    token = integration.issue_intake_token()
    records = list(data.batch(options.size))
    body = json.dumps(
        {"records": [{"kind": k, "identifier": identifier_of(k, r), "data": r} for k, r in records]}
    ).encode()
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE bench_runline (LIKE runs_runline INCLUDING ALL)")
    scratch_run = Run.objects.create(integration=integration, number=10**6, trigger="manual")
    rows = list(data.line_rows(scratch_run.pk, integration.pk, records))
    columns = data.line_columns()
    client = Client()
    headers = {"Authorization": f"Bearer {token}"}

    def intake() -> float:
        with harness.stopwatch() as elapsed:
            response = client.post(
                "/api/v1/runs", body, content_type="application/json", headers=headers
            )
        if response.status_code != 201:
            raise SystemExit(f"intake answered {response.status_code}: {response.content[:500]!r}")
        run = Run.objects.get(pk=response.json()["id"])
        if run.status != RunStatus.QUEUED or run.total != options.size:
            raise SystemExit(f"intake stored run {run.pk} as {run.status} with {run.total} lines")
        return elapsed()

    def copy(table: str) -> float:
        with harness.stopwatch() as elapsed, transaction.atomic():
            data.copy_rows(table, columns, iter(rows))
        with connection.cursor() as cursor:
            cursor.execute("TRUNCATE bench_runline")
            cursor.execute("DELETE FROM runs_runline WHERE run_id = %s", [scratch_run.pk])
        return elapsed()

    harness.note(
        f"{options.size} records, {len(body) / 2**20:.1f} MiB of JSON, {options.repeat} rounds"
    )
    intake_times, copy_times, fk_times = [], [], []
    for round_ in range(options.repeat):
        with harness.profiled("intake", options.profile and round_ == options.repeat - 1):
            intake_times.append(intake())
        copy_times.append(copy("bench_runline"))
        # For scale: LIKE copies no foreign keys; runs_runline checks its own at commit.
        fk_times.append(copy("runs_runline"))
    subject, reference = min(intake_times), min(copy_times)
    ratio = subject / reference
    harness.report(
        "intake",
        f"API {subject:.2f} s ({harness.rate(options.size, subject):.0f} lines/s)",
        f"COPY {reference:.2f} s ({harness.rate(options.size, reference):.0f} rows/s)",
        ratio,
        f"≤ {TARGET:.0f}",
        ratio <= TARGET,
        lines=options.size,
        copy_into_runs_runline=f"{min(fk_times):.2f}s",
    )
    harness.finish(options.strict)


if __name__ == "__main__":
    main()
