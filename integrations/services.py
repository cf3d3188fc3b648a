"""Writes on an integration: its settings, and connecting it to its package."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from django.utils import timezone

from audit.models import Action
from audit.services import audit_record
from integrations.connectors.base import TokenSet
from integrations.models import Integration

TOKEN_KEYS = ("access_token", "refresh_token", "expires_at")
# A package's refusal is shown to people: keep it to a readable length.
MAX_CONNECTION_ERROR = 500

if TYPE_CHECKING:
    from django.contrib.auth.models import User


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


def integration_connect(
    *, integration: Integration, tokens: TokenSet, actor: User | None = None
) -> None:
    """Keep the tokens the package handed out (encrypted by the credentials field)."""
    now = timezone.now()
    integration.credentials = {**integration.credentials, **tokens.as_dict()}
    integration.connected_at = now
    integration.token_refreshed_at = now
    integration.connection_error = ""
    integration.save(
        update_fields=["credentials", "connected_at", "token_refreshed_at", "connection_error"]
    )
    _audit(Action.INTEGRATION_CONNECTED, integration, actor)


def integration_connection_failed(*, integration: Integration, reason: str) -> None:
    integration.connection_error = reason[:MAX_CONNECTION_ERROR]
    integration.save(update_fields=["connection_error"])


def integration_disconnect(*, integration: Integration, actor: User | None = None) -> None:
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
    _audit(Action.INTEGRATION_DISCONNECTED, integration, actor)


def intake_token_issue(*, integration: Integration, actor: User | None = None) -> str:
    """A new bearer token for Reflex 3000 (the old one stops); returned once, stored hashed."""
    token = integration.issue_intake_token()
    _audit(Action.INTAKE_TOKEN_ISSUED, integration, actor, prefix=integration.intake_token_prefix)
    return token


def intake_token_revoke(*, integration: Integration, actor: User | None = None) -> None:
    integration.revoke_intake_token()
    _audit(Action.INTAKE_TOKEN_REVOKED, integration, actor)


def _audit(action: Action, integration: Integration, actor: User | None, **details: str) -> None:
    audit_record(
        action=action,
        actor=actor,
        company=integration.company,
        target=f"{integration.name} ({integration.connector_label})",
        details={"integration": integration.pk, **details},
    )
