"""The audit log: who did what security-relevant act, when, from where.

Kept apart from the rows it speaks of: it names users, companies and objects by id and
by a copy of their name, never by a foreign key, so deleting a user, an integration or
a company leaves its history readable.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Action(models.TextChoices):
    LOGIN = "login", _("Logged in")
    LOGIN_FAILED = "login_failed", _("Login failed")
    MFA_SET_UP = "mfa_set_up", _("Two-step login set up")
    INTEGRATION_CONNECTED = "integration_connected", _("Integration connected")
    INTEGRATION_DISCONNECTED = "integration_disconnected", _("Integration disconnected")
    INTAKE_TOKEN_ISSUED = "intake_token_issued", _("Intake token issued")
    INTAKE_TOKEN_REVOKED = "intake_token_revoked", _("Intake token revoked")
    ROLE_CHANGED = "role_changed", _("Role changed")
    RETRY = "retry", _("Retry")
    RESOLVE = "resolve", _("Lines resolved")
    REOFFER = "reoffer", _("Lines marked for re-offer")


class AuditEvent(models.Model):
    at = models.DateTimeField(_("when"), auto_now_add=True, db_index=True)
    action = models.CharField(_("what"), max_length=40, choices=Action.choices)
    actor_id = models.BigIntegerField(null=True, blank=True)
    actor_name = models.CharField(_("who"), max_length=150, blank=True)
    address = models.GenericIPAddressField(_("from"), null=True, blank=True)
    company_id = models.BigIntegerField(null=True, blank=True)
    company_name = models.CharField(_("company"), max_length=200, blank=True)
    target = models.CharField(_("on"), max_length=300, blank=True)
    details = models.JSONField(_("details"), default=dict, blank=True)

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        indexes = [models.Index(fields=["company_id", "-id"], name="audit_company_newest")]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_name or '-'} {self.action} {self.target}"
