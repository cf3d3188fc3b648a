"""Exact Online's error limit: error answers counted per endpoint, and the blocks they cause.

Exact (API limits of 1 July 2021): "No more than 10 errors per API key, per user, per
company, per endpoint, and per hour. When you exceed this limit, your API key will be
temporarily blocked from making further requests. The block will automatically be lifted
after one hour [...]. Response code 400, 401, 403, and 404 are counted as errors." Each
simulator serves one API key and one user, so the simulator counts per endpoint, the
company being part of the endpoint's name (``123456/salesentry/SalesEntries``).

Not modelled: the block "gradually increases when you continue making these errors".
"""

from __future__ import annotations

from collections import Counter
from typing import Any

COUNTED_STATUSES = frozenset({400, 401, 403, 404})


class ErrorLedger:
    """Counted error answers per endpoint in a sliding window, and the blocks so far."""

    def __init__(self) -> None:
        self.clear()

    def clear(self) -> None:
        self.errors: dict[str, list[tuple[float, int]]] = {}
        self.blocked_until: dict[str, float] = {}
        self.blocks: list[dict[str, Any]] = []

    def blocked(self, endpoint: str, now: float) -> float | None:
        """Epoch seconds when the block on ``endpoint`` ends, or None when it is open."""
        until = self.blocked_until.get(endpoint)
        return until if until is not None and until > now else None

    def record(
        self, endpoint: str, status: int, now: float, *, limit: int | None, window: float
    ) -> None:
        """Count one answer; past ``limit`` errors in ``window`` the endpoint is blocked."""
        if status not in COUNTED_STATUSES:
            return
        recent = [(at, code) for at, code in self.errors.get(endpoint, []) if at > now - window]
        recent.append((now, status))
        self.errors[endpoint] = recent
        if limit is not None and len(recent) > limit and self.blocked(endpoint, now) is None:
            self.blocked_until[endpoint] = now + window
            self.blocks.append(
                {"endpoint": endpoint, "at": now, "until": now + window, "errors": len(recent)}
            )

    def snapshot(self, now: float, window: float) -> dict[str, Any]:
        endpoints = {}
        for endpoint, answers in self.errors.items():
            recent = [code for at, code in answers if at > now - window]
            endpoints[endpoint] = {
                "errors_in_window": len(recent),
                "by_status": {str(code): n for code, n in sorted(Counter(recent).items())},
                "blocked_until": self.blocked(endpoint, now),
            }
        return {"endpoints": endpoints, "blocks": list(self.blocks)}
