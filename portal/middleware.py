"""Answers for when the embedded default's database is busy with another writer."""

from __future__ import annotations

from collections.abc import Callable

from django.db import OperationalError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _

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
