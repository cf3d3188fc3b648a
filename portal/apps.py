from typing import Any

from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = "Cloud Portal"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        user_logged_in.connect(_seen_at_login, dispatch_uid="portal.session_seen")


def _seen_at_login(sender: Any, request: Any, **kwargs: Any) -> None:
    # The login saves the session anyway; noting it here spares the next page a write.
    from portal.middleware import session_seen

    if request is not None and hasattr(request, "session"):
        session_seen(session=request.session)
