from __future__ import annotations

import hashlib
import secrets

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from integrations.addresses import validate_base_url
from integrations.fields import EncryptedJSONField
from portal.models import Company


def _connector_choices() -> list[tuple[str, str]]:
    from integrations.connectors.registry import connector_choices

    return connector_choices()


def hash_intake_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Integration(models.Model):
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="integrations")
    name = models.CharField(_("name"), max_length=200)
    connector = models.CharField(_("accounting package"), max_length=50, choices=_connector_choices)
    base_url = models.URLField(_("API address"), max_length=300)
    settings = models.JSONField(_("settings"), default=dict, blank=True)
    # Client secret and OAuth tokens; see integrations.fields. Never rendered back.
    credentials = EncryptedJSONField(_("credentials"), blank=True, default=dict)
    connected_at = models.DateTimeField(null=True, blank=True)
    token_refreshed_at = models.DateTimeField(null=True, blank=True)
    connection_error = models.TextField(blank=True)
    # Only the SHA-256 of the ERP's bearer token is kept; the prefix helps recognise it.
    intake_token_hash = models.CharField(
        max_length=64, unique=True, null=True, blank=True, editable=False
    )
    intake_token_prefix = models.CharField(max_length=8, blank=True, editable=False)
    enabled = models.BooleanField(_("enabled"), default=True)
    # Run numbers are handed out under a row lock on this integration.
    last_run_number = models.PositiveIntegerField(default=0, editable=False)
    # How often the package's open items are fetched for the ERP, in minutes; None: never
    # by schedule (Fetch now still works). Only for packages that offer open items.
    open_items_interval = models.PositiveIntegerField(
        _("fetch open items every (minutes)"), null=True, blank=True, default=30, db_default=30
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["company__name", "name"]
        verbose_name = _("integration")
        verbose_name_plural = _("integrations")
        constraints = [
            models.UniqueConstraint(
                fields=["company", "name"], name="integration_company_name_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.company}: {self.name}"

    @property
    def connector_class(self):  # type: ignore[no-untyped-def]
        from integrations.connectors.registry import get_connector_class

        return get_connector_class(self.connector)

    @property
    def connector_label(self) -> str:
        return dict(_connector_choices()).get(self.connector, self.connector)

    @property
    def offers_open_items(self) -> bool:
        """Whether the package has documented calls for its open items (templates ask)."""
        return bool(getattr(self.connector_class, "supports_open_items", False))

    @property
    def is_connected(self) -> bool:
        return bool(self.credentials.get("refresh_token"))

    def clean(self) -> None:
        super().clean()
        if self.connector and self.base_url:
            # The same check for the settings page and the admin (both reach it here).
            try:
                validate_base_url(self.base_url, known_hosts=self.connector_class.known_hosts)
            except ValidationError as error:
                raise ValidationError({"base_url": error.messages}) from None

    def issue_intake_token(self) -> str:
        """A new bearer token for the ERP; only its hash is stored. Returns it once."""
        token = "cp_" + secrets.token_urlsafe(32)
        self.intake_token_hash = hash_intake_token(token)
        self.intake_token_prefix = token[:8]
        self.save(update_fields=["intake_token_hash", "intake_token_prefix"])
        return token

    def revoke_intake_token(self) -> None:
        self.intake_token_hash = None
        self.intake_token_prefix = ""
        self.save(update_fields=["intake_token_hash", "intake_token_prefix"])
