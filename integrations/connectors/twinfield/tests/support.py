"""What the Twinfield tests share: the simulator on a port, a connected connector, records.

Over real HTTP, no mocks in between: the simulator runs in a uvicorn thread and the
connector goes through its OAuth flow as a consultant would.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import uvicorn

from integrations.canonical import example_record, validate_record
from integrations.connectors.base import TokenSet
from integrations.connectors.twinfield.connector import TwinfieldConnector
from integrations.connectors.twinfield.examples import EXAMPLE_JOURNALS
from integrations.connectors.twinfield.simulator.app import create_app
from integrations.connectors.twinfield.simulator.testing import LEDGER
from integrations.http import build_client
from integrations.simulators.oauth import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET

OFFICE = "NLA000001"
SETTINGS = {"office": OFFICE}
REDIRECT_URI = "http://localhost:8000/integrations/callback"
RELATIONS = frozenset({"customer", "supplier"})
KINDS = ("customer", "supplier", "sales_invoice", "purchase_invoice", "journal_entry")


class Store:
    """An in-memory credential store keeping ``CredentialStore.rotate``'s promise."""

    def __init__(self, **credentials: Any) -> None:
        self.credentials = dict(credentials)
        self.lock = threading.Lock()
        self.rotations = 0

    def load(self) -> dict[str, Any]:
        with self.lock:
            return dict(self.credentials)

    def rotate(
        self, stale_access_token: str, refresh: Callable[[dict[str, Any]], TokenSet]
    ) -> dict[str, Any]:
        with self.lock:
            if (self.credentials.get("access_token") or "") == stale_access_token:
                self.credentials.update(refresh(dict(self.credentials)).as_dict())
                self.rotations += 1
            return dict(self.credentials)


class Running:
    """A started simulator and its control API."""

    def __init__(self, root_url: str) -> None:
        self.base_url = root_url
        self.control = httpx.Client(base_url=root_url, timeout=10.0)

    def ledger(self) -> list[dict[str, Any]]:
        return self.control.get("/_sim/ledger").raise_for_status().json()["bookings"]

    def refused_duplicates(self) -> list[dict[str, Any]]:
        return self.control.get("/_sim/ledger").raise_for_status().json()["refused_duplicates"]

    def stats(self) -> dict[str, Any]:
        return self.control.get("/_sim/stats").raise_for_status().json()

    def reset(self) -> None:
        self.control.post("/_sim/reset").raise_for_status()

    def set_faults(self, **knobs: Any) -> None:
        self.control.post("/_sim/faults", json=knobs).raise_for_status()


@contextlib.contextmanager
def simulator(state_path: Path | None = None, port: int = 0, **knobs: Any) -> Iterator[Running]:
    app = create_app(state_path=state_path, **knobs)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the Twinfield simulator did not start")
        time.sleep(0.01)
    running = Running(f"http://127.0.0.1:{sock.getsockname()[1]}")
    try:
        yield running
    finally:
        running.control.close()
        server.should_exit = True
        thread.join(10)
        sock.close()


def connected(base_url: str, settings: dict[str, Any] | None = None) -> TwinfieldConnector:
    """Through the authorization-code flow at the login service, as a consultant would."""
    store = Store(client_id=DEMO_CLIENT_ID, client_secret=DEMO_CLIENT_SECRET)
    connector = TwinfieldConnector(
        base_url=base_url,
        settings=settings or SETTINGS,
        credentials=store,
        client=build_client(base_url=base_url),
    )
    answer = httpx.get(connector.authorize_url(redirect_uri=REDIRECT_URI, state="xyz"))
    assert answer.status_code == 302, answer.text
    code = parse_qs(urlsplit(answer.headers["location"]).query)["code"][0]
    tokens = connector.exchange_code(code=code, redirect_uri=REDIRECT_URI)
    store.credentials.update(tokens.as_dict())
    return connector


def record(kind: str, n: int, **fields: Any) -> dict[str, Any]:
    """Example ``n`` as the engine hands it to the connector: on Twinfield's journals,
    validated and normalised."""
    data = example_record(kind, n) | fields
    if kind in EXAMPLE_JOURNALS and "journal" not in fields:
        data["journal"] = EXAMPLE_JOURNALS[kind]
    valid, errors = validate_record(kind, data)
    assert valid is not None, errors
    return valid


def subject(kind: str, **fields: Any) -> dict[str, Any]:
    """A record not booked yet whose relation is (relation 0 is booked by ``connect``)."""
    return record(kind, 1 if kind in RELATIONS else 0, **fields)


def connect(sim: Running) -> TwinfieldConnector:
    """Connected to a reset simulator that holds customer and supplier 0."""
    sim.reset()
    connector = connected(sim.base_url)
    for kind in ("customer", "supplier"):
        connector.book(kind, record(kind, 0), idempotency_key="relation")
    return connector


def natural_key(kind: str, data: dict[str, Any]) -> str:
    if kind in RELATIONS:
        return str(data["code"])
    return str(data["entry_number" if kind == "journal_entry" else "invoice_number"])


def bookings(sim: Running, kind: str, key: str | None = None) -> list[dict[str, Any]]:
    """The creates (not updates) of ``kind`` in the ledger; of one natural key if given."""
    entity, key_of = LEDGER[kind]
    return [
        b
        for b in sim.ledger()
        if b["entity"] == entity
        and not b.get("update")
        and (key is None or key_of(b["body"]) == key)
    ]
