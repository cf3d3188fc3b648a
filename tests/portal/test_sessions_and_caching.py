"""Sessions end with the browser unless asked otherwise, and after a day idle; no page is cached."""

from __future__ import annotations

import pytest
from django.contrib.sessions.models import Session
from django.urls import reverse
from django.utils import timezone

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def _login(client, **extra):
    return client.post(reverse("login"), {"username": "editor", "password": PASSWORD, **extra})


def test_without_keep_me_logged_in_the_session_ends_with_the_browser(client, editor):
    assert _login(client).status_code == 302
    cookie = client.cookies["sessionid"]
    assert cookie["max-age"] == "" and cookie["expires"] == ""


def test_keep_me_logged_in_keeps_the_cookie_for_the_idle_limit(client, editor, settings):
    assert _login(client, remember="on").status_code == 302
    assert int(client.cookies["sessionid"]["max-age"]) == settings.SESSION_COOKIE_AGE


def test_the_login_page_offers_the_choice(client):
    page = client.get(reverse("login"))
    assert 'name="remember"' in page.text and "Keep me logged in" in page.text


def test_a_session_idle_past_the_limit_must_log_in_again(client, editor, company):
    _login(client, remember="on")
    Session.objects.update(expire_date=timezone.now() - timezone.timedelta(seconds=1))
    answer = client.get(reverse("my_company"))
    assert answer.status_code == 302 and answer["Location"].startswith(reverse("login"))


def test_a_session_in_use_is_renewed(client, editor, company, settings):
    _login(client)
    soon = timezone.now() + timezone.timedelta(minutes=10)
    Session.objects.update(expire_date=soon)
    session = client.session
    session["seen_at"] = 0  # last renewed long ago
    session.save()
    Session.objects.update(expire_date=soon)
    assert client.get(reverse("my_company")).status_code == 200
    renewed = Session.objects.get().expire_date
    assert renewed > timezone.now() + timezone.timedelta(seconds=settings.SESSION_COOKIE_AGE - 60)


def test_data_pages_and_the_api_are_not_cached(client, editor, integration):
    client.force_login(editor)
    page = client.get(reverse("run_history", args=[integration.company.slug, integration.pk]))
    assert "no-store" in page["Cache-Control"]
    token = integration.issue_intake_token()
    api = client.get("/api/v1/runs/1", headers={"Authorization": f"Bearer {token}"})
    assert "no-store" in api["Cache-Control"]
