"""Logging in: where people land, the lockout and its cool-off, logout by POST only."""

from __future__ import annotations

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.urls import reverse

from tests.conftest import PASSWORD

LOGIN = "/accounts/login/"


def _login(client, username: str, password: str = PASSWORD):
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR="10.0.0.7")


def test_a_member_of_one_company_lands_on_my_company_with_integrations(client, editor, company):
    # The manual: "Select My company to view your connections. To monitor your
    # connections, select Integrations."
    response = _login(client, "editor")
    assert response.status_code == 302
    landing = client.get(response["Location"])
    assert landing.status_code == 302
    assert landing["Location"] == reverse("my_company")
    page = client.get(landing["Location"])
    assert company.name in page.text
    assert reverse("integration_list", kwargs={"company_slug": company.slug}) in page.text
    assert ">Integrations</a>" in page.text


def test_a_member_of_several_companies_lands_on_the_overview(
    client, consultant, company, other_company
):
    landing = client.get(_login(client, "consultant")["Location"])
    assert landing["Location"] == reverse("overview")
    page = client.get(reverse("my_company"))
    assert company.name in page.text and other_company.name in page.text


def test_a_wrong_password_says_so_without_saying_which_part(client, editor):
    response = _login(client, "editor", "wrong")
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


def test_five_failures_lock_the_account_with_a_clear_page(client, editor, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert _login(client, "editor", "wrong").status_code == 200
    locked = _login(client, "editor", "wrong")
    assert locked.status_code == 429
    assert "Too many failed log-in attempts" in locked.text
    # Even the right password is refused while locked.
    assert _login(client, "editor").status_code == 429
    assert "_auth_user_id" not in client.session


def test_the_lock_lifts_after_the_cool_off(client, editor, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _login(client, "editor", "wrong")
    assert _login(client, "editor").status_code == 429
    # Move the failures back past the cool-off instead of waiting 15 minutes.
    AccessAttempt.objects.update(
        attempt_time=AccessAttempt.objects.get().attempt_time - timedelta(minutes=16)
    )
    assert _login(client, "editor").status_code == 302
    assert client.session["_auth_user_id"] == str(editor.pk)


def test_the_lock_is_per_username_and_address(client, editor, viewer, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _login(client, "editor", "wrong")
    assert _login(client, "viewer").status_code == 302
    other_address = client.post(
        LOGIN, {"username": "editor", "password": PASSWORD}, REMOTE_ADDR="10.0.0.8"
    )
    assert other_address.status_code == 302


def test_the_admin_login_is_locked_out_too(client, settings, django_user_model):
    django_user_model.objects.create_superuser("root", password=PASSWORD)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(
            "/admin/login/", {"username": "root", "password": "wrong"}, REMOTE_ADDR="10.0.0.7"
        )
    response = client.post(
        "/admin/login/", {"username": "root", "password": PASSWORD}, REMOTE_ADDR="10.0.0.7"
    )
    assert response.status_code == 429


@pytest.mark.django_db
def test_logout_is_a_post(client, editor):
    client.force_login(editor)
    assert client.get("/accounts/logout/").status_code == 405
    assert "_auth_user_id" in client.session
    response = client.post("/accounts/logout/")
    assert response.status_code == 302 and response["Location"] == reverse("login")
    assert "_auth_user_id" not in client.session
