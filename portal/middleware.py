"""Request-wide rules: no caching of data, sliding session expiry, a busy database."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.contrib.sessions.backends.base import SessionBase
from django.db import OperationalError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.cache import patch_cache_control
from django.utils.translation import gettext as _

from audit.context import current_actor, current_address
from portal.clients import client_address

# How long a client waits before it tries again; a large batch on SQLite takes seconds.
RETRY_AFTER_SECONDS = 5


def database_busy(exc: BaseException) -> bool:
    """Whether ``exc`` is SQLite's "database is locked": another writer held on too long.

    SQLite lets one writer in at a time; one that waited long enough
    gives up with this error (after the ``timeout`` of DATABASES). Nothing was written, so the request may simply be resent.
    PostgreSQL locks rows, not the database, and never answers this.
    """
    return (
        isinstance(exc, OperationalError)
        and connection.vendor == "sqlite"
        and "database is locked" in str(exc)
    )


def busy_response(*, json: bool) -> HttpResponse:
    """503 with ``Retry-After``: a client (or the ERP) tries again rather than giving up."""
    message = _("The portal is busy storing other work. Nothing was stored; try again shortly.")
    response: HttpResponse
    if json:
        response = JsonResponse({"detail": message}, status=503)
    else:
        response = HttpResponse(message, status=503, content_type="text/plain; charset=utf-8")
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


class DatabaseBusyMiddleware:
    """A screen whose write found the database locked answers 503, not a 500."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if database_busy(exception):
            return busy_response(json=False)
        return None


class NoStoreMiddleware:
    """Nothing the portal answers is kept by a browser or proxy cache.

    Run lists, lines and the API's outcomes are a company's books; on a shared machine
    the back button or a proxy must not show them to the next person. Static files are
    answered by WhiteNoise before this runs and keep their long cache.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not response.has_header("Cache-Control"):
            patch_cache_control(response, no_store=True, private=True)
        return response


# A session's idle limit is renewed at most this often: a save on every request would
# write the session table on every page.
_ACTIVITY_WRITE_SECONDS = 300


def session_seen(*, session: SessionBase) -> None:
    """Note the session as used now; its save renews the expiry."""
    session["seen_at"] = int(time.time())


class SessionActivityMiddleware:
    """A logged-in session stays alive while used: SESSION_COOKIE_AGE counts from activity.

    Saving the session renews its expiry (and the cookie's, when it has one), so the
    session ends after SESSION_COOKIE_AGE without a request, within five minutes.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and time.time() - request.session.get("seen_at", 0) >= _ACTIVITY_WRITE_SECONDS
        ):
            session_seen(session=request.session)
        return self.get_response(request)


class AuditContextMiddleware:
    """The client's address (through the trusted proxies) for audit events of this request."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        address = current_address.set(client_address(request) or None)
        actor = current_actor.set(getattr(request, "user", None))
        try:
            return self.get_response(request)
        finally:
            current_actor.reset(actor)
            current_address.reset(address)
