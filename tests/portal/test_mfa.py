"""Two-step login: required of consultants and admins when MFA_REQUIRED is on, optional for customers."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def required(settings):
    settings.MFA_REQUIRED = True


def _login(client, username: str):
    answer = client.post(reverse("login"), {"username": username, "password": PASSWORD})
    assert answer.status_code == 302
    return answer


def _code(device: TOTPDevice, *, later: int = 0) -> str:
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=later):06d}"


def _set_up(client) -> list[str]:
    client.get(reverse("mfa_setup"))
    device = TOTPDevice.objects.get()
    answer = client.post(reverse("mfa_setup"), {"code": _code(device), "next": "/companies/"})
    assert answer.status_code == 200, answer.text
    return re.findall(r"<code>(\w+)</code>", answer.text)


def test_a_consultant_must_set_up_two_step_login_before_anything_else(client, consultant, required):
    _login(client, "consultant")
    page = client.get(reverse("my_company"))
    assert page.status_code == 302
    assert page["Location"].startswith(reverse("mfa_setup"))
    setup = client.get(page["Location"])
    assert "set up two-step login before you go on" in setup.text
    assert 'src="data:image/svg+xml' in setup.text


def test_a_wrong_code_does_not_turn_it_on(client, consultant, required):
    _login(client, "consultant")
    client.get(reverse("mfa_setup"))
    answer = client.post(reverse("mfa_setup"), {"code": "000000"})
    assert "That code is not right" in answer.text
    assert not TOTPDevice.objects.filter(confirmed=True).exists()
    assert client.get(reverse("my_company")).status_code == 302


def test_set_up_gives_ten_recovery_codes_and_opens_the_portal(client, consultant, required):
    _login(client, "consultant")
    codes = _set_up(client)
    assert len(codes) == 10
    assert client.get(reverse("my_company")).status_code == 200


def test_the_next_login_asks_for_a_code_and_takes_a_recovery_code_once(
    client, consultant, required, settings
):
    # django-otp makes each wrong code double the wait before the next try; not here.
    settings.OTP_TOTP_THROTTLE_FACTOR = settings.OTP_STATIC_THROTTLE_FACTOR = 0
    _login(client, "consultant")
    codes = _set_up(client)
    client.post(reverse("logout"))
    _login(client, "consultant")
    asked = client.get(reverse("my_company"))
    assert asked["Location"].startswith(reverse("mfa_verify"))
    wrong = client.post(reverse("mfa_verify"), {"code": "123456"})
    assert "That code is not right" in wrong.text
    used = client.post(reverse("mfa_verify"), {"code": codes[0], "next": "/companies/"})
    assert used.status_code == 302 and used["Location"] == "/companies/"
    assert client.get(reverse("my_company")).status_code == 200
    client.post(reverse("logout"))
    _login(client, "consultant")
    again = client.post(reverse("mfa_verify"), {"code": codes[0]})
    assert "That code is not right" in again.text


def test_the_next_login_takes_a_code_from_the_app(client, consultant, required):
    _login(client, "consultant")
    _set_up(client)
    client.post(reverse("logout"))
    _login(client, "consultant")
    device = TOTPDevice.objects.get()
    answer = client.post(reverse("mfa_verify"), {"code": _code(device, later=1)})
    assert answer.status_code == 302
    assert client.get(reverse("my_company")).status_code == 200


def test_an_admin_must_set_up_two_step_login_for_the_django_admin(
    client, django_user_model, required
):
    django_user_model.objects.create_superuser("root", password=PASSWORD)
    _login(client, "root")
    answer = client.get("/admin/")
    assert answer.status_code == 302 and answer["Location"].startswith(reverse("mfa_setup"))


def test_a_customer_is_not_forced_but_may_turn_it_on(client, editor, company, required):
    _login(client, "editor")
    assert client.get(reverse("my_company")).status_code == 200
    assert "Set up two-step login" in client.get(reverse("my_company")).text
    _set_up(client)
    client.post(reverse("logout"))
    _login(client, "editor")
    assert client.get(reverse("my_company"))["Location"].startswith(reverse("mfa_verify"))


def test_without_the_setting_a_consultant_logs_in_with_a_password_alone(
    client, consultant, settings
):
    settings.MFA_REQUIRED = False
    _login(client, "consultant")
    assert client.get(reverse("my_company")).status_code == 200
