"""Helpers the connector tests share: connecting over the simulator's OAuth flow, records."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from integrations.connectors.base import Connector
from integrations.connectors.memory_store import MemoryCredentialStore
from integrations.http import build_client

DEMO_CLIENT = {"client_id": "cloud-portal-demo", "client_secret": "demo-secret"}
REDIRECT_URI = "http://localhost:8000/integrations/callback"


@contextlib.contextmanager
def simulator(name: str, **knobs: Any) -> Iterator[Any]:
    from integrations.simulators.testing import run_simulator

    with run_simulator(name, **knobs) as sim:
        yield sim


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


def ledger_keys(sim: Any, entity: str) -> list[str]:
    return [b["key"] for b in sim.ledger() if b["entity"] == entity and not b.get("update")]
