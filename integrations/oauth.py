"""The portal's side of the OAuth2 authorization-code flow: state and redirect URI.

The state is signed and carries a nonce kept in the user's session, so an answer is
accepted only by the session and for the integration that asked for it, and only for
a few minutes.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.contrib.sessions.backends.base import SessionBase
from django.core import signing
from django.urls import reverse

from integrations.models import Integration

STATE_SALT = "integrations.oauth.state"
# Long enough to log in at the package, short enough that a leaked link goes stale.
STATE_MAX_AGE = 15 * 60


def _session_key(integration: Integration) -> str:
    return f"oauth_state:{integration.pk}"


def oauth_redirect_uri(*, integration: Integration) -> str:
    """The callback URL the package sends the user back to (register it at the package).

    Built from PORTAL_BASE_URL, not from the request's Host header, so it is the same
    when asking for the code and when trading it in.
    """
    path = reverse(
        "integration_oauth_callback",
        kwargs={"company_slug": integration.company.slug, "integration_id": integration.pk},
    )
    return settings.PORTAL_BASE_URL.rstrip("/") + path


def oauth_state_issue(*, session: SessionBase, integration: Integration) -> str:
    nonce = secrets.token_urlsafe(16)
    session[_session_key(integration)] = nonce
    return signing.dumps({"integration": integration.pk, "nonce": nonce}, salt=STATE_SALT)


def oauth_state_verify(*, session: SessionBase, integration: Integration, state: str) -> bool:
    """True once for the state this session was given for this integration."""
    expected = session.pop(_session_key(integration), None)
    try:
        answer = signing.loads(state, salt=STATE_SALT, max_age=STATE_MAX_AGE)
    except signing.BadSignature:
        return False
    return (
        expected is not None
        and answer.get("integration") == integration.pk
        and secrets.compare_digest(str(answer.get("nonce", "")), expected)
    )
