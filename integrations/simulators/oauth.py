"""OAuth2 authorization-code flow with expiring access tokens and rotating refresh tokens.

The authorize page grants at once (there is no user to ask). Every refresh hands out a
new refresh token and the old one is refused from then on, as Exact Online does, so a
connector that refreshes from two workers at once finds out here and not in production.
"""

from __future__ import annotations

import base64
import binascii
import secrets
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

if TYPE_CHECKING:
    from starlette.requests import Request

DEMO_CLIENT_ID = "cloud-portal-demo"
DEMO_CLIENT_SECRET = "demo-secret"  # noqa: S105 - the simulators' published demo client
CODE_TTL = 600
_LOCAL_HOSTS = {"localhost", "127.0.0.1"}


class TokenStore:
    """Clients, one-use codes, access tokens with expiry and refresh tokens with rotation."""

    def __init__(self) -> None:
        self.ttl = 3600
        self.clients = {DEMO_CLIENT_ID: DEMO_CLIENT_SECRET}
        self.clear()

    def clear(self) -> None:
        self._codes: dict[str, tuple[str, str, float]] = {}
        self._access: dict[str, float] = {}
        self._refresh: dict[str, str] = {}
        self._used_refresh: set[str] = set()

    def client_ok(self, client_id: str, secret: str) -> bool:
        known = self.clients.get(client_id)
        return known is not None and secrets.compare_digest(known, secret)

    def issue_code(self, client_id: str, redirect_uri: str) -> str:
        code = secrets.token_urlsafe(24)
        self._codes[code] = (client_id, redirect_uri, time.time() + CODE_TTL)
        return code

    def redeem_code(self, code: str, client_id: str, redirect_uri: str) -> bool:
        """Use a code once; True when it was issued to this client for this redirect URI."""
        found = self._codes.pop(code, None)
        if found is None:
            return False
        owner, uri, expires_at = found
        return (
            owner == client_id
            and (not redirect_uri or uri == redirect_uri)
            and expires_at > time.time()
        )

    def issue(self, client_id: str) -> dict[str, Any]:
        access, refresh = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        self._access[access] = time.time() + self.ttl
        self._refresh[refresh] = client_id
        return {
            "access_token": access,
            "token_type": "bearer",
            "expires_in": self.ttl,
            "refresh_token": refresh,
        }

    def rotate(self, refresh: str, client_id: str) -> tuple[dict[str, Any] | None, str]:
        """Trade a refresh token for new tokens; on refusal answer (None, the reason)."""
        if refresh in self._used_refresh:
            return None, "used"
        if self._refresh.get(refresh) != client_id:
            return None, "unknown"
        del self._refresh[refresh]
        self._used_refresh.add(refresh)
        return self.issue(client_id), ""

    def valid(self, access: str) -> bool:
        expires_at = self._access.get(access)
        return expires_at is not None and expires_at > time.time()

    def revoke_all(self) -> None:
        """Every token handed out so far stops working ("credentials refused")."""
        self._access.clear()
        self._refresh.clear()
        self._used_refresh.clear()
        self._codes.clear()


@dataclass(frozen=True)
class OAuthWording:
    authorize_path: str
    token_path: str
    old_refresh_token: str


def _redirect_ok(uri: str) -> bool:
    parts = urlsplit(uri)
    return parts.scheme in ("http", "https") and parts.hostname in _LOCAL_HOSTS


def _with_query(uri: str, params: dict[str, str]) -> str:
    parts = urlsplit(uri)
    query = [*parse_qsl(parts.query), *((k, v) for k, v in params.items() if v)]
    return parts._replace(query=urlencode(query)).geturl()


def _grant_error(error: str, description: str, status: int = 400) -> Response:
    return JSONResponse({"error": error, "error_description": description}, status_code=status)


def _client_credentials(request: Request, form: dict[str, str]) -> tuple[str, str]:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("basic "):
        try:
            client_id, _, secret = base64.b64decode(header[6:]).decode().partition(":")
        except (ValueError, binascii.Error):
            return "", ""
        return client_id, secret
    return form.get("client_id", ""), form.get("client_secret", "")


def oauth_routes(wording: OAuthWording) -> list[Route]:
    """The authorize page and the token endpoint at the package's own paths."""

    async def authorize(request: Request) -> Response:
        store: TokenStore = request.app.state.sim.tokens
        query = request.query_params
        redirect_uri = query.get("redirect_uri", "")
        if not _redirect_ok(redirect_uri):
            return HTMLResponse("<h1>Bad request</h1><p>Invalid redirect_uri.</p>", status_code=400)
        state = query.get("state", "")
        client_id = query.get("client_id", "")
        if client_id not in store.clients:
            return RedirectResponse(
                _with_query(redirect_uri, {"error": "unauthorized_client", "state": state}), 302
            )
        if query.get("response_type") != "code":
            return RedirectResponse(
                _with_query(redirect_uri, {"error": "unsupported_response_type", "state": state}),
                302,
            )
        code = store.issue_code(client_id, redirect_uri)
        return RedirectResponse(_with_query(redirect_uri, {"code": code, "state": state}), 302)

    async def token(request: Request) -> Response:
        store: TokenStore = request.app.state.sim.tokens
        form = dict(parse_qsl((await request.body()).decode("utf-8", "replace")))
        client_id, secret = _client_credentials(request, form)
        if not store.client_ok(client_id, secret):
            return _grant_error("invalid_client", "Client authentication failed.")
        grant = form.get("grant_type", "")
        if grant == "authorization_code":
            if not store.redeem_code(form.get("code", ""), client_id, form.get("redirect_uri", "")):
                return _grant_error(
                    "invalid_grant", "Invalid, expired or already used authorization code."
                )
            return JSONResponse(store.issue(client_id))
        if grant == "refresh_token":
            tokens, reason = store.rotate(form.get("refresh_token", ""), client_id)
            if tokens is None:
                text = wording.old_refresh_token if reason == "used" else "Invalid refresh token."
                return _grant_error("invalid_grant", text)
            return JSONResponse(tokens)
        return _grant_error("unsupported_grant_type", f"Grant type {grant!r} is not supported.")

    return [
        Route(wording.authorize_path, authorize, methods=["GET"]),
        Route(wording.token_path, token, methods=["POST"]),
    ]
