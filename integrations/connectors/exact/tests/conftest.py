"""The exact simulator, started once per module and reset for each test."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from integrations.simulators.testing import run_simulator

if TYPE_CHECKING:
    from collections.abc import Iterator

    from integrations.simulators.testing import RunningSimulator


@pytest.fixture(scope="module")
def exact_server() -> Iterator[RunningSimulator]:
    with run_simulator("exact") as sim:
        yield sim


@pytest.fixture
def exact(exact_server: RunningSimulator) -> RunningSimulator:
    exact_server.reset()
    return exact_server
