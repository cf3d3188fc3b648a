"""Writes on an integration: its settings, and connecting it to its package."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils import timezone

from integrations.connectors.base import TokenSet
from integrations.models import Integration

TOKEN_KEYS = ("access_token", "refresh_token", "expires_at")
# A package's refusal is shown to people: keep it to a readable length.
MAX_CONNECTION_ERROR = 500


def integration_update(
    *,
    integration: Integration,
    base_url: str,
    settings: Mapping[str, Any],
    credentials: Mapping[str, Any],
    enabled: bool,
) -> bool:
    """Store new settings; ``credentials`` holds only the values that change.

    Validates through ``Integration.full_clean`` (the base URL must be one of the
    package's known hosts). Tokens belong to one client at one address: when either
    changes they are forgotten and the integration must be connected again. Returns
    whether that happened.
    """
    merged = {**integration.credentials, **credentials}
    reconnect = integration.is_connected and (
        base_url != integration.base_url
        or merged.get("client_id") != integration.credentials.get("client_id")
    )
    if reconnect:
        merged = {key: value for key, value in merged.items() if key not in TOKEN_KEYS}
        integration.connected_at = None
        integration.token_refreshed_at = None
    integration.base_url = base_url
    integration.settings = dict(settings)
    integration.credentials = merged
    integration.enabled = enabled
    integration.full_clean()
    integration.save()
    return reconnect


def integration_connect(*, integration: Integration, tokens: TokenSet) -> None:
    """Keep the tokens the package handed out (encrypted by the credentials field)."""
    now = timezone.now()
    integration.credentials = {**integration.credentials, **tokens.as_dict()}
    integration.connected_at = now
    integration.token_refreshed_at = now
    integration.connection_error = ""
    integration.save(
        update_fields=["credentials", "connected_at", "token_refreshed_at", "connection_error"]
    )


def integration_connection_failed(*, integration: Integration, reason: str) -> None:
    integration.connection_error = reason[:MAX_CONNECTION_ERROR]
    integration.save(update_fields=["connection_error"])


def integration_disconnect(*, integration: Integration) -> None:
    """Forget the tokens; the client id and secret stay for the next Connect."""
    integration.credentials = {
        key: value for key, value in integration.credentials.items() if key not in TOKEN_KEYS
    }
    integration.connected_at = None
    integration.token_refreshed_at = None
    integration.connection_error = ""
    integration.save(
        update_fields=["credentials", "connected_at", "token_refreshed_at", "connection_error"]
    )
