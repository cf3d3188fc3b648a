"""Integration settings and connecting to the package: OAuth against the simulator."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from django.db import connection
from django.urls import reverse

from integrations.models import Integration, hash_intake_token
from integrations.simulators.testing import run_simulator

pytestmark = pytest.mark.django_db


def _url(name: str, integration: Integration) -> str:
    return reverse(name, args=[integration.company.slug, integration.pk])


def _settings_data(integration: Integration, **changes: str) -> dict[str, str]:
    data = {
        "settings-base_url": integration.base_url,
        "settings-database": "MVL00001",
        "credentials-client_id": integration.credentials["client_id"],
        "credentials-client_secret": "",
        "integration-enabled": "on",
    }
    data.update(changes)
    return data


def _raw_credentials(integration: Integration) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT credentials FROM integrations_integration WHERE id = %s", [integration.pk]
        )
        return cursor.fetchone()[0]


@pytest.fixture
def simulator():
    with run_simulator("multivers") as running:
        yield running


@pytest.fixture
def at_simulator(integration, simulator) -> Integration:
    integration.base_url = simulator.base_url
    integration.save(update_fields=["base_url"])
    return integration


def _go_to_package(client, integration: Integration) -> httpx.Response:
    """Press Connect, then let the package's authorize page answer (it grants at once)."""
    pressed = client.post(_url("integration_connect", integration))
    assert pressed.status_code == 302
    return httpx.get(pressed["Location"], follow_redirects=False)


def _come_back(client, answer: httpx.Response):
    assert answer.status_code == 302, answer.text
    back = urlsplit(answer.headers["location"])
    return client.get(f"{back.path}?{back.query}", follow=True)


# --- who may -----------------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_log_in(client, integration):
    response = client.get(_url("integration_settings", integration))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_settings_are_hidden_from_other_companies(client, integration, outsider):
    client.force_login(outsider)
    assert client.get(_url("integration_settings", integration)).status_code == 404
    assert client.post(_url("integration_connect", integration)).status_code == 404


@pytest.mark.parametrize("role", ["viewer", "editor"])
@pytest.mark.parametrize(
    "name",
    [
        "integration_settings",
        "integration_connect",
        "integration_disconnect",
        "intake_token_issue",
        "intake_token_revoke",
    ],
)
def test_settings_are_refused_to_customers(client, request, integration, role, name):
    client.force_login(request.getfixturevalue(role))
    assert client.post(_url(name, integration), _settings_data(integration)).status_code == 403
    if name == "integration_settings":
        assert client.get(_url(name, integration)).status_code == 403
    integration.refresh_from_db()
    assert integration.intake_token_hash is None


def test_the_oauth_callback_is_refused_to_customers(client, integration, editor):
    client.force_login(editor)
    url = _url("integration_oauth_callback", integration) + "?code=x&state=y"
    assert client.get(url).status_code == 403


# --- settings ------------------------------------------------------------------------


def test_a_consultant_sees_the_settings_without_the_secret(client, integration, consultant):
    client.force_login(consultant)
    response = client.get(_url("integration_settings", integration))
    assert response.status_code == 200
    assert "cloud-portal-demo" in response.text
    assert "demo-secret" not in response.text
    assert "A value is stored. Leave blank to keep it." in response.text
    assert 'for="id_settings-base_url"' in response.text
    assert "/oauth/callback/" in response.text


def test_the_settings_page_lets_connect_go_to_the_package(client, integration, consultant):
    client.force_login(consultant)
    policy = client.get(_url("integration_settings", integration))["Content-Security-Policy"]
    assert "form-action 'self' http://127.0.0.1:8101" in policy


def test_saving_with_a_blank_secret_keeps_the_stored_one(client, integration, consultant):
    client.force_login(consultant)
    data = _settings_data(integration, **{"settings-database": "mvl00002"})
    del data["integration-enabled"]
    response = client.post(_url("integration_settings", integration), data, follow=True)
    assert "Settings saved." in response.text
    integration.refresh_from_db()
    assert integration.credentials["client_secret"] == "demo-secret"
    assert integration.settings == {"database": "MVL00002"}
    assert integration.enabled is False


def test_a_new_secret_replaces_the_stored_one(client, integration, consultant):
    client.force_login(consultant)
    data = _settings_data(integration, **{"credentials-client_secret": "new-secret"})
    client.post(_url("integration_settings", integration), data)
    integration.refresh_from_db()
    assert integration.credentials["client_secret"] == "new-secret"


def test_a_base_url_on_an_internal_host_is_refused(client, integration, consultant):
    client.force_login(consultant)
    for address in ("http://169.254.169.254/latest", "http://10.0.0.7/V22", "http://db:5432/"):
        data = _settings_data(integration, **{"settings-base_url": address})
        response = client.post(_url("integration_settings", integration), data)
        assert response.status_code == 200
        assert response.context["settings_form"].errors["base_url"]
        integration.refresh_from_db()
        assert integration.base_url == "http://127.0.0.1:8101/V22"


def test_the_model_refuses_an_internal_host_whatever_the_form_offers(integration):
    from django.core.exceptions import ValidationError

    integration.base_url = "https://10.0.0.7/V22"
    with pytest.raises(ValidationError, match="loopback, private or link-local"):
        integration.full_clean()


def test_moving_to_another_address_forgets_the_tokens(client, integration, consultant):
    integration.credentials = {**integration.credentials, "access_token": "a", "refresh_token": "r"}
    integration.save()
    client.force_login(consultant)
    data = _settings_data(integration, **{"settings-base_url": "https://api.online.unit4.nl/V22"})
    response = client.post(_url("integration_settings", integration), data, follow=True)
    assert "Press Connect" in response.text
    integration.refresh_from_db()
    assert integration.base_url == "https://api.online.unit4.nl/V22"
    assert not integration.is_connected
    assert integration.credentials["client_secret"] == "demo-secret"


# --- connecting ----------------------------------------------------------------------


def test_connect_sends_the_consultant_to_the_package_with_a_signed_state(
    client, at_simulator, consultant
):
    client.force_login(consultant)
    response = client.post(_url("integration_connect", at_simulator))
    target = urlsplit(response["Location"])
    query = parse_qs(target.query)
    assert (
        f"{target.scheme}://{target.netloc}{target.path}"
        == at_simulator.base_url + "/OAuth/Authorize"
    )
    assert query["client_id"] == ["cloud-portal-demo"]
    assert query["redirect_uri"] == [
        "http://127.0.0.1:8000" + _url("integration_oauth_callback", at_simulator)
    ]
    assert query["state"][0]


def test_the_full_connect_round_trip_stores_the_tokens_encrypted(client, at_simulator, consultant):
    client.force_login(consultant)
    response = _come_back(client, _go_to_package(client, at_simulator))
    assert "Connected to Multivers Online." in response.text
    assert "Connected since" in response.text
    at_simulator.refresh_from_db()
    assert at_simulator.is_connected
    assert at_simulator.connected_at and at_simulator.token_refreshed_at
    assert at_simulator.connection_error == ""
    raw = _raw_credentials(at_simulator)
    for secret in ("access_token", "refresh_token", "client_secret"):
        assert at_simulator.credentials[secret] not in raw
    assert at_simulator.credentials["access_token"] not in response.text


def test_a_grant_the_package_refuses_is_explained(client, at_simulator, consultant):
    at_simulator.credentials = {"client_id": "unknown-client", "client_secret": "x"}
    at_simulator.save()
    client.force_login(consultant)
    response = _come_back(client, _go_to_package(client, at_simulator))
    assert "Multivers Online did not grant access: unauthorized_client" in response.text
    assert "press Connect again" in response.text
    at_simulator.refresh_from_db()
    assert not at_simulator.is_connected
    assert at_simulator.connection_error == "unauthorized_client"


def test_a_wrong_client_secret_is_explained(client, at_simulator, consultant):
    at_simulator.credentials = {"client_id": "cloud-portal-demo", "client_secret": "wrong"}
    at_simulator.save()
    client.force_login(consultant)
    response = _come_back(client, _go_to_package(client, at_simulator))
    assert "Client authentication failed." in response.text
    at_simulator.refresh_from_db()
    assert not at_simulator.is_connected
    assert "Client authentication failed." in at_simulator.connection_error


def test_an_answer_with_a_forged_state_is_ignored(client, at_simulator, consultant):
    client.force_login(consultant)
    answer = _go_to_package(client, at_simulator)
    back = urlsplit(answer.headers["location"])
    code = parse_qs(back.query)["code"][0]
    response = client.get(f"{back.path}?code={code}&state=forged", follow=True)
    assert "could not be verified" in response.text
    at_simulator.refresh_from_db()
    assert not at_simulator.is_connected


def test_an_answer_for_another_session_is_ignored(client, at_simulator, consultant):
    client.force_login(consultant)
    answer = _go_to_package(client, at_simulator)
    client.logout()
    client.force_login(consultant)  # a new session: the state's nonce is gone
    response = _come_back(client, answer)
    assert "could not be verified" in response.text
    at_simulator.refresh_from_db()
    assert not at_simulator.is_connected


def test_disconnect_forgets_the_tokens_and_keeps_the_client(client, at_simulator, consultant):
    client.force_login(consultant)
    _come_back(client, _go_to_package(client, at_simulator))
    response = client.post(_url("integration_disconnect", at_simulator), follow=True)
    assert "Disconnected from Multivers Online." in response.text
    at_simulator.refresh_from_db()
    assert not at_simulator.is_connected
    assert "access_token" not in at_simulator.credentials
    assert at_simulator.connected_at is None
    assert at_simulator.credentials["client_secret"] == "demo-secret"


# --- the ERP's intake token ----------------------------------------------------------


def test_a_new_intake_token_is_shown_once_and_only_its_hash_is_kept(
    client, integration, consultant
):
    client.force_login(consultant)
    response = client.post(_url("intake_token_issue", integration))
    token = response.context["new_intake_token"]
    assert token in response.text
    assert response["Cache-Control"] == "no-store"
    integration.refresh_from_db()
    assert integration.intake_token_hash == hash_intake_token(token)
    again = client.get(_url("integration_settings", integration))
    assert token not in again.text
    assert integration.intake_token_prefix in again.text


def test_revoking_the_intake_token_stops_it(client, integration, consultant):
    integration.issue_intake_token()
    client.force_login(consultant)
    response = client.post(_url("intake_token_revoke", integration), follow=True)
    assert "revoked" in response.text
    integration.refresh_from_db()
    assert integration.intake_token_hash is None


def test_the_settings_speak_dutch_when_asked(client, integration, consultant):
    client.force_login(consultant)
    client.cookies["django_language"] = "nl"
    text = client.get(_url("integration_settings", integration)).text
    assert "Instellingen" in text
    assert "Koppelen" in text
