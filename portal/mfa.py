"""Two-step login: a code from an authenticator app (TOTP) or a recovery code.

Built on django-otp: a confirmed ``TOTPDevice`` per person, and a ``StaticDevice`` with
ten single-use recovery codes. A session that logged in with a password but has not
given a code is "unverified"; ``MfaMiddleware`` keeps it to the code page, or, for a
consultant or admin when ``MFA_REQUIRED`` is on, to the set-up page.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.contrib.sessions.backends.base import SessionBase
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import Resolver404, resolve
from django.utils.http import urlencode
from django_otp import user_has_device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.models import Action
from audit.services import audit_record
from portal.models import Membership, Role

RECOVERY_CODES = 10
# A session without a code to give is looked up at most this often (not on every page).
_RECHECK_SECONDS = 300
_NO_CODE_UNTIL = "mfa_none_until"
# Pages an unverified session may still open: the code pages themselves, and leaving.
_OPEN_NAMES = frozenset(
    {"mfa_setup", "mfa_verify", "login", "logout", "set_language", "healthz", "favicon"}
)
# The intake API authenticates by token, never by session; static files need no login.
_OPEN_PREFIXES = ("/api/", "/static/")


def mfa_required_for(user: AbstractBaseUser | AnonymousUser) -> bool:
    """Consultants and admins hold many companies' books: a code when MFA_REQUIRED is on."""
    if not settings.MFA_REQUIRED or not user.is_authenticated:
        return False
    if getattr(user, "is_superuser", False) or getattr(user, "is_staff", False):
        return True
    return Membership.objects.filter(user_id=user.pk, role=Role.CONSULTANT).exists()


def totp_device_start(*, user: AbstractBaseUser) -> TOTPDevice:
    """The person's authenticator being set up: unconfirmed until a code proves it works."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    return device or TOTPDevice.objects.create(user=user, name="authenticator", confirmed=False)


def totp_secret(device: TOTPDevice) -> str:
    """The key as authenticator apps want it typed: base32, in groups of four."""
    key = base64.b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(key[i : i + 4] for i in range(0, len(key), 4))


def totp_device_confirm(*, device: TOTPDevice, code: str) -> list[str] | None:
    """Confirm ``device`` with a code from the app; the new recovery codes, or None.

    Replaces any earlier authenticator and recovery codes of the person: after a new
    phone the old one no longer logs in.
    """
    if not device.verify_token(code.replace(" ", "")):
        return None
    with transaction.atomic():
        TOTPDevice.objects.filter(user=device.user).exclude(pk=device.pk).delete()
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        audit_record(action=Action.MFA_SET_UP, actor=device.user)
        return recovery_codes_issue(user=device.user)


def recovery_codes_issue(*, user: AbstractBaseUser) -> list[str]:
    """Ten new single-use recovery codes; the old ones stop working. Shown once."""
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name="recovery", confirmed=True)
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODES)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    return codes


def otpauth_url(device: TOTPDevice, *, username: str) -> str:
    """What the QR code holds: the key, the issuer and the account, for the app."""
    query = urlencode(
        {
            "secret": totp_secret(device).replace(" ", ""),
            "issuer": "Cloud Portal",
            "digits": device.digits,
            "period": device.step,
        }
    )
    return f"otpauth://totp/Cloud%20Portal:{username}?{query}"


class MfaMiddleware:
    """Keeps a password-only session to the code page, or to set-up when a code is required."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        # OTPMiddleware (just before) gives the user is_verified().
        verified = getattr(user, "is_verified", lambda: False)()
        if not user.is_authenticated or verified or _is_open(request):
            return self.get_response(request)
        if request.session.get(_NO_CODE_UNTIL, 0) > time.time():
            return self.get_response(request)
        if user_has_device(user):
            return _to("mfa_verify", request)
        if mfa_required_for(user):
            return _to("mfa_setup", request)
        mfa_not_needed(session=request.session)
        return self.get_response(request)


def mfa_check_at_login(*, session: SessionBase, user: AbstractBaseUser) -> None:
    """At login: note a person who has no code to give, so their pages skip the look-up."""
    if not user_has_device(user) and not mfa_required_for(user):
        mfa_not_needed(session=session)


def mfa_not_needed(*, session: SessionBase) -> None:
    # Looked up again after this: an authenticator set up in another session (or the
    # setting turned on) applies to this one within that time.
    session[_NO_CODE_UNTIL] = time.time() + _RECHECK_SECONDS


def _is_open(request: HttpRequest) -> bool:
    if request.path_info.startswith(_OPEN_PREFIXES):
        return True
    try:
        return resolve(request.path_info).url_name in _OPEN_NAMES
    except Resolver404:
        return False


def _to(name: str, request: HttpRequest) -> HttpResponse:
    from django.urls import reverse

    return redirect(f"{reverse(name)}?{urlencode({'next': request.get_full_path()})}")
