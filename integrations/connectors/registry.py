"""Which accounting packages the portal can talk to.

Every connector, the built-in ones too, is declared through the entry-point group
``cloud_portal.connectors`` (pyproject.toml)::

    [project.entry-points."cloud_portal.connectors"]
    moneybird = "cloud_portal_moneybird.connector:MoneybirdConnector"

Everything else of a package (label, forms, simulator, example data, demo faults) is
declared on its connector class, so the registry is the one place the portal asks.
"""

from __future__ import annotations

from functools import cache
from importlib import import_module
from importlib.metadata import entry_points
from importlib.util import find_spec
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from integrations.connectors.base import Connector

ENTRY_POINT_GROUP = "cloud_portal.connectors"
OWN_DISTRIBUTION = "cloud-portal"


class UnknownConnector(LookupError):
    def __init__(self, key: str) -> None:
        super().__init__(f"No connector is registered under {key!r}.")
        self.key = key


@cache
def connectors() -> dict[str, str]:
    """key -> "package.module:ClassName", by key. The portal's own packages keep their key:
    another distribution cannot take it over."""
    points = sorted(
        entry_points(group=ENTRY_POINT_GROUP),
        key=lambda point: point.dist is None or point.dist.name != OWN_DISTRIBUTION,
    )
    found: dict[str, str] = {}
    for point in points:
        found.setdefault(point.name, point.value)
    return dict(sorted(found.items()))


def connector_keys() -> list[str]:
    return list(connectors())


def connector_choices() -> list[tuple[str, str]]:
    """[(key, label)] for a form or a model field's choices."""
    return [(key, str(get_connector_class(key).label)) for key in connectors()]


@cache
def get_connector_class(key: str) -> type[Connector]:
    path = connectors().get(key)
    if path is None:
        raise UnknownConnector(key)
    module_name, _, attribute = path.partition(":")
    connector_class: type[Connector] = getattr(import_module(module_name), attribute)
    return connector_class


def connector_classes() -> list[type[Connector]]:
    return [get_connector_class(key) for key in connectors()]


def package_folders() -> list[Path]:
    """Each connector's own folder (``integrations/connectors/<key>/``), found without
    importing the connector, so settings can read them (its ``locale/``)."""
    folders = []
    for path in connectors().values():
        package = path.partition(":")[0].rpartition(".")[0]
        spec = find_spec(package)
        if spec is not None and spec.submodule_search_locations:
            folders.append(Path(next(iter(spec.submodule_search_locations))))
    return folders


def forget_discovered() -> None:
    """Read the entry points again (after installing a package, and in tests)."""
    connectors.cache_clear()
    get_connector_class.cache_clear()
