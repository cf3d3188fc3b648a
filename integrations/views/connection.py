"""An integration's settings and its connection to the package (consultants only)."""

from __future__ import annotations

from typing import Any, cast
from urllib.parse import urlsplit

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from integrations import services
from integrations.connectors.base import DeliveryError
from integrations.credentials import connector_for
from integrations.models import Integration
from integrations.oauth import oauth_redirect_uri, oauth_state_issue, oauth_state_verify
from integrations.simulators.registry import simulator_url
from portal.models import Membership, Role
from portal.tenancy import company_view, get_integration

# A package's own words about a refusal, kept short enough to read.
MAX_REASON = 300


class IntegrationForm(forms.Form):
    enabled = forms.BooleanField(label=gettext_lazy("Enabled"), required=False)


def _settings_url(integration: Integration) -> HttpResponse:
    return redirect(
        "integration_settings",
        company_slug=integration.company.slug,
        integration_id=integration.pk,
    )


def _actor(request: HttpRequest) -> User:
    # company_view has sent anyone not logged in to the login page already.
    return cast(User, request.user)


def _simulator_url(integration: Integration) -> str | None:
    if not settings.CONNECTOR_ALLOW_LOCAL_HOSTS:
        return None
    if integration.connector_class.simulator is None:
        return None
    return simulator_url(integration.connector)


def _settings_form(integration: Integration, data: Any) -> forms.Form:
    """The connector's own settings form, with the base URL as one of its fields.

    The addresses offered are the package's own (plus the local simulator in
    development); ``Integration.clean`` checks the host again whatever is posted.
    """
    initial = {**integration.settings, "base_url": integration.base_url}
    form = integration.connector_class.settings_form(data, prefix="settings", initial=initial)
    field = form.fields.get("base_url")
    if field is None:
        form.fields["base_url"] = forms.URLField(label=gettext_lazy("API address"))
    elif isinstance(field, forms.ChoiceField):
        choices: list[tuple[str, str]] = list(field.choices)  # type: ignore[arg-type]
        for extra in (_simulator_url(integration), integration.base_url):
            if extra and extra not in dict(choices):
                choices.append((extra, extra))
        field.choices = choices
    return form


def _is_secret(field: forms.Field) -> bool:
    return isinstance(field.widget, forms.PasswordInput)


def _credentials_form(integration: Integration, data: Any) -> forms.Form:
    """Client id and secret. Secrets are write-only: never rendered, blank keeps them."""
    stored = integration.credentials
    form = integration.connector_class.credentials_form(
        data,
        prefix="credentials",
        initial={
            name: stored.get(name, "")
            for name, field in integration.connector_class.credentials_form.base_fields.items()
            if not _is_secret(field)
        },
    )
    for name, field in form.fields.items():
        if _is_secret(field) and stored.get(name):
            field.required = False
            field.help_text = _("A value is stored. Leave blank to keep it.")
    return form


def _changed_credentials(form: forms.Form) -> dict[str, Any]:
    return {
        name: value
        for name, value in form.cleaned_data.items()
        if value or not _is_secret(form.fields[name])
    }


def _render_settings(
    request: HttpRequest, integration: Integration, **context: Any
) -> HttpResponse:
    context.setdefault("settings_form", _settings_form(integration, None))
    context.setdefault("credentials_form", _credentials_form(integration, None))
    context.setdefault(
        "integration_form", IntegrationForm(initial={"enabled": integration.enabled})
    )
    response = render(
        request,
        "integrations/integration_settings.html",
        {
            "integration": integration,
            "redirect_uri": oauth_redirect_uri(integration=integration),
            **context,
        },
    )
    # Connect posts here and is redirected to the package's authorize page; a
    # browser checks that redirect against form-action, so allow that one origin
    # (a known host of the package, or the local simulator).
    parts = urlsplit(integration.base_url)
    policy: dict[str, Any] = dict(settings.SECURE_CSP)
    policy["form-action"] = [*policy.get("form-action", []), f"{parts.scheme}://{parts.netloc}"]
    response._csp_config = policy  # type: ignore[attr-defined]
    return response


@require_http_methods(["GET", "POST"])
@company_view(Role.CONSULTANT)
def integration_settings(
    request: HttpRequest, membership: Membership, integration_id: int
) -> HttpResponse:
    integration = get_integration(membership, integration_id)
    if request.method == "GET":
        return _render_settings(request, integration)
    settings_form = _settings_form(integration, request.POST)
    credentials_form = _credentials_form(integration, request.POST)
    integration_form = IntegrationForm(request.POST)
    forms_ok = all(f.is_valid() for f in (settings_form, credentials_form, integration_form))
    if forms_ok:
        package_settings = dict(settings_form.cleaned_data)
        try:
            reconnect = services.integration_update(
                integration=integration,
                base_url=package_settings.pop("base_url"),
                settings=package_settings,
                credentials=_changed_credentials(credentials_form),
                enabled=integration_form.cleaned_data["enabled"],
            )
        except ValidationError as error:
            integration.refresh_from_db()
            for name, problems in error.message_dict.items():
                target = "base_url" if name == "base_url" else None
                for problem in problems:
                    settings_form.add_error(target, problem)
        else:
            messages.success(request, _("Settings saved."))
            if reconnect:
                messages.warning(
                    request,
                    _(
                        "The address or client changed, so the old connection was dropped. Press Connect."
                    ),
                )
            return _settings_url(integration)
    return _render_settings(
        request,
        integration,
        settings_form=settings_form,
        credentials_form=credentials_form,
        integration_form=integration_form,
    )


@require_POST
@company_view(Role.CONSULTANT)
def integration_connect(
    request: HttpRequest, membership: Membership, integration_id: int
) -> HttpResponse:
    """Send the consultant to the package to grant access; it comes back to the callback."""
    integration = get_integration(membership, integration_id)
    if not integration.credentials.get("client_id"):
        messages.error(request, _("Save a client id and secret first, then press Connect."))
        return _settings_url(integration)
    state = oauth_state_issue(session=request.session, integration=integration)
    connector = connector_for(integration)
    try:
        url = connector.authorize_url(
            redirect_uri=oauth_redirect_uri(integration=integration), state=state
        )
    finally:
        connector.client.close()
    return redirect(url)


def _refused(request: HttpRequest, integration: Integration, reason: str) -> HttpResponse:
    reason = reason[:MAX_REASON]
    services.integration_connection_failed(integration=integration, reason=reason)
    messages.error(
        request,
        _(
            "%(package)s did not grant access: %(reason)s. Check the client id and secret, "
            "then press Connect again."
        )
        % {"package": integration.connector_label, "reason": reason},
    )
    return _settings_url(integration)


@require_GET
@company_view(Role.CONSULTANT)
def integration_oauth_callback(
    request: HttpRequest, membership: Membership, integration_id: int
) -> HttpResponse:
    """Where the package sends the consultant back, with a code (or an error) and our state."""
    integration = get_integration(membership, integration_id)
    if not oauth_state_verify(
        session=request.session, integration=integration, state=request.GET.get("state", "")
    ):
        messages.error(
            request,
            _(
                "The answer from %(package)s could not be verified: the link has expired or "
                "was opened in another browser session. Press Connect to try again."
            )
            % {"package": integration.connector_label},
        )
        return _settings_url(integration)
    code = request.GET.get("code", "")
    if request.GET.get("error") or not code:
        reason = (
            request.GET.get("error_description")
            or request.GET.get("error")
            or _("no authorization code came back")
        )
        return _refused(request, integration, reason)
    connector = connector_for(integration)
    try:
        tokens = connector.exchange_code(
            code=code, redirect_uri=oauth_redirect_uri(integration=integration)
        )
    except DeliveryError as error:
        return _refused(request, integration, error.message)
    finally:
        connector.client.close()
    services.integration_connect(integration=integration, tokens=tokens, actor=_actor(request))
    messages.success(
        request, _("Connected to %(package)s.") % {"package": integration.connector_label}
    )
    return _settings_url(integration)


@require_POST
@company_view(Role.CONSULTANT)
def integration_disconnect(
    request: HttpRequest, membership: Membership, integration_id: int
) -> HttpResponse:
    integration = get_integration(membership, integration_id)
    services.integration_disconnect(integration=integration, actor=_actor(request))
    messages.success(
        request,
        _("Disconnected from %(package)s. The client id and secret are kept.")
        % {"package": integration.connector_label},
    )
    return _settings_url(integration)


@require_POST
@company_view(Role.CONSULTANT)
def intake_token_issue(
    request: HttpRequest, membership: Membership, integration_id: int
) -> HttpResponse:
    """A new bearer token for Reflex 3000, shown in this answer only; the old one stops."""
    integration = get_integration(membership, integration_id)
    token = services.intake_token_issue(integration=integration, actor=_actor(request))
    response = _render_settings(request, integration, new_intake_token=token)
    response["Cache-Control"] = "no-store"
    return response


@require_POST
@company_view(Role.CONSULTANT)
def intake_token_revoke(
    request: HttpRequest, membership: Membership, integration_id: int
) -> HttpResponse:
    integration = get_integration(membership, integration_id)
    services.intake_token_revoke(integration=integration, actor=_actor(request))
    messages.success(
        request, _("The intake token is revoked; Reflex 3000 can no longer send runs.")
    )
    return _settings_url(integration)
