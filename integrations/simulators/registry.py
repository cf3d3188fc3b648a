"""The packages' simulators, found through the connector registry.

A connector declares its simulator (``Connector.simulator``, a ``SimulatorSpec``); this
module turns a package key into the app, its API prefix and its default port.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from integrations.connectors.registry import connector_keys, get_connector_class

if TYPE_CHECKING:
    from pathlib import Path

    from starlette.applications import Starlette

    from integrations.connectors.base import SimulatorSpec


def simulator_names() -> list[str]:
    """Keys of the packages that have a simulator, in registry order."""
    return [key for key in connector_keys() if get_connector_class(key).simulator is not None]


def spec_of(name: str) -> SimulatorSpec:
    spec = get_connector_class(name).simulator if name in connector_keys() else None
    if spec is None:
        known = ", ".join(simulator_names())
        raise ValueError(f"unknown simulator {name!r}; known: {known}")
    return spec


def create_app(name: str, *, state_dir: Path | None = None, **knobs: Any) -> Starlette:
    """Simulator ``name``; with ``state_dir`` it keeps its state in ``state_dir/<name>.state``."""
    module_name, _, function = spec_of(name).app.partition(":")
    state_path = None
    if state_dir is not None:
        state_dir.mkdir(parents=True, exist_ok=True)
        state_path = state_dir / f"{name}.state"
    app: Starlette = getattr(import_module(module_name), function)(state_path=state_path, **knobs)
    return app


def simulator_url(name: str) -> str:
    """The API base of the running demo simulator of ``name``.

    ``SIMULATOR_URLS`` names it outright (docker-compose: another host); otherwise it is
    on ``SIMULATOR_HOST`` at the spec's default port and prefix.
    """
    from django.conf import settings

    spec = spec_of(name)
    configured: str | None = settings.SIMULATOR_URLS.get(name)
    return configured or f"http://{settings.SIMULATOR_HOST}:{spec.port}{spec.prefix}"


def http_implementation() -> str:
    """httptools when installed (faster), else h11."""
    try:
        import_module("httptools")
    except ImportError:
        return "h11"
    return "httptools"
