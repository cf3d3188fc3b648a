"""Simulator name → app factory and the path its API lives under."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pathlib import Path

    from starlette.applications import Starlette

# name -> (module with create_app, path prefix of the API's base URL, default port)
SIMULATORS = {
    "multivers": ("integrations.simulators.multivers.app", "/V22", 8101),
    "exact": ("integrations.simulators.exact.app", "", 8102),
}


def create_app(name: str, *, state_dir: Path | None = None, **knobs: Any) -> Starlette:
    """Simulator ``name``; with ``state_dir`` it keeps its state in ``state_dir/<name>.state``."""
    if name not in SIMULATORS:
        raise ValueError(f"unknown simulator {name!r}; known: {', '.join(SIMULATORS)}")
    state_path = None
    if state_dir is not None:
        state_dir.mkdir(parents=True, exist_ok=True)
        state_path = state_dir / f"{name}.state"
    return import_module(SIMULATORS[name][0]).create_app(state_path=state_path, **knobs)


def http_implementation() -> str:
    """httptools when installed (faster), else h11."""
    try:
        import_module("httptools")
    except ImportError:
        return "h11"
    return "httptools"
