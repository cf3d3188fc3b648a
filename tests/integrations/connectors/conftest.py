"""Fixtures of the connector tests: the simulators, and a connector for the module's package.

A module about one package names it in ``PACKAGE`` (and may write its own ``customer()``
and ``supplier()``); a module about every package overrides ``package`` with a parameter.
"""

from __future__ import annotations

import pytest

from . import support
from .support import PACKAGES, connected, simulators


@pytest.fixture(scope="module")
def sims():
    """A running simulator of every package, by the package's key."""
    with simulators() as running:
        yield running


@pytest.fixture(scope="module")
def package(request):
    return request.module.PACKAGE


@pytest.fixture
def sim(sims, package):
    return sims[package]


@pytest.fixture
def connector(sim, package):
    """Connected over OAuth to a reset simulator; nothing booked yet."""
    sim.reset()
    spec = PACKAGES[package]
    return connected(spec.connector, sim.base_url, spec.settings)


@pytest.fixture
def relations(request, connector):
    """``connector`` once customer D1001 and supplier C2001 are booked, as the module writes them."""
    for kind in ("customer", "supplier"):
        record = getattr(request.module, kind, getattr(support, kind))
        connector.book(kind, record(), idempotency_key=kind)
    return connector
