from __future__ import annotations

import textwrap

import pytest

from integrations.connectors.base import Connector
from integrations.connectors.registry import (
    UnknownConnector,
    connector_choices,
    forget_discovered,
    get_connector_class,
)


@pytest.fixture
def fresh_registry():
    forget_discovered()
    yield
    forget_discovered()


MONEYBIRD = """
    from integrations.connectors.base import Connector

    class MoneybirdConnector(Connector):
        key = "moneybird"
        label = "Moneybird"
"""


def _install(tmp_path, monkeypatch, *, name: str, key: str) -> None:
    """A distribution as pip would leave it, offering MONEYBIRD's class under ``key``.

    A module and a *.dist-info with the entry point; the registry forgets what it found.
    """
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(MONEYBIRD))
    info = tmp_path / f"{name}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        f"[cloud_portal.connectors]\n{key} = {name}:MoneybirdConnector\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    forget_discovered()


def test_it_finds_the_built_in_connectors():
    from integrations.connectors.exact.connector import ExactConnector
    from integrations.connectors.multivers.connector import MultiversConnector

    assert get_connector_class("multivers") is MultiversConnector
    assert get_connector_class("exact") is ExactConnector
    assert ("multivers", "Multivers Online") in connector_choices()
    assert ("exact", "Exact Online") in connector_choices()


def test_every_registered_connector_is_keyed_and_labelled_by_its_class():
    for key, label in connector_choices():
        assert get_connector_class(key).key == key
        assert label == get_connector_class(key).label


def test_it_refuses_an_unknown_key():
    with pytest.raises(UnknownConnector, match="no-such-package"):
        get_connector_class("no-such-package")


def test_it_finds_a_connector_of_another_installed_package(tmp_path, monkeypatch, fresh_registry):
    _install(tmp_path, monkeypatch, name="cloud_portal_moneybird", key="moneybird")

    connector_class = get_connector_class("moneybird")

    assert issubclass(connector_class, Connector)
    assert connector_class.label == "Moneybird"
    assert ("moneybird", "Moneybird") in connector_choices()


def test_another_package_cannot_take_a_built_in_key(tmp_path, monkeypatch, fresh_registry):
    _install(tmp_path, monkeypatch, name="cloud_portal_impostor", key="exact")

    assert get_connector_class("exact").label == "Exact Online"


@pytest.mark.django_db
@pytest.mark.parametrize("key", [key for key, _ in connector_choices()])
def test_every_package_is_built_for_an_integration_with_the_integrations_shared_cache(
    integration, key
):
    """connector_for hands every connector its integration's cache: one that takes
    keywords of its own must still pass the constructor's others on."""
    from integrations.credentials import IntegrationCache, connector_for

    integration.connector = key
    integration.settings = dict(get_connector_class(key).demo_settings[0])
    integration.save()
    first, second = connector_for(integration), connector_for(integration)
    try:
        first.cache.set("seen", "yes")
        assert isinstance(first.cache, IntegrationCache)
        assert second.cache.get("seen") == "yes"
    finally:
        first.client.close()
        second.client.close()
