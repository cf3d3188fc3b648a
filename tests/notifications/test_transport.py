"""EMAIL_URL becomes Django's default mailer; the embedded default writes real .eml files."""

from __future__ import annotations

import email
from email.policy import default

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.mail import EmailMultiAlternatives

from notifications.backends import EmlFileBackend
from portal.env import env_mailer


def test_smtp_with_starttls_and_an_encoded_password(monkeypatch):
    monkeypatch.setenv(
        "EMAIL_URL", "smtp+tls://portal%40example.com:p%40ss%3Aword@smtp.example.com:587"
    )
    mailer = env_mailer("EMAIL_URL", default_dir="/unused", timeout=7)
    assert mailer["BACKEND"] == "django.core.mail.backends.smtp.EmailBackend"
    assert mailer["OPTIONS"] == {
        "host": "smtp.example.com",
        "port": 587,
        "username": "portal@example.com",
        "password": "p@ss:word",
        "use_tls": True,
        "use_ssl": False,
        "timeout": 7,
    }


def test_implicit_tls_and_the_default_port(monkeypatch):
    monkeypatch.setenv("EMAIL_URL", "smtps://mail.example.com")
    options = env_mailer("EMAIL_URL", default_dir="/unused", timeout=10)["OPTIONS"]
    assert (options["use_ssl"], options["use_tls"], options["port"]) == (True, False, None)


def test_unset_writes_eml_files_in_the_default_folder(monkeypatch):
    monkeypatch.delenv("EMAIL_URL", raising=False)
    mailer = env_mailer("EMAIL_URL", default_dir="/srv/var/mail", timeout=10)
    assert mailer == {
        "BACKEND": "notifications.backends.EmlFileBackend",
        "OPTIONS": {"file_path": "/srv/var/mail"},
    }


@pytest.mark.parametrize("value", ["http://mail.example.com", "smtp://", "file://"])
def test_a_bad_url_is_refused_by_name(monkeypatch, value):
    monkeypatch.setenv("EMAIL_URL", value)
    with pytest.raises(ImproperlyConfigured, match="EMAIL_URL"):
        env_mailer("EMAIL_URL", default_dir="/unused", timeout=10)


def test_each_message_is_one_eml_file_a_mail_program_can_read(tmp_path):
    backend = EmlFileBackend(file_path=str(tmp_path), alias="default")
    messages = []
    for n in range(2):
        message = EmailMultiAlternatives(f"Mail {n}", "plain body", to=["a@example.com"])
        message.attach_alternative("<p>html body</p>", "text/html")
        messages.append(message)
    assert backend.send_messages(messages) == 2

    files = sorted(tmp_path.glob("*.eml"))
    assert len(files) == 2 and not list(tmp_path.glob("*.part"))
    parsed = [email.message_from_bytes(f.read_bytes(), policy=default) for f in files]
    assert sorted(m["Subject"] for m in parsed) == ["Mail 0", "Mail 1"]
    assert parsed[0].get_body(preferencelist=("html",)).get_content().strip() == "<p>html body</p>"
