"""Simulator name → app factory and the path its API lives under."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from starlette.applications import Starlette

# name -> (module with create_app, path prefix of the API's base URL, default port)
SIMULATORS = {
    "multivers": ("integrations.simulators.multivers.app", "/V22", 8101),
    "exact": ("integrations.simulators.exact.app", "", 8102),
}


def create_app(name: str, **knobs: Any) -> Starlette:
    if name not in SIMULATORS:
        raise ValueError(f"unknown simulator {name!r}; known: {', '.join(SIMULATORS)}")
    return import_module(SIMULATORS[name][0]).create_app(**knobs)


def http_implementation() -> str:
    """httptools when installed (faster), else h11."""
    try:
        import_module("httptools")
    except ImportError:
        return "h11"
    return "httptools"
