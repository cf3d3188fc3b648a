"""A real SMTP server (aiosmtpd) in the test, and runs with failed lines to mail about."""

from __future__ import annotations

import asyncio
import email
import socket
import threading
import time
from email.message import EmailMessage
from email.policy import default

import pytest
from aiosmtpd.controller import Controller
from django.utils import timezone

from runs.models import LineStatus, Run, RunLine, RunStatus, Trigger


class Mailbox:
    """The server's side: what it accepted, and knobs to refuse or stall."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.refusals: list[str] = []  # answers to DATA before accepting, e.g. "451 …"
        self.hold = threading.Event()  # set: MAIL FROM waits until it is cleared
        self.holding = threading.Event()  # set by the server while it waits

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        while self.hold.is_set():
            self.holding.set()
            await asyncio.sleep(0.05)
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.refusals:
            return self.refusals.pop(0)
        message = email.message_from_bytes(envelope.original_content, policy=default)
        self.messages.append(message)  # type: ignore[arg-type]
        return "250 OK"

    def wait_for(self, count: int, timeout: float = 30) -> list[EmailMessage]:
        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.messages

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if address in str(m["To"])]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp(settings, monkeypatch):
    """An SMTP server on a free port; Django (and workers started later) send to it."""
    mailbox = Mailbox()
    port = _free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": port, "timeout": 10},
        }
    }
    monkeypatch.setenv("EMAIL_URL", f"smtp://127.0.0.1:{port}")
    yield mailbox
    mailbox.hold.clear()
    controller.stop()


@pytest.fixture
def mail_now(settings):
    """No digest window: a failing run is mailed as soon as it finishes."""
    settings.MAIL_DIGEST_WINDOW_SECONDS = 0
    return settings


def part(message: EmailMessage, subtype: str) -> str:
    body = message.get_body(preferencelist=(subtype,))
    assert body is not None and body.get_content_type() == f"text/{subtype}"
    return body.get_content()


def failed_run(integration, identifiers: list[str]) -> Run:
    """A finished run whose lines all failed with Multivers' "Klant … bestaat niet"."""
    number = integration.last_run_number + 1
    integration.last_run_number = number
    integration.save(update_fields=["last_run_number"])
    run = Run.objects.create(
        integration=integration,
        number=number,
        trigger=Trigger.INTAKE,
        status=RunStatus.FINISHED,
        total=len(identifiers),
        failed=len(identifiers),
        finished_at=timezone.now(),
    )
    for position, identifier in enumerate(identifiers, start=1):
        RunLine.objects.create(
            run=run,
            integration=integration,
            position=position,
            kind="customer",
            identifier=identifier,
            payload={},
            status=LineStatus.FAILED,
            message=f"Klant '{identifier}' bestaat niet.",
        )
    return run


from tests.runs.conftest import (  # noqa: E402, F401  the engine's fixtures, for real runs
    broker_url,
    connected,
    eager,
    fast_engine,
    multivers,
    shared_state,
    worker_factory,
)
