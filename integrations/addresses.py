"""The one check of an integration's API address, for the settings page and the admin alike.

The portal calls this address with the company's credentials, so a tenant (or an admin's
slip) must not be able to point it at the portal's own network: only https on the
standard port to a host the package is known to use. The local simulators
(``CONNECTOR_ALLOW_LOCAL_HOSTS``, never in production) are the one exception.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def validate_base_url(url: str, *, known_hosts: Iterable[str]) -> None:
    """Raise ``ValidationError`` naming what is wrong with ``url``; return when it is fine."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    try:
        port = parts.port
    except ValueError:
        raise ValidationError(_("The address has a port that is not a number.")) from None
    if settings.CONNECTOR_ALLOW_LOCAL_HOSTS and host in LOCAL_HOSTS:
        if parts.scheme not in ("http", "https"):
            raise ValidationError(_("Use an http:// or https:// address."))
        return
    if parts.scheme != "https":
        raise ValidationError(_("Use an https:// address."))
    if parts.username is not None or parts.password is not None:
        raise ValidationError(_("Leave the user name and password out of the address."))
    if port not in (None, 443):
        raise ValidationError(
            _("Use the standard https port (443), not %(port)s.") % {"port": port}
        )
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    if address is not None and not address.is_global:
        raise ValidationError(
            _("%(host)s is a loopback, private or link-local address.") % {"host": host}
        )
    if host not in set(known_hosts):
        raise ValidationError(_("%(host)s is not a known host of this package.") % {"host": host})
