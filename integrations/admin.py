"""Admin for integrations: credentials can be set, never read back.

Only the client id and secret are typed in here; OAuth tokens come from connecting
(the screens' "Connect" or ``manage.py seed_demo``) and are never shown, only when
they were last refreshed.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from integrations.models import Integration


class IntegrationAdminForm(forms.ModelForm):
    client_id = forms.CharField(label=_("Client id"), max_length=200, required=False)
    # render_value=False: the secret never travels back to a browser, not even masked.
    client_secret = forms.CharField(
        label=_("Client secret"),
        max_length=500,
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text=_("Leave blank to keep the current secret."),
    )

    class Meta:
        model = Integration
        fields = ["company", "name", "connector", "base_url", "settings", "enabled"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["client_id"].initial = self.instance.credentials.get("client_id", "")

    def save(self, commit: bool = True) -> Integration:
        integration = super().save(commit=False)
        # Start from what is stored so tokens survive an edit of the name or settings.
        credentials = dict(integration.credentials or {})
        client_id = self.cleaned_data.get("client_id", "").strip()
        secret = self.cleaned_data.get("client_secret", "")
        if client_id:
            if client_id != credentials.get("client_id"):
                # Tokens belong to the client that obtained them.
                credentials = {k: v for k, v in credentials.items() if k == "client_secret"}
            credentials["client_id"] = client_id
        if secret:
            credentials["client_secret"] = secret
        integration.credentials = credentials
        if commit:
            integration.save()
        return integration


@admin.register(Integration)
class IntegrationAdmin(admin.ModelAdmin):
    form = IntegrationAdminForm
    list_display = ["name", "company", "connector", "enabled", "connected_at", "token_refreshed_at"]
    list_filter = ["connector", "enabled"]
    search_fields = ["name", "company__name"]
    list_select_related = ["company"]
    readonly_fields = [
        "connected_since",
        "token_refreshed_at",
        "connection_error",
        "intake_token_prefix",
        "last_run_number",
        "created_at",
    ]
    fieldsets = [
        (None, {"fields": ["company", "name", "connector", "base_url", "settings", "enabled"]}),
        (_("Credentials"), {"fields": ["client_id", "client_secret"]}),
        (
            _("Connection"),
            {
                "fields": [
                    "connected_since",
                    "token_refreshed_at",
                    "connection_error",
                    "intake_token_prefix",
                    "last_run_number",
                    "created_at",
                ]
            },
        ),
    ]

    @admin.display(description=_("connected since"))
    def connected_since(self, obj: Integration) -> Any:
        # Tokens themselves never leave the database; whether there are any does.
        return obj.connected_at if obj.is_connected else _("not connected")
