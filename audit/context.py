"""Who is acting and from where, for the request being handled.

Set once per request by ``portal.middleware.AuditContextMiddleware`` (which knows the
trusted proxies), so a service deep down can record the address without every caller
passing the request along. Outside a request (a task, a command) both are unknown.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

current_address: ContextVar[str | None] = ContextVar("audit_address", default=None)
# The request's user, for acts whose code does not know who asked (a signal on a model
# saved in the Django admin).
current_actor: ContextVar[Any] = ContextVar("audit_actor", default=None)
