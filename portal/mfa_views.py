"""The two-step login's pages: set up an authenticator, and give a code after the password."""

from __future__ import annotations

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods
from django_otp import login as otp_login
from django_otp import match_token
from segno import make_qr

from portal import mfa


class CodeForm(forms.Form):
    code = forms.CharField(
        label=_("Code"),
        max_length=32,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "text"}),
    )


def _next(request: HttpRequest) -> str:
    wanted = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        wanted, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return wanted
    return "/"


@require_http_methods(["GET", "POST"])
@login_required
def mfa_setup(request: HttpRequest) -> HttpResponse:
    """Show the key (and its QR code); a code from the app confirms it and gives recovery codes."""
    device = mfa.totp_device_start(user=request.user)  # type: ignore[arg-type]
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        codes = mfa.totp_device_confirm(device=device, code=form.cleaned_data["code"])
        if codes is not None:
            otp_login(request, device)
            shown = {"codes": codes, "next": _next(request)}
            return render(request, "portal/mfa_recovery_codes.html", shown)
        form.add_error(
            "code",
            _("That code is not right. Check the time on your phone and try the newest code."),
        )
    url = mfa.otpauth_url(device, username=request.user.get_username())
    context: dict[str, object] = {
        "form": form,
        "secret": mfa.totp_secret(device),
        "qr": make_qr(url, error="m").svg_data_uri(scale=4),
        "required": mfa.mfa_required_for(request.user),
        "next": _next(request),
    }
    return render(request, "portal/mfa_setup.html", context)


@require_http_methods(["GET", "POST"])
@login_required
def mfa_verify(request: HttpRequest) -> HttpResponse:
    """After the password: a code from the app, or one of the recovery codes (once each)."""
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = match_token(request.user, form.cleaned_data["code"].replace(" ", ""))
        if device is not None:
            otp_login(request, device)
            return redirect(_next(request))
        form.add_error(
            "code", _("That code is not right. Try the newest code, or a recovery code.")
        )
    return render(request, "portal/mfa_verify.html", {"form": form, "next": _next(request)})
