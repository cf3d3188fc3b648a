"""One check of the API address: the settings page and the Django admin refuse the same."""

from __future__ import annotations

import pytest
from django.urls import reverse

from integrations.models import Integration
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

REFUSED = {
    "http://127.0.0.1:8101/V22": "Use an https:// address.",
    "https://10.0.0.7/V22": "10.0.0.7 is a loopback, private or link-local address.",
    "https://169.254.169.254/latest": "169.254.169.254 is a loopback, private or link-local",
    "https://[::1]/V22": "::1 is a loopback, private or link-local address.",
    "http://api.online.unit4.nl/V22": "Use an https:// address.",
    "https://api.online.unit4.nl:8443/V22": "Use the standard https port (443), not 8443.",
    "https://user:pw@api.online.unit4.nl/V22": "Leave the user name and password out",
    "https://evil.example/V22": "evil.example is not a known host of this package.",
}
GOOD = "https://api.online.unit4.nl/V22"


@pytest.fixture
def production_hosts(settings):
    settings.CONNECTOR_ALLOW_LOCAL_HOSTS = False


@pytest.fixture
def admin_client(client, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("root", password=PASSWORD))
    return client


def _admin_post(admin_client, integration: Integration, base_url: str):
    url = reverse("admin:integrations_integration_change", args=[integration.pk])
    return admin_client.post(
        url,
        {
            "company": integration.company_id,
            "name": integration.name,
            "connector": integration.connector,
            "base_url": base_url,
            "settings": '{"database": "MVL00001"}',
            "enabled": "on",
            "client_id": "cloud-portal-demo",
            "client_secret": "",
        },
    )


@pytest.mark.parametrize(("address", "message"), REFUSED.items())
def test_the_admin_refuses_what_the_settings_page_refuses(
    admin_client, integration, production_hosts, address, message
):
    answer = _admin_post(admin_client, integration, address)
    assert answer.status_code == 200
    assert message in answer.content.decode()
    integration.refresh_from_db()
    assert integration.base_url == "http://127.0.0.1:8101/V22"


@pytest.mark.parametrize(("address", "message"), REFUSED.items())
def test_the_settings_page_refuses_each_address_with_its_reason(
    client, consultant, integration, production_hosts, address, message
):
    from django.core.exceptions import ValidationError

    from integrations.services import integration_update

    with pytest.raises(ValidationError) as refused:
        integration_update(
            integration=integration,
            base_url=address,
            settings={"database": "MVL00001"},
            credentials={},
            enabled=True,
        )
    assert message in " ".join(refused.value.message_dict["base_url"])


def test_the_admin_takes_the_packages_own_address(admin_client, integration, production_hosts):
    answer = _admin_post(admin_client, integration, GOOD)
    assert answer.status_code == 302
    integration.refresh_from_db()
    assert integration.base_url == GOOD
