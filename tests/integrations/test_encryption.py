"""Credentials at rest: unreadable in a dump, readable through a key rotation."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import connection

from integrations.models import Integration

SECRET = "s3cret-value-nobody-may-see"


def _raw_column(pk: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT credentials FROM integrations_integration WHERE id = %s", [pk])
        return cursor.fetchone()[0]


@pytest.fixture
def secret_integration(integration):
    integration.credentials = {
        "client_id": "cloud-portal-demo",
        "client_secret": SECRET,
        "refresh_token": "rt-123",
    }
    integration.save()
    return integration


def test_a_database_dump_shows_no_secret_in_clear(secret_integration):
    stored = _raw_column(secret_integration.pk)
    assert SECRET not in stored and "rt-123" not in stored and "client_secret" not in stored
    assert stored.startswith("gAAAA")  # a Fernet token
    assert Integration.objects.get().credentials["client_secret"] == SECRET


def test_a_new_key_first_keeps_old_data_readable_and_rotation_moves_it(
    secret_integration, settings
):
    old_key = settings.FIELD_ENCRYPTION_KEYS[0]
    new_key = Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [new_key, old_key]
    assert Integration.objects.get().credentials["client_secret"] == SECRET

    call_command("rotate_credentials", stdout=None)

    Fernet(new_key.encode()).decrypt(_raw_column(secret_integration.pk).encode())
    settings.FIELD_ENCRYPTION_KEYS = [new_key]  # the old key dropped
    assert Integration.objects.get().credentials["client_secret"] == SECRET


def test_a_dropped_key_says_what_went_wrong(secret_integration, settings):
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(ImproperlyConfigured, match="rotate_credentials"):
        Integration.objects.get()
    with pytest.raises(ImproperlyConfigured, match="FIELD_ENCRYPTION_KEY"):
        call_command("rotate_credentials")


def test_a_value_that_is_no_fernet_key_is_named(secret_integration, settings):
    settings.FIELD_ENCRYPTION_KEYS = ["not-a-key"]
    with pytest.raises(
        ImproperlyConfigured, match="FIELD_ENCRYPTION_KEY holds a value that is not a Fernet key"
    ):
        Integration.objects.get()


def test_the_admin_never_renders_the_secret_back(admin_client, secret_integration):
    page = admin_client.get(f"/admin/integrations/integration/{secret_integration.pk}/change/")
    assert page.status_code == 200
    assert SECRET not in page.text and "rt-123" not in page.text
    assert 'name="client_secret"' in page.text


def test_a_blank_secret_in_the_admin_keeps_the_current_one(admin_client, secret_integration):
    url = f"/admin/integrations/integration/{secret_integration.pk}/change/"
    form = {
        "company": secret_integration.company_id,
        "name": "Renamed",
        "connector": "multivers",
        "base_url": secret_integration.base_url,
        "settings": '{"database": "MVL00001"}',
        "enabled": "on",
        "client_id": "cloud-portal-demo",
        "client_secret": "",
    }
    response = admin_client.post(url, form)
    assert response.status_code == 302, response.text[:2000]
    saved = Integration.objects.get()
    assert saved.name == "Renamed"
    assert (
        saved.credentials["client_secret"] == SECRET
        and saved.credentials["refresh_token"] == "rt-123"
    )

    admin_client.post(url, {**form, "client_secret": "a-new-secret"})
    assert Integration.objects.get().credentials["client_secret"] == "a-new-secret"
