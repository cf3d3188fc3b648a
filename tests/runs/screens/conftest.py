"""Runs with failed lines for the run and line screens, built directly with the ORM."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import timezone

from integrations.canonical import example_record
from portal.celery import app as celery_app
from runs.models import DeliveryAttempt, LineStatus, Run, RunLine, RunStatus, Trigger

BAD_VAT = "Enter a Dutch VAT number in the form NL999999999B99."
PACKAGE_MESSAGE = "Btw-code <b>9</b> bestaat niet"


@pytest.fixture(autouse=True)
def broker_in_memory(settings):
    """Queued runs go to an in-memory broker: no worker delivers anything in these tests."""
    settings.CELERY_BROKER_URL = "memory://"
    previous = celery_app.conf.broker_url
    celery_app.conf.broker_url = "memory://"
    yield
    celery_app.conf.broker_url = previous


def make_run(integration, *, number: int, status: str = RunStatus.FINISHED, **fields) -> Run:
    integration.last_run_number = max(integration.last_run_number, number)
    integration.save(update_fields=["last_run_number"])
    return Run.objects.create(
        integration=integration,
        number=number,
        trigger=fields.pop("trigger", Trigger.INTAKE),
        status=status,
        **fields,
    )


def make_line(
    run: Run, position: int, *, kind: str, payload: dict, status: str, **fields
) -> RunLine:
    identifier = fields.pop("identifier", None) or str(
        payload.get("code") or payload.get("invoice_number")
    )
    return RunLine.objects.create(
        run=run,
        integration=run.integration,
        position=position,
        kind=kind,
        identifier=identifier,
        payload=payload,
        status=status,
        **fields,
    )


@pytest.fixture
def failed_run(integration) -> Run:
    """Run #1: a customer with a bad VAT number, an invoice refused by the package, one success."""
    now = timezone.now()
    run = make_run(
        integration,
        number=1,
        total=3,
        succeeded=1,
        failed=2,
        started_at=now,
        finished_at=now + timezone.timedelta(seconds=65),
    )
    make_line(
        run,
        1,
        kind="customer",
        payload={**example_record("customer", 1), "vat_number": "NL123"},
        status=LineStatus.FAILED,
        message=f"vat_number: {BAD_VAT}",
        field_errors={"vat_number": BAD_VAT},
    )
    invoice = example_record("sales_invoice", 1)
    make_line(
        run,
        2,
        kind="sales_invoice",
        payload=invoice,
        status=LineStatus.FAILED,
        message=PACKAGE_MESSAGE,
        field_errors={"lines.1.vat_code": PACKAGE_MESSAGE},
    )
    make_line(
        run, 3, kind="customer", payload=example_record("customer", 2), status=LineStatus.SUCCEEDED
    )
    return run


@pytest.fixture
def customer_line(failed_run) -> RunLine:
    return failed_run.lines.get(position=1)


@pytest.fixture
def invoice_line(failed_run) -> RunLine:
    line = failed_run.lines.get(position=2)
    DeliveryAttempt.objects.create(
        line=line,
        number=1,
        started_at=timezone.now(),
        duration_ms=120,
        outcome=DeliveryAttempt.Outcome.FAILED,
        message=PACKAGE_MESSAGE,
        exchanges=[
            {
                "method": "POST",
                "url": "https://api.example/V22/invoices",
                "status": 400,
                "request_body": {"invoiceNumber": line.identifier},
                "response_body": "<script>alert(1)</script>",
            }
        ],
    )
    return line


@pytest.fixture
def clean_run(integration) -> Run:
    """A run without failures: Show only failed starts unticked."""
    run = make_run(integration, number=5, total=2, succeeded=2)
    for position in (1, 2):
        make_line(
            run,
            position,
            kind="customer",
            payload=example_record("customer", 10 + position),
            status=LineStatus.SUCCEEDED,
        )
    return run


@pytest.fixture
def running_run(integration) -> Run:
    run = make_run(
        integration,
        number=6,
        status=RunStatus.RUNNING,
        total=4,
        succeeded=1,
        started_at=timezone.now(),
    )
    for position in range(1, 5):
        make_line(
            run,
            position,
            kind="customer",
            payload=example_record("customer", 20 + position),
            status=LineStatus.SUCCEEDED if position == 1 else LineStatus.PENDING,
        )
    return run


@pytest.fixture
def foreign_line(other_integration) -> RunLine:
    run = make_run(other_integration, number=1, total=1, failed=1)
    return make_line(
        run,
        1,
        kind="customer",
        payload=example_record("customer", 1),
        status=LineStatus.FAILED,
        message="refused",
    )


def client_for(user) -> Client:
    # force_login: django-axes wants a request on every authenticate() call.
    client = Client()
    client.force_login(user)
    return client
