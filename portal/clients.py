"""Where a request comes from, as far as the configured proxies can be trusted to say."""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def client_address(request: HttpRequest) -> str:
    """The client's IP address, read through ``TRUSTED_PROXY_COUNT`` proxies.

    Behind the documented TLS proxy every request arrives from the proxy's address, so a
    lockout by address would lock a username for everyone. Each trusted proxy appends the
    address it was reached from to ``X-Forwarded-For``; the client is the entry that many
    places from the right. Entries further left were written by the client itself and
    could be anything, so they are never read; without trusted proxies (the default) the
    header is ignored altogether, and a header that is too short or not an address falls
    back to the connecting address.
    """
    remote = request.META.get("REMOTE_ADDR", "") or ""
    count = settings.TRUSTED_PROXY_COUNT
    if count <= 0:
        return remote
    forwarded = [entry.strip() for entry in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    if len(forwarded) < count:
        return remote
    candidate = forwarded[-count]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return remote
