"""Benchmark data: a tenant, records of every kind, and bulk rows written with COPY / SQL.

Import after :func:`bench.harness.setup` (it needs Django's models).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.db import connection

from integrations.canonical import example_record, identifier_of
from integrations.canonical.examples import EXAMPLE_RELATIONS
from integrations.models import Integration
from portal.models import Company, Membership, Role
from runs.models import LineStatus, Run, RunLine, RunStatus, Trigger

if TYPE_CHECKING:
    from integrations.simulators.testing import RunningSimulator

PASSWORD = "bench-password-4711"  # noqa: S105 - a throwaway user in a scratch database
USERNAME = "bench"
# The kinds a batch cycles through. Journal entries are left out: a simulator may look them
# up with a linear scan (Multivers' does), which would make it, not the portal, the bottleneck.
BATCH_KINDS = ("sales_invoice", "customer", "purchase_invoice", "supplier")


def default_package() -> str:
    """The package a benchmark runs against unless ``--package`` says otherwise: the first
    registered one with a simulator that publishes no rate limit, so the figure is the
    portal's and not the package's allowance."""
    from integrations.connectors.registry import get_connector_class
    from integrations.simulators.registry import simulator_names

    names = simulator_names()
    return next((key for key in names if get_connector_class(key).rate_limit is None), names[0])


def tenant(*, connector: str | None = None) -> Integration:
    """A company with a consultant ``bench`` and one integration (not yet connected)."""
    connector = connector or default_package()
    company = Company.objects.create(name="Bench BV", slug="bench", reflex_code="BENCH")
    user = get_user_model().objects.create_user(username=USERNAME, password=PASSWORD)
    Membership.objects.create(user=user, company=company, role=Role.CONSULTANT)
    return tenant_integration(company, f"Bench {connector}", connector=connector)


def tenant_integration(company: Company, name: str, *, connector: str | None = None) -> Integration:
    """An integration on ``connector``'s simulator at its default address and demo settings."""
    from integrations.connectors.registry import get_connector_class
    from integrations.simulators.registry import spec_of

    connector = connector or default_package()
    spec = spec_of(connector)
    return Integration.objects.create(
        company=company,
        name=name,
        connector=connector,
        base_url=f"http://127.0.0.1:{spec.port}{spec.prefix}",
        settings=dict(get_connector_class(connector).demo_settings[0]),
        credentials={"client_id": "cloud-portal-demo", "client_secret": "demo-secret"},
    )


def connect(integration: Integration, simulator: RunningSimulator) -> None:
    """Log the integration in to the simulator (authorization-code flow) and store the tokens."""
    tokens = simulator.login()
    integration.base_url = simulator.base_url
    integration.credentials = {
        "client_id": simulator.client_id,
        "client_secret": simulator.client_secret,
        "access_token": tokens["access_token"],
        "refresh_token": tokens["refresh_token"],
        "expires_at": datetime.now(UTC).timestamp() + float(tokens.get("expires_in", 3600)),
    }
    integration.save(update_fields=["base_url", "credentials"])


def record(kind: str, n: int, connector: str) -> dict[str, Any]:
    """``example_record`` as Reflex sends it to a company on ``connector``."""
    return example_record(kind, n, package=connector)


def batch(
    size: int,
    *,
    offset: int = 0,
    connector: str | None = None,
    kinds: tuple[str, ...] = BATCH_KINDS,
) -> Iterator[tuple[str, dict[str, Any]]]:
    """``size`` valid (kind, record) pairs, kinds in turn, identifiers unique in the batch.

    Relations start after the ``EXAMPLE_RELATIONS`` that invoices refer to (see
    :func:`seed_relations`), so none is refused as existing already. Batches with
    offsets ``size`` apart share no identifier (the engine skips what an earlier run booked).
    """
    connector = connector or default_package()
    for i in range(size):
        kind = kinds[(offset + i) % len(kinds)]
        n = (offset + i) // len(kinds)
        yield (
            kind,
            record(
                kind, n + EXAMPLE_RELATIONS if kind in ("customer", "supplier") else n, connector
            ),
        )


def seed_relations(integration: Integration) -> None:
    """Book the customers and suppliers invoices refer to, through the integration's own
    connector (it must be connected, see :func:`connect`)."""
    from integrations.canonical import validate_record
    from integrations.credentials import connector_for

    connector = connector_for(integration)
    try:
        for n in range(EXAMPLE_RELATIONS):
            for kind in ("customer", "supplier"):
                valid, errors = validate_record(kind, record(kind, n, integration.connector))
                assert valid is not None, errors
                connector.book(kind, valid, idempotency_key=f"seed-{kind}-{n}")
    finally:
        connector.client.close()


# --- bulk rows -------------------------------------------------------------------------------
def bulk_runs(integration: Integration, count: int) -> None:
    """``count`` finished runs, numbered 1…count, one a minute back from now, some with failures.

    One INSERT … SELECT from generate_series: 100,000 rows in a second or two.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO runs_run (integration_id, number, trigger, status, total, succeeded, failed,
                                  skipped, queued_at, started_at, finished_at, heartbeat_at, error,
                                  body_hash)
            SELECT %(integration)s, n, %(trigger)s,
                   CASE WHEN n %% 50 = 0 THEN %(failed)s ELSE %(finished)s END,
                   100, 100 - n %% 7, n %% 7, 0,
                   %(start)s + n * interval '1 minute',
                   %(start)s + n * interval '1 minute' + interval '2 seconds',
                   %(start)s + n * interval '1 minute' + interval '40 seconds',
                   NULL, '', ''
            FROM generate_series(1, %(count)s) AS n
            """,
            {
                "integration": integration.pk,
                "trigger": Trigger.INTAKE,
                "failed": RunStatus.FAILED,
                "finished": RunStatus.FINISHED,
                "start": datetime.now(UTC) - timedelta(minutes=count + 10),
                "count": count,
            },
        )
        cursor.execute("ANALYZE runs_run")
    Integration.objects.filter(pk=integration.pk).update(last_run_number=count)


def line_columns() -> tuple[str, ...]:
    """RunLine's columns but the id, as the model defines them today."""
    return tuple(f.column for f in RunLine._meta.concrete_fields if not f.primary_key)


def line_rows(
    run_id: int,
    integration_id: int,
    records: Iterable[tuple[str, dict[str, Any]]],
    *,
    failed_every: int = 0,
) -> Iterator[tuple[Any, ...]]:
    """Rows of RunLine (column values in :func:`line_columns` order) for a batch of records.

    Pending, as intake stores them; with ``failed_every`` finished, every n-th one failed.
    Built through the model, so every column gets the value Django would write.
    """
    fields = [f for f in RunLine._meta.concrete_fields if not f.primary_key]
    for position, (kind, record) in enumerate(records, start=1):
        line = RunLine(
            run_id=run_id,
            integration_id=integration_id,
            position=position,
            kind=kind,
            identifier=identifier_of(kind, record),
            payload=record,
            status=LineStatus.PENDING,
        )
        if failed_every:
            failed = position % failed_every == 0
            line.status = LineStatus.FAILED if failed else LineStatus.SUCCEEDED
            line.attempts = 1
            if failed:
                line.message = "Relatie '10000' bestaat niet."
                line.field_errors = {"relation_code": line.message}
            else:
                line.external_id = str(position)
        yield tuple(_db_value(field, line) for field in fields)


def _db_value(field: Any, line: RunLine) -> Any:
    value = field.get_db_prep_save(getattr(line, field.attname), connection)
    # COPY takes JSON as its text; psycopg's Jsonb wrapper is for parameters.
    return json.dumps(value.obj) if hasattr(value, "obj") else value


def copy_rows(table: str, columns: tuple[str, ...], rows: Iterator[tuple[Any, ...]]) -> int:
    """COPY ``rows`` into ``table`` on Django's connection; answers the row count."""
    count = 0
    with (
        connection.cursor() as cursor,
        cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row(row)
            count += 1
    return count


def big_run(integration: Integration, size: int) -> Run:
    """A finished run of ``size`` lines, every second one failed, added after the bulk runs."""
    number = integration.runs.count() + 1
    now = datetime.now(UTC)
    run = Run.objects.create(
        integration=integration,
        number=number,
        trigger=Trigger.INTAKE,
        status=RunStatus.FINISHED,
        total=size,
        succeeded=size - size // 2,
        failed=size // 2,
        started_at=now,
        finished_at=now,
    )
    copy_rows(
        "runs_runline",
        line_columns(),
        line_rows(run.pk, integration.pk, batch(size), failed_every=2),
    )
    Integration.objects.filter(pk=integration.pk).update(last_run_number=number)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE runs_runline")
    return run
