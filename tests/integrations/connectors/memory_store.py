"""A CredentialStore held in memory, for tests, benchmarks and the simulators' demo.

It keeps the promise of ``CredentialStore.rotate`` within one process: a lock makes
concurrent renewals wait, and the late-comers get the tokens the first one stored.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from integrations.connectors.base import TokenSet


class MemoryCredentialStore:
    def __init__(self, **credentials: Any) -> None:
        self._credentials = dict(credentials)
        self._lock = threading.Lock()
        self.rotations = 0

    def load(self) -> dict[str, Any]:
        with self._lock:
            return dict(self._credentials)

    def rotate(
        self, stale_access_token: str, refresh: Callable[[dict[str, Any]], TokenSet]
    ) -> dict[str, Any]:
        with self._lock:
            if (self._credentials.get("access_token") or "") != stale_access_token:
                return dict(self._credentials)
            tokens = refresh(dict(self._credentials))
            self._credentials.update(tokens.as_dict())
            self.rotations += 1
            return dict(self._credentials)

    def store(self, tokens: TokenSet) -> None:
        """Keep tokens obtained outside a rotation (e.g. after the authorization code)."""
        with self._lock:
            self._credentials.update(tokens.as_dict())
