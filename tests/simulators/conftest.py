from __future__ import annotations

from typing import TYPE_CHECKING

import httpx
import pytest

from integrations.simulators.testing import run_simulator

if TYPE_CHECKING:
    from collections.abc import Iterator

    from integrations.simulators.testing import RunningSimulator


@pytest.fixture(scope="module")
def multivers_server() -> Iterator[RunningSimulator]:
    with run_simulator("multivers") as sim:
        yield sim


@pytest.fixture(scope="module")
def exact_server() -> Iterator[RunningSimulator]:
    with run_simulator("exact") as sim:
        yield sim


@pytest.fixture
def multivers(multivers_server: RunningSimulator) -> RunningSimulator:
    multivers_server.reset()
    return multivers_server


@pytest.fixture
def exact(exact_server: RunningSimulator) -> RunningSimulator:
    exact_server.reset()
    return exact_server


def api_client(sim: RunningSimulator, **kwargs: object) -> httpx.Client:
    """A client logged in with the demo client, like a connector would be."""
    return httpx.Client(base_url=sim.base_url, headers=sim.auth_headers(), timeout=5.0, **kwargs)  # type: ignore[arg-type]
