"""Notifications: a user's own mail choices, an integration's mail settings, unsubscribing."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from notifications import services
from notifications.forms import ExtraRecipientForm, NotificationsForm
from notifications.models import ExtraRecipient, Frequency, Subscription
from notifications.selectors import (
    assignment_mails_wanted,
    language_of,
    mail_log,
    member_choices,
    user_choices,
)
from portal.models import Company, Membership, Role
from portal.tenancy import company_view, get_integration
from runs.views.requests import authenticated


@login_required
@require_http_methods(["GET", "POST"])
def notification_settings(request: HttpRequest) -> HttpResponse:
    user = authenticated(request)
    choices = user_choices(user_id=user.pk)
    initial = {
        "language": language_of(user_id=user.pk),
        "assignment_mails": assignment_mails_wanted(user_id=user.pk),
    }
    form = NotificationsForm(request.POST or None, choices=choices, initial=initial)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            services.preference_set(
                user=user,
                language=form.cleaned_data["language"],
                assignment_mails=form.cleaned_data["assignment_mails"],
            )
            for name, company in form.companies.items():
                services.subscription_set(
                    user_id=user.pk, company=company, frequency=form.cleaned_data[name]
                )
        messages.success(request, _("Your mail choices are saved."))
        return redirect("notification_settings")
    return render(request, "notifications/notification_settings.html", {"form": form})


def _mail_page(membership: Membership, integration_id: int) -> HttpResponse:
    return redirect(
        "integration_mail",
        company_slug=membership.company.slug,
        integration_id=integration_id,
    )


@company_view(Role.CONSULTANT)
@require_http_methods(["GET", "POST"])
def integration_mail(
    request: HttpRequest, membership: Membership, integration_id: int
) -> HttpResponse:
    """Extra addresses of the integration, who hears of failures, and the mail log."""
    integration = get_integration(membership, integration_id)
    form = ExtraRecipientForm(request.POST if request.POST.get("action") == "add" else None)
    if request.method == "POST":
        if request.POST.get("action") == "remove":
            recipient_id = request.POST.get("recipient", "")
            if recipient_id.isdigit() and services.extra_recipient_remove(
                integration=integration, recipient_id=int(recipient_id)
            ):
                messages.success(request, _("The address no longer gets these mails."))
            return _mail_page(membership, integration.pk)
        if form.is_valid():
            try:
                services.extra_recipient_add(
                    integration=integration,
                    email=form.cleaned_data["email"],
                    language=form.cleaned_data["language"],
                    by=authenticated(request),
                )
            except ValidationError as error:
                form.add_error("email", error)
            else:
                messages.success(request, _("The address gets the failure mails from now on."))
                return _mail_page(membership, integration.pk)
    context = {
        "company": membership.company,
        "integration": integration,
        "form": form,
        "extras": ExtraRecipient.objects.filter(integration=integration),
        "members": member_choices(company=membership.company),
        "mails": mail_log(integration=integration),
        "frequency_nothing": Frequency.NOTHING,
    }
    return render(request, "notifications/integration_mail.html", context)


@company_view(Role.CONSULTANT)
@require_POST
def integration_mail_test(
    request: HttpRequest, membership: Membership, integration_id: int
) -> HttpResponse:
    integration = get_integration(membership, integration_id)
    try:
        mail = services.mail_test_queue(integration=integration, user=authenticated(request))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request,
            _("A test mail to %(address)s is on its way; the mail log below shows when it is sent.")
            % {"address": mail.to_address},
        )
    return _mail_page(membership, integration.pk)


# The link in the mail works without logging in: the signed token is the authority.
# Mail programs' one-click unsubscribe (RFC 8058) POSTs to it without a CSRF token;
# a GET only shows the button, so a link checker opening it changes nothing.
@csrf_exempt
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    try:
        target = services.unsubscribe_target(token=token)
    except signing.BadSignature:
        return render(request, "notifications/unsubscribe.html", {"invalid": True}, status=400)
    company = Company.objects.filter(pk=target.get("c", 0)).first()
    extra = (
        ExtraRecipient.objects.filter(pk=target.get("x", 0)).select_related("integration").first()
    )
    # In the language of the mail the link came in, whoever's browser opens it.
    language = extra.language if extra else language_of(user_id=target.get("u", 0))
    with translation.override(language):
        if request.method == "POST":
            services.unsubscribe(token=token)
            return render(request, "notifications/unsubscribe.html", {"done": True})
        return _unsubscribe_page(request, target, company, extra)


def _unsubscribe_page(
    request: HttpRequest,
    target: dict[str, int],
    company: Company | None,
    extra: ExtraRecipient | None,
) -> HttpResponse:
    context = {
        "company": None,  # the page stands outside any company's screens
        "company_name": company.name if company else "",
        "extra": extra,
        "already": bool(
            company
            and Subscription.objects.filter(
                user_id=target.get("u", 0), company=company, frequency=Frequency.NOTHING
            ).exists()
        )
        or ("x" in target and extra is None),
    }
    return render(request, "notifications/unsubscribe.html", context)
