"""The login lockout behind the TLS proxy: by username and the client's own address."""

from __future__ import annotations

import pytest

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"
PROXY = "10.0.0.1"


def _login(client, username: str, password: str, forwarded_for: str):
    return client.post(
        LOGIN,
        {"username": username, "password": password},
        REMOTE_ADDR=PROXY,
        HTTP_X_FORWARDED_FOR=forwarded_for,
    )


def test_behind_the_proxy_a_guesser_locks_only_their_own_address(client, editor, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _login(client, "editor", "wrong", "203.0.113.5")
    assert _login(client, "editor", PASSWORD, "203.0.113.5").status_code == 429
    # The real editor comes through the same proxy from their own address.
    assert _login(client, "editor", PASSWORD, "198.51.100.7").status_code == 302


def test_an_address_the_client_writes_itself_is_not_believed(client, editor, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    for n in range(settings.AXES_FAILURE_LIMIT):
        # The client prepends a different made-up address each time; the proxy appends the real one.
        _login(client, "editor", "wrong", f"192.0.2.{n}, 203.0.113.5")
    assert _login(client, "editor", PASSWORD, "192.0.2.99, 203.0.113.5").status_code == 429


def test_without_trusted_proxies_the_header_is_ignored(client, editor, settings):
    settings.TRUSTED_PROXY_COUNT = 0
    for n in range(settings.AXES_FAILURE_LIMIT):
        _login(client, "editor", "wrong", f"192.0.2.{n}")
    assert _login(client, "editor", PASSWORD, "192.0.2.99").status_code == 429
