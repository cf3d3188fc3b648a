"""Writes for notifications: choices, extra addresses, and the outbox rows of mails.

An outbox row is written in the transaction of what caused it (a run finishing or
stopping) and sent by ``notifications.sending.mail_send`` from a Celery task queued on
commit; the beat sweeper sends what was left behind. Nothing here talks to a mail
server, so a mail server that is slow or down never slows a run.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from integrations.models import Integration
from notifications.models import (
    ExtraRecipient,
    Frequency,
    Mail,
    MailKind,
    MailPreference,
    MailState,
    Subscription,
)
from notifications.selectors import (
    Recipient,
    assignment_mails_wanted,
    daily_recipients,
    failure_recipients,
    fault_recipients,
    language_of,
)
from portal.models import Company
from runs.models import Run, RunStatus

UNSUBSCRIBE_SALT = "notifications.unsubscribe"


def mail_queue(mail_id: int, *, countdown: float | None = None) -> None:
    """Wake a worker once the row is committed; a broker that is down only delays it.

    ``robust``: a failing publish is logged, not raised into the run that wrote the row;
    the sweeper sends the mail later. No publish retries: they would block the engine.
    """
    from notifications.tasks import mail_send

    transaction.on_commit(
        lambda: mail_send.apply_async((mail_id,), countdown=countdown, retry=False), robust=True
    )


def _mail_write(
    *,
    kind: str,
    company: Company,
    integration: Integration | None,
    recipient: Recipient,
    due_at: datetime | None = None,
    **fields: object,
) -> Mail:
    now = timezone.now()
    mail = Mail.objects.create(
        kind=kind,
        company=company,
        integration=integration,
        to_address=recipient.address,
        language=recipient.language,
        user_id=recipient.user_id,
        extra_recipient_id=recipient.extra_recipient_id,
        due_at=due_at or now,
        **fields,
    )
    if mail.due_at <= now:
        mail_queue(mail.pk)
    return mail


# --- what the engine's signals write --------------------------------------------------------


def mails_for_finished_run(*, run: Run) -> int:
    """Gather a run's failed lines, and its lines in doubt, into each subscriber's digest;
    answer how many digests.

    A digest gathers for ``MAIL_DIGEST_WINDOW_SECONDS`` from the first failing run, so
    one address gets at most one failure mail per integration per window. Called twice
    for one run (a repeated finish), it adds nothing.
    """
    run = Run.objects.select_related("integration__company").get(pk=run.pk)
    # A line in doubt needs a person as much as a failed one: was it booked or not?
    if run.status != RunStatus.FINISHED or (run.failed == 0 and run.in_doubt == 0):
        return 0
    if Mail.runs.through.objects.filter(run=run, mail__kind=MailKind.FAILURES).exists():
        return 0
    window = timedelta(seconds=settings.MAIL_DIGEST_WINDOW_SECONDS)
    recipients = failure_recipients(integration=run.integration)
    with transaction.atomic():
        for recipient in recipients:
            # Locked, so a sender claiming it waits until this run is in (and a digest
            # claimed first is left alone: a new one starts gathering).
            digest = (
                Mail.objects.select_for_update()
                .filter(
                    integration=run.integration,
                    to_address=recipient.address,
                    kind=MailKind.FAILURES,
                    state=MailState.PENDING,
                )
                .first()
            )
            if digest is None:
                digest = _mail_write(
                    kind=MailKind.FAILURES,
                    company=run.integration.company,
                    integration=run.integration,
                    recipient=recipient,
                    due_at=timezone.now() + window,
                )
            digest.runs.add(run)
    return len(recipients)


def mails_for_run_fault(*, run: Run, reason: str) -> int:
    """A run stopped (or paused) on a run-level fault: tell editors and consultants now."""
    run = Run.objects.select_related("integration__company").get(pk=run.pk)
    recipients = fault_recipients(integration=run.integration)
    with transaction.atomic():
        for recipient in recipients:
            mail = _mail_write(
                kind=MailKind.RUN_FAULT,
                company=run.integration.company,
                integration=run.integration,
                recipient=recipient,
                reason=reason,
            )
            mail.runs.add(run)
    return len(recipients)


def mail_for_assignment(
    *,
    integration: Integration,
    assignee: AbstractBaseUser,
    by: AbstractBaseUser,
    line_ids: list[int],
) -> Mail | None:
    """Tell ``assignee`` that ``by`` gave them lines: one mail for the whole assignment.

    Nothing when they assign to themselves, have no address, or turned these mails off.
    """
    if assignee.pk == by.pk or not line_ids or not assignment_mails_wanted(user_id=assignee.pk):
        return None
    address = getattr(assignee, "email", "")
    if not address:
        return None
    mail = _mail_write(
        kind=MailKind.ASSIGNED,
        company=integration.company,
        integration=integration,
        recipient=Recipient(
            address=address, language=language_of(user_id=assignee.pk), user_id=assignee.pk
        ),
        assigned_by_id=by.pk,
    )
    mail.lines.add(*line_ids)
    return mail


def mails_daily_queue(*, now: datetime | None = None) -> int:
    """Write today's summary for each member on the daily choice whose company had failures
    (or lines in doubt).

    Safe to call twice a day: the summary of a day is written once per company and address.
    """
    now = now or timezone.now()
    since = now - timedelta(days=1)
    day = timezone.localdate(now).isoformat()
    written = 0
    failing = Run.objects.filter(
        Q(failed__gt=0) | Q(in_doubt__gt=0), finished_at__gt=since, finished_at__lte=now
    )
    companies = Company.objects.filter(integrations__runs__in=failing).distinct()
    for company in companies:
        runs = list(failing.filter(integration__company=company))
        with transaction.atomic():
            for recipient in daily_recipients(company=company):
                key = f"daily:{day}:{company.pk}:{recipient.address.lower()}"
                if Mail.objects.filter(dedupe_key=key).exists():
                    continue
                mail = _mail_write(
                    kind=MailKind.DAILY,
                    company=company,
                    integration=None,
                    recipient=recipient,
                    dedupe_key=key,
                )
                mail.runs.add(*runs)
                written += 1
    return written


def mail_test_queue(*, integration: Integration, user: AbstractBaseUser) -> Mail:
    """A test mail to the consultant who asked, through the configured mail server."""
    address = getattr(user, "email", "")
    if not address:
        raise ValidationError(_("Your account has no e-mail address to send the test mail to."))
    recipient = Recipient(address=address, language=language_of(user_id=user.pk), user_id=user.pk)
    with transaction.atomic():
        return _mail_write(
            kind=MailKind.TEST,
            company=integration.company,
            integration=integration,
            recipient=recipient,
        )


# --- people's choices ------------------------------------------------------------------------


# Mails still waiting that a choice no longer wants: none at all, or no failure digests.
_UNWANTED: dict[str, list[str]] = {
    Frequency.NOTHING: list(MailKind.values),
    Frequency.DAILY: [MailKind.FAILURES],
    Frequency.EACH_RUN: [MailKind.DAILY],
}


def subscription_set(*, user_id: int, company: Company, frequency: str) -> Subscription:
    """Store the member's choice; mails waiting that it no longer wants are not sent."""
    if frequency not in Frequency.values:
        raise ValidationError(_("Choose one of the offered mail choices."))
    with transaction.atomic():
        subscription, _created = Subscription.objects.update_or_create(
            user_id=user_id, company=company, defaults={"frequency": frequency}
        )
        Mail.objects.filter(
            user_id=user_id,
            company=company,
            kind__in=_UNWANTED[Frequency(frequency)],
            state=MailState.PENDING,
        ).exclude(kind=MailKind.TEST).update(state=MailState.CANCELLED)
    return subscription


def preference_set(
    *, user: AbstractBaseUser, language: str, assignment_mails: bool | None = None
) -> MailPreference:
    """Store the mail language and (when given) whether assignments are mailed."""
    if language not in dict(settings.LANGUAGES):
        raise ValidationError(_("Choose one of the offered languages."))
    defaults: dict[str, object] = {"language": language}
    if assignment_mails is not None:
        defaults["assignment_mails"] = assignment_mails
    preference, _created = MailPreference.objects.update_or_create(
        user_id=user.pk, defaults=defaults
    )
    return preference


def extra_recipient_add(
    *, integration: Integration, email: str, language: str, by: AbstractBaseUser
) -> ExtraRecipient:
    email = email.strip()
    validate_email(email)
    if language not in dict(settings.LANGUAGES):
        raise ValidationError(_("Choose one of the offered languages."))
    if ExtraRecipient.objects.filter(integration=integration, email__iexact=email).exists():
        raise ValidationError(_("%(email)s already gets these mails.") % {"email": email})
    return ExtraRecipient.objects.create(
        integration=integration, email=email, language=language, created_by_id=by.pk
    )


def extra_recipient_remove(*, integration: Integration, recipient_id: int) -> bool:
    """Remove the address; mails still waiting for it are not sent."""
    with transaction.atomic():
        Mail.objects.filter(
            integration=integration, extra_recipient_id=recipient_id, state=MailState.PENDING
        ).update(state=MailState.CANCELLED)
        deleted, _rows = ExtraRecipient.objects.filter(
            integration=integration, pk=recipient_id
        ).delete()
    return deleted > 0


# --- unsubscribing from a mail, without logging in ------------------------------------------


def unsubscribe_token(*, mail: Mail) -> str | None:
    """A signed token that turns this mail's failure mails off for its recipient."""
    if mail.user_id is not None:
        return signing.dumps({"u": mail.user_id, "c": mail.company_id}, salt=UNSUBSCRIBE_SALT)
    if mail.extra_recipient_id is not None:
        return signing.dumps({"x": mail.extra_recipient_id}, salt=UNSUBSCRIBE_SALT)
    return None


def unsubscribe_target(*, token: str) -> dict[str, int]:
    """The token's contents; ``signing.BadSignature`` when it was changed or made up."""
    value = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    if not isinstance(value, dict):
        raise signing.BadSignature("Not an unsubscribe token.")
    return value


def unsubscribe(*, token: str) -> None:
    """Turn the mails off: a member's choice becomes Nothing, an extra address goes."""
    target = unsubscribe_target(token=token)
    if "x" in target:
        extra = ExtraRecipient.objects.filter(pk=target["x"]).select_related("integration").first()
        if extra is not None:
            extra_recipient_remove(integration=extra.integration, recipient_id=extra.pk)
        return
    company = Company.objects.filter(pk=target.get("c", 0)).first()
    if company is None:
        return
    subscription_set(user_id=target["u"], company=company, frequency=Frequency.NOTHING)
