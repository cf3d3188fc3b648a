"""OAuth2 authorization-code flow with expiring access tokens and rotating refresh tokens.

The authorize page grants at once (there is no user to ask). Every refresh hands out a
new refresh token and the old one is refused from then on, as Exact Online does, so a
connector that refreshes from two workers at once finds out here and not in production.

Exact's token cadence (knobs ``token_min_interval``, ``token_calls_per_day``) is counted
per grant: the chain of tokens that one authorization code started, i.e. one user's link.
A renewal sooner than the interval answers what Exact answers (reported in
websmurf/laravel-exact-online#31): 400 ``{"error": "access_denied", "error_description":
"Rate limit exceeded: access_token not expired"}``; the daily cap's wording is not
confirmed (same shape, :data:`TOO_MANY_TOKEN_CALLS`). The code lives ``code_ttl`` seconds
(Exact: about 3 minutes) and the token call must name the redirect URI the code was
issued for, the one the client is registered with (``registered_redirect_uri``).
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
_LOCAL_HOSTS = {"localhost", "127.0.0.1"}
TOO_EARLY = "Rate limit exceeded: access_token not expired"
# Not confirmed; not a secret.
TOO_MANY_TOKEN_CALLS = "Rate limit exceeded: too many token requests today"  # noqa: S105


@dataclass(frozen=True)
class Cadence:
    """How often one grant may get a new token (Exact: 570 s, 200 a day)."""

    min_interval: float = 0.0
    per_day: int | None = None
    day_seconds: float = 86400.0


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
        # refresh token -> its grant; grant -> the times it was handed tokens
        self._grant_of: dict[str, str] = {}
        self._grants: dict[str, list[float]] = {}

    def state(self) -> dict[str, Any]:
        return {name: value for name, value in vars(self).items() if name.startswith("_")}

    def load_state(self, state: dict[str, Any]) -> None:
        vars(self).update(state)

    def grants(self) -> list[list[float]]:
        """When each grant was handed its tokens (epoch seconds), oldest grant first."""
        return [list(times) for times in self._grants.values()]

    def client_ok(self, client_id: str, secret: str) -> bool:
        known = self.clients.get(client_id)
        return known is not None and secrets.compare_digest(known, secret)

    def issue_code(self, client_id: str, redirect_uri: str, ttl: float) -> str:
        code = secrets.token_urlsafe(24)
        self._codes[code] = (client_id, redirect_uri, time.time() + ttl)
        return code

    def redeem_code(self, code: str, client_id: str, redirect_uri: str) -> bool:
        """Use a code once; True when it was issued to this client for this redirect URI."""
        found = self._codes.pop(code, None)
        if found is None:
            return False
        owner, uri, expires_at = found
        return owner == client_id and uri == redirect_uri and expires_at > time.time()

    def issue(self, client_id: str, grant: str | None = None) -> dict[str, Any]:
        access, refresh = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        now = time.time()
        self._access[access] = now + self.ttl
        self._refresh[refresh] = client_id
        grant = grant or secrets.token_hex(8)
        self._grant_of[refresh] = grant
        self._grants.setdefault(grant, []).append(now)
        return {
            "access_token": access,
            "token_type": "bearer",
            "expires_in": self.ttl,
            "refresh_token": refresh,
        }

    def rotate(
        self, refresh: str, client_id: str, cadence: Cadence
    ) -> tuple[dict[str, Any] | None, str]:
        """Trade a refresh token for new tokens; on refusal answer (None, the reason)."""
        if refresh in self._used_refresh:
            return None, "used"
        if self._refresh.get(refresh) != client_id:
            return None, "unknown"
        grant = self._grant_of.get(refresh, "")
        handed_out = self._grants.get(grant, [])
        now = time.time()
        if handed_out and now - handed_out[-1] < cadence.min_interval:
            return None, "early"
        today = now - now % cadence.day_seconds
        if cadence.per_day is not None and sum(at >= today for at in handed_out) >= cadence.per_day:
            return None, "day"
        del self._refresh[refresh]
        self._used_refresh.add(refresh)
        return self.issue(client_id, grant), ""

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


def _redirect_ok(uri: str, registered: str | None) -> bool:
    if registered is not None:
        return uri == registered
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
        sim = request.app.state.sim
        store: TokenStore = sim.tokens
        query = request.query_params
        redirect_uri = query.get("redirect_uri", "")
        if not _redirect_ok(redirect_uri, sim.faults.registered_redirect_uri):
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
        code = store.issue_code(client_id, redirect_uri, sim.faults.code_ttl)
        return RedirectResponse(_with_query(redirect_uri, {"code": code, "state": state}), 302)

    async def token(request: Request) -> Response:
        sim = request.app.state.sim
        store: TokenStore = sim.tokens
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
            cadence = Cadence(
                sim.faults.token_min_interval,
                sim.faults.token_calls_per_day,
                sim.faults.day_seconds,
            )
            tokens, reason = store.rotate(form.get("refresh_token", ""), client_id, cadence)
            if reason in ("early", "day"):
                sim.token_refusals[reason] += 1
                text = TOO_EARLY if reason == "early" else TOO_MANY_TOKEN_CALLS
                return _grant_error("access_denied", text)
            if tokens is None:
                text = wording.old_refresh_token if reason == "used" else "Invalid refresh token."
                return _grant_error("invalid_grant", text)
            return JSONResponse(tokens)
        return _grant_error("unsupported_grant_type", f"Grant type {grant!r} is not supported.")

    return [
        Route(wording.authorize_path, authorize, methods=["GET"]),
        Route(wording.token_path, token, methods=["POST"]),
    ]
