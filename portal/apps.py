from typing import Any

from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = "Cloud Portal"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in, user_login_failed
        from django.db.models.signals import post_delete, post_save

        from portal.models import Membership

        user_logged_in.connect(_logged_in, dispatch_uid="portal.logged_in")
        user_login_failed.connect(_login_failed, dispatch_uid="portal.login_failed")
        post_save.connect(_membership_saved, sender=Membership, dispatch_uid="portal.role")
        post_delete.connect(_membership_deleted, sender=Membership, dispatch_uid="portal.role_end")


def _logged_in(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    from audit.models import Action
    from audit.services import audit_record
    from portal.mfa import mfa_check_at_login
    from portal.middleware import session_seen

    if request is not None and hasattr(request, "session"):
        # The login saves the session anyway; noting these here spares the next pages
        # a write and a look-up.
        session_seen(session=request.session)
        mfa_check_at_login(session=request.session, user=user)
    audit_record(action=Action.LOGIN, actor=user)


def _login_failed(sender: Any, credentials: dict[str, Any], request: Any = None, **kw: Any) -> None:
    from audit.models import Action
    from audit.services import audit_record

    # Only the username: credentials also hold the password (django masks it, still).
    audit_record(action=Action.LOGIN_FAILED, actor_name=str(credentials.get("username", "")))


def _membership_saved(sender: Any, instance: Any, created: bool, **kwargs: Any) -> None:
    _role_changed(instance, instance.role)


def _membership_deleted(sender: Any, instance: Any, **kwargs: Any) -> None:
    _role_changed(instance, None)


def _role_changed(membership: Any, role: str | None) -> None:
    # Memberships change in the admin (or seed_demo); the signal catches every path.
    from audit.models import Action
    from audit.services import audit_record

    audit_record(
        action=Action.ROLE_CHANGED,
        company=membership.company,
        target=membership.user.get_username(),
        details={"role": role},
    )
