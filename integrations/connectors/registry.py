"""Which accounting packages the portal can talk to.

Built-in connectors are listed here with their label, so the Integration model's
choices come from this dict without importing a connector. Other packages add one
through the entry-point group ``cloud_portal.connectors``::

    [project.entry-points."cloud_portal.connectors"]
    moneybird = "cloud_portal_moneybird.connector:MoneybirdConnector"

A connector class is imported only when it is asked for.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import import_module
from importlib.metadata import entry_points
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from integrations.connectors.base import Connector

ENTRY_POINT_GROUP = "cloud_portal.connectors"


@dataclass(frozen=True)
class ConnectorEntry:
    label: str
    path: str  # "package.module:ClassName"


BUILT_IN: dict[str, ConnectorEntry] = {
    "multivers": ConnectorEntry(
        "Multivers Online", "integrations.connectors.multivers.connector:MultiversConnector"
    ),
    "exact": ConnectorEntry(
        "Exact Online", "integrations.connectors.exact.connector:ExactConnector"
    ),
}


class UnknownConnector(LookupError):
    def __init__(self, key: str) -> None:
        super().__init__(f"No connector is registered under {key!r}.")
        self.key = key


@cache
def _discovered() -> dict[str, ConnectorEntry]:
    """Connectors other distributions declare. Built-ins keep their key."""
    found: dict[str, ConnectorEntry] = {}
    for point in entry_points(group=ENTRY_POINT_GROUP):
        if point.name in BUILT_IN:
            continue
        # The label is the class's own; until the class is imported, show the key.
        found[point.name] = ConnectorEntry(point.name.replace("_", " ").title(), point.value)
    return found


def connectors() -> dict[str, ConnectorEntry]:
    return {**BUILT_IN, **_discovered()}


def connector_choices() -> list[tuple[str, str]]:
    """[(key, label)] for a form or a model field's choices; imports no connector."""
    return [(key, entry.label) for key, entry in connectors().items()]


@cache
def get_connector_class(key: str) -> type[Connector]:
    entry = connectors().get(key)
    if entry is None:
        raise UnknownConnector(key)
    module_name, _, attribute = entry.path.partition(":")
    connector_class: type[Connector] = getattr(import_module(module_name), attribute)
    return connector_class


def forget_discovered() -> None:
    """Read the entry points again (after installing a package, and in tests)."""
    _discovered.cache_clear()
    get_connector_class.cache_clear()
