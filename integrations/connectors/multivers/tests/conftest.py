"""The multivers simulator, started once per module and reset for each test."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from integrations.simulators.testing import run_simulator

if TYPE_CHECKING:
    from collections.abc import Iterator

    from integrations.simulators.testing import RunningSimulator


@pytest.fixture(scope="module")
def multivers_server() -> Iterator[RunningSimulator]:
    with run_simulator("multivers") as sim:
        yield sim


@pytest.fixture
def multivers(multivers_server: RunningSimulator) -> RunningSimulator:
    multivers_server.reset()
    return multivers_server
