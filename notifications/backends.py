"""The embedded default's mail: one ``.eml`` file per message under ``var/mail/``.

Django's file backend appends every message of a connection to one ``.log`` file; a
real ``.eml`` file opens in any mail program, so people can see what was sent.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.core.mail.backends.base import BaseEmailBackend
from django.utils import timezone


class EmlFileBackend(BaseEmailBackend):
    def __init__(self, *, file_path: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.folder = Path(file_path)

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        self.folder.mkdir(parents=True, exist_ok=True)
        for message in email_messages:
            # Sorts by time; the random part keeps two mails of one second apart.
            name = f"{timezone.now():%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:8]}.eml"
            target = self.folder / name
            partial = target.with_suffix(".part")
            partial.write_bytes(message.message().as_bytes())
            partial.replace(target)  # a reader never sees half a mail
        return len(email_messages)


def mail_destination() -> str:
    """Where the default mailer puts mail, for people to find it (the demo prints it)."""
    mailer: dict[str, Any] = settings.MAILERS["default"]
    options: dict[str, Any] = mailer.get("OPTIONS", {})
    if mailer["BACKEND"] == f"{__name__}.EmlFileBackend":
        return f"{options['file_path']}/ (one .eml file per mail)"
    if "host" in options:
        return f"the mail server at {options['host']}:{options.get('port') or 'its default port'}"
    return str(mailer["BACKEND"])
