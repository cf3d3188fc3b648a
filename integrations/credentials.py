"""The portal's CredentialStore, and the one place a connector is built for an integration."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.cache import cache
from django.db import close_old_connections, connection, transaction
from django.utils import timezone

from integrations.connectors.base import Connector, DeliveryError, Fault, RateLimit, TokenSet
from integrations.http import CallsHeld, Hold, build_client
from integrations.models import Integration

if TYPE_CHECKING:
    import httpx

    from integrations.http import Limiter


class IntegrationCache:
    """``Connector.cache`` for one integration: Django's cache, so every worker and every
    slice of a run shares it, under the integration's own keys, each entry kept an hour.

    An hour: long enough that a run's slices and the next runs of the day look nothing up
    again, short enough that a code given to another record in the package is picked up
    the same day even when no refusal told the connector so.
    """

    seconds = 3600

    def __init__(self, integration: Integration) -> None:
        # With its creation time: a database made anew (the demo, a test) numbers its
        # integrations from 1 again, and must not find the GUIDs of the one before.
        self.prefix = f"connector:{integration.pk}:{integration.created_at.timestamp():.6f}:"

    def get(self, key: str) -> Any:
        return cache.get(self.prefix + key)

    def set(self, key: str, value: Any) -> None:
        cache.set(self.prefix + key, value, self.seconds)

    def delete(self, key: str) -> None:
        cache.delete(self.prefix + key)


class IntegrationCredentialStore:
    """OAuth tokens kept encrypted on the Integration row.

    ``load`` answers from memory after the first read: the connector asks before every
    call, and a stale copy only costs one 401 and a ``rotate`` that finds the newer
    tokens. ``rotate`` runs under a row lock on the integration (on SQLite the
    IMMEDIATE transaction does the same), so of several workers noticing an expired
    token only the first calls the package; Exact Online would refuse the second use
    of a refresh token and log the integration out.
    """

    def __init__(self, integration_id: int, *, min_interval: float = 0.0) -> None:
        self.integration_id = integration_id
        # The package allows a new access token at most this often (Exact: 570 s).
        self.min_interval = min_interval
        self._lock = threading.Lock()
        self._current: dict[str, Any] | None = None
        # The connector runs on a thread pool; threads other than the one that made the
        # store open their own database connection and must close it after use.
        self._owner = threading.get_ident()

    def load(self) -> dict[str, Any]:
        with self._lock:
            if self._current is None:
                with self._db():
                    self._current = Integration.objects.get(pk=self.integration_id).credentials
            return dict(self._current)

    def rotate(
        self, stale_access_token: str, refresh: Callable[[dict[str, Any]], TokenSet]
    ) -> dict[str, Any]:
        with self._lock, self._db():
            try:
                current = self._rotate_locked(stale_access_token, refresh)
            except DeliveryError as err:
                if err.fault is Fault.RUN:
                    # Outside the rolled-back transaction, so the screens can show it.
                    Integration.objects.filter(pk=self.integration_id).update(
                        connection_error=err.message
                    )
                raise
            self._current = current
            return dict(current)

    def _rotate_locked(
        self, stale_access_token: str, refresh: Callable[[dict[str, Any]], TokenSet]
    ) -> dict[str, Any]:
        with transaction.atomic():
            row = Integration.objects.select_for_update().get(pk=self.integration_id)
            current = dict(row.credentials)
            if (current.get("access_token") or "") != stale_access_token:
                return current  # another worker renewed them meanwhile
            too_soon = self._too_soon(row)
            if too_soon:
                if float(current.get("expires_at") or 0) > time.time():
                    # Still valid by its own account: use it (a 401 on it then stops
                    # the run as a refused login, not a loop of token calls).
                    return current
                raise CallsHeld(too_soon, Hold.RENEWAL)
            # The package is called inside the transaction on purpose: the lock must be
            # held until the new refresh token is stored.
            tokens = refresh(dict(current))
            current.update(tokens.as_dict())
            row.credentials = current
            row.token_refreshed_at = timezone.now()
            row.connection_error = ""
            row.save(update_fields=["credentials", "token_refreshed_at", "connection_error"])
            return current

    def _too_soon(self, row: Integration) -> float:
        """Seconds until the package allows a new token; 0 when it does now."""
        if not self.min_interval or row.token_refreshed_at is None:
            return 0.0
        age = (timezone.now() - row.token_refreshed_at).total_seconds()
        return max(self.min_interval - age, 0.0)

    def _db(self) -> _ThreadConnection:
        return _ThreadConnection(threading.get_ident() != self._owner)


class _ThreadConnection:
    """Close the database connection a pool thread opened, when it is done with it."""

    def __init__(self, foreign_thread: bool) -> None:
        self.foreign_thread = foreign_thread

    def __enter__(self) -> None:
        if self.foreign_thread:
            close_old_connections()

    def __exit__(self, *exc: object) -> None:
        if self.foreign_thread:
            connection.close()


@dataclass(frozen=True)
class PackageLimits:
    """The limits the engine keeps for a package: its connector's, unless
    ``settings.CONNECTOR_LIMITS`` shortens them (tests against a shortened simulator)."""

    rate_limit: RateLimit | None
    token_min_interval: float

    @classmethod
    def of(cls, connector_class: type[Connector]) -> PackageLimits:
        changed: dict[str, Any] = settings.CONNECTOR_LIMITS.get(connector_class.key, {})
        rate = changed.get("rate_limit")
        return cls(
            rate_limit=RateLimit(*rate) if rate else connector_class.rate_limit,
            token_min_interval=float(
                changed.get("token_min_interval", connector_class.token_min_interval)
            ),
        )


def connector_for(
    integration: Integration,
    *,
    limiter: Limiter | None = None,
    transport: httpx.BaseTransport | None = None,
    max_connections: int = 16,
) -> Connector:
    """The integration's connector with its HTTP client, credentials and shared limiter.

    Without ``limiter`` the integration's shared one is used (``integrations.limits``):
    every call to the package counts against the company's allowance, whoever makes it.
    Close ``connector.client`` when done.
    """
    from integrations.limits import guards_for, limiter_for

    connector_class = integration.connector_class
    if limiter is None:
        limiter = limiter_for(integration.pk, PackageLimits.of(connector_class).rate_limit)
    built: list[Connector] = []
    client = build_client(
        base_url=integration.base_url,
        limiter=limiter,
        rate_limit_state=lambda response: built[0].rate_limit_state(response),
        guards=guards_for(integration.pk, connector_class, lambda: built[0]),
        transport=transport,
        max_connections=max_connections,
    )
    connector = connector_class(
        base_url=integration.base_url,
        settings=integration.settings,
        credentials=IntegrationCredentialStore(
            integration.pk, min_interval=PackageLimits.of(connector_class).token_min_interval
        ),
        client=client,
        cache=IntegrationCache(integration),
    )
    built.append(connector)
    return connector
