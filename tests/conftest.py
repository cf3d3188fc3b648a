"""Shared set-up: two companies, a user of every role, an outsider, an integration.

Every view test gets access checks for free by asking for these fixtures. Add
fixtures of your own in the conftest.py of your test folder, not here.
"""

from __future__ import annotations

import os

import pytest
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.utils import translation

from integrations.models import Integration
from portal.models import Company, Membership, Role

PASSWORD = "correct-horse-battery"


def require_service(name: str, reachable: bool, hint: str) -> None:
    """In CI a missing service is a failure that names it; locally, a skip."""
    if reachable:
        return
    message = f"{name} is not reachable: {hint}"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # PBKDF2's 1.2M rounds cost ~0.4 s per login; tests check behaviour, not hash strength.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _english_after_each_test():
    # A request in Dutch leaves Dutch active in this thread afterwards; without this,
    # messages built later with gettext come out in Dutch in unrelated tests.
    yield
    translation.activate(django_settings.LANGUAGE_CODE)


@pytest.fixture
def company(db) -> Company:
    return Company.objects.create(name="Bakkerij De Vries BV", slug="de-vries", reflex_code="RX001")


@pytest.fixture
def other_company(db) -> Company:
    return Company.objects.create(name="Jansen Transport BV", slug="jansen", reflex_code="RX002")


def _user(username: str, company: Company | None, role: str | None):
    user = get_user_model().objects.create_user(username=username, password=PASSWORD)
    if company is not None and role is not None:
        Membership.objects.create(user=user, company=company, role=role)
    return user


@pytest.fixture
def viewer(company):
    return _user("viewer", company, Role.VIEWER)


@pytest.fixture
def editor(company):
    return _user("editor", company, Role.EDITOR)


@pytest.fixture
def consultant(company, other_company):
    user = _user("consultant", company, Role.CONSULTANT)
    Membership.objects.create(user=user, company=other_company, role=Role.CONSULTANT)
    return user


@pytest.fixture
def outsider(other_company):
    return _user("outsider", other_company, Role.EDITOR)


@pytest.fixture
def integration(company) -> Integration:
    return Integration.objects.create(
        company=company,
        name="Accounting link",
        connector="multivers",
        base_url="http://127.0.0.1:8101/V22",
        settings={"database": "MVL00001"},
        credentials={"client_id": "cloud-portal-demo", "client_secret": "demo-secret"},
    )


@pytest.fixture
def other_integration(other_company) -> Integration:
    return Integration.objects.create(
        company=other_company,
        name="Accounting link",
        connector="exact",
        base_url="http://127.0.0.1:8102",
        settings={"division": 123456},
        credentials={"client_id": "cloud-portal-demo", "client_secret": "demo-secret"},
    )
