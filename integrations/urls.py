"""Mounted under ``c/<slug:company_slug>/``: every view resolves the company from it."""

from django.urls import path

from integrations.views import connection

urlpatterns = [
    path(
        "integrations/<int:integration_id>/settings/",
        connection.integration_settings,
        name="integration_settings",
    ),
    path(
        "integrations/<int:integration_id>/connect/",
        connection.integration_connect,
        name="integration_connect",
    ),
    # The redirect URI to register at the package (shown on the settings page).
    path(
        "integrations/<int:integration_id>/oauth/callback/",
        connection.integration_oauth_callback,
        name="integration_oauth_callback",
    ),
    path(
        "integrations/<int:integration_id>/disconnect/",
        connection.integration_disconnect,
        name="integration_disconnect",
    ),
    path(
        "integrations/<int:integration_id>/intake-token/issue/",
        connection.intake_token_issue,
        name="intake_token_issue",
    ),
    path(
        "integrations/<int:integration_id>/intake-token/revoke/",
        connection.intake_token_revoke,
        name="intake_token_revoke",
    ),
]
