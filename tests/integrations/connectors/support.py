"""What the connector tests share: the packages, connecting over the simulator's OAuth flow, records."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib import import_module
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from integrations.canonical import example_record, validate_record
from integrations.connectors.base import Connector
from integrations.connectors.memory_store import MemoryCredentialStore
from integrations.connectors.registry import get_connector_class
from integrations.http import build_client
from integrations.simulators.registry import simulator_names

DEMO_CLIENT = {"client_id": "cloud-portal-demo", "client_secret": "demo-secret"}
REDIRECT_URI = "http://localhost:8000/integrations/callback"
KINDS = ("customer", "supplier", "sales_invoice", "purchase_invoice", "journal_entry")
RELATIONS = frozenset({"customer", "supplier"})


@dataclass(frozen=True)
class Package:
    connector: type[Connector]
    settings: dict[str, Any]
    knobs: dict[str, Any]
    # kind → (the simulator's ledger entity, our natural key read from the body it got)
    ledger: dict[str, tuple[str, Callable[[dict[str, Any]], str]]]
    # Where the package keeps a relation's name in the body it got.
    name_field: str


def _package(key: str) -> Package:
    """A registered package as the tests see it: its connector's declarations plus the
    hooks in its ``simulator/testing.py``."""
    connector_class = get_connector_class(key)
    spec = connector_class.simulator
    assert spec is not None
    hooks = import_module(spec.app.partition(":")[0].rpartition(".")[0] + ".testing")
    return Package(
        connector_class,
        dict(connector_class.demo_settings[0]),
        dict(getattr(hooks, "KNOBS", {})),
        hooks.LEDGER,
        hooks.NAME_FIELD,
    )


# Every registered package with a simulator: a new one runs through these tests unedited.
PACKAGES = {key: _package(key) for key in simulator_names()}


@contextlib.contextmanager
def simulator(name: str, **knobs: Any) -> Iterator[Any]:
    from integrations.simulators.testing import run_simulator

    with run_simulator(name, **knobs) as sim:
        yield sim


@contextlib.contextmanager
def simulators() -> Iterator[dict[str, Any]]:
    """A running simulator of every package, by the package's key."""
    with contextlib.ExitStack() as stack:
        yield {
            key: stack.enter_context(simulator(key, **package.knobs))
            for key, package in PACKAGES.items()
        }


def connected(
    connector_class: type[Connector], base_url: str, settings: dict[str, Any], **kwargs: Any
) -> Connector:
    """A connector that went through the authorization-code flow, as a consultant would."""
    store = MemoryCredentialStore(**DEMO_CLIENT)
    connector = connector_class(
        base_url=base_url,
        settings=settings,
        credentials=store,
        client=build_client(base_url=base_url),
        **kwargs,
    )
    url = connector.authorize_url(redirect_uri=REDIRECT_URI, state="xyz")
    answer = httpx.get(url, follow_redirects=False)
    assert answer.status_code == 302, answer.text
    query = parse_qs(urlsplit(answer.headers["location"]).query)
    assert query["state"] == ["xyz"]
    store.store(connector.exchange_code(code=query["code"][0], redirect_uri=REDIRECT_URI))
    return connector


def customer(**fields: Any) -> dict[str, Any]:
    """A customer as the package tests write it by hand (``record`` gives Reflex's examples)."""
    return {
        "code": "D1001",
        "name": "Bakkerij De Vries B.V.",
        "short_name": "DEVRIES",
        "address_line1": "Dorpsstraat 1",
        "postcode": "1234 AB",
        "city": "Utrecht",
        "country": "NL",
        "email": "info@devries.nl",
        "vat_number": "NL000099998B57",
    } | fields


def supplier(**fields: Any) -> dict[str, Any]:
    return customer(code="C2001", name="Meelfabriek Noord B.V.", short_name="MEELNOORD") | fields


def invoice_line(**fields: Any) -> dict[str, Any]:
    return {
        "gl_account": "8000",
        "description": "Brood",
        "amount": "100.00",
        "vat_code": "1",
        "cost_centre": "100",
    } | fields


def sales_invoice(**fields: Any) -> dict[str, Any]:
    """A sales invoice to D1001 in March 2024; the package's tests add its journal."""
    return {
        "invoice_number": "VF2024-000001",
        "relation_code": "D1001",
        "invoice_date": "2024-03-15",
        "due_date": "2024-04-14",
        "fiscal_year": 2024,
        "period": 3,
        "description": "Factuur 1",
        "lines": [invoice_line(), invoice_line(gl_account="8100", vat_code="2")],
    } | fields


def purchase_invoice(**fields: Any) -> dict[str, Any]:
    return sales_invoice(invoice_number="IF2024-000001", relation_code="C2001") | fields


def journal_entry(**fields: Any) -> dict[str, Any]:
    """A journal entry of March 2024; the package's tests add its journal and lines."""
    return {
        "entry_number": "MEM2024-000001",
        "entry_date": "2024-03-31",
        "fiscal_year": 2024,
        "period": 3,
        "description": "Verdeling kosten",
    } | fields


def record(kind: str, n: int, package: str, **fields: Any) -> dict[str, Any]:
    """``example_record`` as the engine hands it to the connector: validated, normalised."""
    valid, errors = validate_record(kind, example_record(kind, n, package=package) | fields)
    assert valid is not None, errors
    return valid


def subject(kind: str, package: str, **fields: Any) -> dict[str, Any]:
    """A record not in the package yet, whose relation is (see :func:`connect`)."""
    # Relation 0 is booked by ``connect`` (the invoices name it); relation 1 is new.
    return record(kind, 1 if kind in RELATIONS else 0, package, **fields)


def connect(
    sims: dict[str, Any], package: str, connector_class: type[Connector] | None = None
) -> Connector:
    """A connected connector to a reset simulator that holds customer and supplier 0."""
    sim, spec = sims[package], PACKAGES[package]
    sim.reset()
    connector = connected(connector_class or spec.connector, sim.base_url, spec.settings)
    for kind in ("customer", "supplier"):
        connector.book(kind, record(kind, 0, package), idempotency_key="relation")
    return connector


def bookings(sim: Any, package: str, kind: str, key: str | None = None) -> list[dict[str, Any]]:
    """The creates (not updates) of ``kind`` in the ledger; of one natural key if given."""
    entity, key_of = PACKAGES[package].ledger[kind]
    return [
        b
        for b in sim.ledger()
        if b["entity"] == entity
        and not b.get("update")
        and (key is None or key_of(b["body"]) == key)
    ]


def natural_key(kind: str, data: dict[str, Any]) -> str:
    field = {"journal_entry": "entry_number"}.get(kind, "code" if kind in RELATIONS else "")
    return str(data[field or "invoice_number"])


def ledger_keys(sim: Any, entity: str) -> list[str]:
    return [b["key"] for b in sim.ledger() if b["entity"] == entity and not b.get("update")]
