"""Who is told about failures, in which language, and the outbox of mails to send."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from integrations.models import Integration
from portal.models import Company, Role
from runs.models import Run, RunLine


class Frequency(models.TextChoices):
    EACH_RUN = "each_run", _("Each run with failures")
    DAILY = "daily", _("A daily summary")
    NOTHING = "nothing", _("Nothing")


# Without a Subscription row a member gets what their role needs: people who fix lines
# hear of each failing run, people who only read get one summary a day.
DEFAULT_FREQUENCY = {
    Role.VIEWER: Frequency.DAILY,
    Role.EDITOR: Frequency.EACH_RUN,
    Role.CONSULTANT: Frequency.EACH_RUN,
}


class MailPreference(models.Model):
    """A user's language for mail (the screens follow the browser or the switch)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="mail_preference"
    )
    language = models.CharField(
        _("language"), max_length=8, choices=settings.LANGUAGES, default=settings.LANGUAGE_CODE
    )
    # Someone else gave me lines to fix: tell me (one mail per assignment).
    assignment_mails = models.BooleanField(_("mail me when lines are assigned to me"), default=True)

    def __str__(self) -> str:
        return f"{self.user} ({self.language})"


class Subscription(models.Model):
    """A member's choice of failure mails for one company."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="mail_subscriptions"
    )
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="+")
    frequency = models.CharField(_("mail me"), max_length=20, choices=Frequency.choices)

    class Meta:
        verbose_name = _("subscription")
        verbose_name_plural = _("subscriptions")
        constraints = [
            models.UniqueConstraint(fields=["user", "company"], name="subscription_unique"),
            models.CheckConstraint(
                condition=models.Q(frequency__in=Frequency.values), name="subscription_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.company}: {self.frequency}"


class ExtraRecipient(models.Model):
    """An address a consultant added to an integration, e.g. the bookkeeper's mailbox."""

    integration = models.ForeignKey(
        Integration, on_delete=models.CASCADE, related_name="extra_recipients"
    )
    email = models.EmailField(_("e-mail address"))
    language = models.CharField(
        _("language"), max_length=8, choices=settings.LANGUAGES, default=settings.LANGUAGE_CODE
    )
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )

    class Meta:
        ordering = ["email"]
        verbose_name = _("extra address")
        verbose_name_plural = _("extra addresses")
        constraints = [
            models.UniqueConstraint(fields=["integration", "email"], name="extra_recipient_unique")
        ]

    def __str__(self) -> str:
        return f"{self.email} ({self.integration})"


class MailKind(models.TextChoices):
    FAILURES = "failures", _("Failed lines")
    RUN_FAULT = "run_fault", _("Run stopped")
    DAILY = "daily", _("Daily summary")
    TEST = "test", _("Test mail")
    ASSIGNED = "assigned", _("Lines assigned")


class MailState(models.TextChoices):
    PENDING = "pending", _("Waiting")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Nothing left to report")


class Mail(models.Model):
    """One mail to one address: the outbox row, written with what caused it.

    It is rendered when it is sent (in ``language``), so a digest shows every run it
    gathered and only the lines still open by then.
    """

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="+")
    # None for the daily summary, which covers every integration of the company.
    integration = models.ForeignKey(
        Integration, on_delete=models.CASCADE, null=True, blank=True, related_name="mails"
    )
    kind = models.CharField(_("kind"), max_length=20, choices=MailKind.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    extra_recipient = models.ForeignKey(
        ExtraRecipient, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    to_address = models.EmailField(_("to"))
    language = models.CharField(max_length=8, default=settings.LANGUAGE_CODE)
    runs = models.ManyToManyField(Run, blank=True, related_name="+")
    # An assignment mail: the lines given to the recipient, and by whom.
    lines = models.ManyToManyField(RunLine, blank=True, related_name="+")
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # A run-level fault: the reason the run stopped, as the engine gave it.
    reason = models.TextField(blank=True)
    state = models.CharField(
        _("state"), max_length=20, choices=MailState.choices, default=MailState.PENDING
    )
    # Not sent before this: the end of a digest's window, or of a retry's backoff.
    due_at = models.DateTimeField(_("due"))
    lease_until = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    subject = models.CharField(_("subject"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("written"), auto_now_add=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    # The daily summary: one per user, company and day however often beat runs.
    dedupe_key = models.CharField(max_length=200, null=True, blank=True, unique=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("mail")
        verbose_name_plural = _("mails")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(state__in=MailState.values), name="mail_state_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(kind__in=MailKind.values), name="mail_kind_valid"
            ),
            # The digest still gathering failures: one per integration and address.
            models.UniqueConstraint(
                fields=["integration", "to_address"],
                condition=models.Q(kind="failures", state="pending"),
                name="mail_one_gathering_digest",
            ),
        ]
        indexes = [
            # The sweeper: pending mails due, and claims whose lease ran out.
            models.Index(fields=["state", "due_at"], name="mail_due"),
            # The mail log of an integration, newest first.
            models.Index(fields=["integration", "-created_at"], name="mail_log"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} to {self.to_address} ({self.state})"
