"""The upload service's stand-in: send each ``fmuta6.csv`` Reflex 3000 drops into a folder.

    manage.py erp_watch FOLDER --integration 1 [--url http://127.0.0.1:8000] [--token cp_…]
                               [--interval 2] [--once]

What the service on the customer's PC does. A file that appears (and has stopped
growing) is first moved into ``FOLDER/outbox/`` under a name of its own, so the ERP can
write the next one at once and nothing is overwritten. Every file in the outbox is then
sent to ``POST /api/v1/uploads`` with its name as the Idempotency-Key, so a try whose
answer was lost is answered with the same run instead of storing it twice. Taken: moved
to ``FOLDER/sent/fmuta6-run-<number>.csv``. Refused: moved to ``FOLDER/refused/`` with the
portal's reasons beside it (``….errors.json``). Portal down or busy: left in the outbox
and tried again on the next pass, so no file is lost.

The other way: after each pass it asks ``GET /api/v1/open-items`` (``Accept: text/csv``)
and, when a newer import finished (the ``X-Open-Items-Cursor`` header moved on), writes
the answer as ``FOLDER/dbopen.csv`` for Reflex 3000 to import: first into a temporary
file, then renamed over the old one, so the ERP never reads half a file.
"""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from django.core.management.base import BaseCommand, CommandError

from integrations.models import Integration

DROPPED = "fmuta6.csv"
OPEN_ITEMS = "dbopen.csv"
# The portal's answers that say the file itself is wrong: resending it cannot help.
_REFUSED = {400, 413, 415, 422}


class Command(BaseCommand):
    help = "Watch a folder for Reflex 3000's fmuta6.csv and send each file to the portal once."

    def add_arguments(self, parser) -> None:  # type: ignore[no-untyped-def]
        parser.add_argument("folder", type=Path, help="The folder Reflex 3000 writes into.")
        parser.add_argument("--integration", type=int, required=True, help="Integration id.")
        parser.add_argument("--url", default="http://127.0.0.1:8000", help="The portal's address.")
        parser.add_argument(
            "--token",
            default=os.environ.get("ERP_WATCH_TOKEN"),
            help="The intake token (or ERP_WATCH_TOKEN); without it a fresh one is issued.",
        )
        parser.add_argument(
            "--interval", type=float, default=2.0, help="Seconds between passes (default 2)."
        )
        parser.add_argument("--once", action="store_true", help="One pass, then stop.")

    def handle(self, *args: Any, **options: Any) -> None:
        folder: Path = options["folder"]
        if not folder.is_dir():
            raise CommandError(f"{folder} is not a folder.")
        integration = Integration.objects.filter(pk=options["integration"]).first()
        if integration is None:
            raise CommandError(f"No integration with id {options['integration']}.")
        watcher = Watcher(
            folder,
            url=options["url"].rstrip("/") + "/api/v1/uploads",
            open_items_url=options["url"].rstrip("/") + "/api/v1/open-items",
            token=options["token"] or integration.issue_intake_token(),
            say=self.stdout.write,
        )
        if options["once"]:
            watcher.run_pass()
            return
        self.stdout.write(f"Watching {folder / DROPPED} for integration {integration.pk}.")
        while True:
            watcher.run_pass()
            time.sleep(options["interval"])


class Watcher:
    def __init__(
        self, folder: Path, *, url: str, token: str, say: Any, open_items_url: str | None = None
    ) -> None:
        self.folder, self.url, self.token, self.say = folder, url, token, say
        self.open_items_url = open_items_url
        self.outbox = folder / "outbox"
        self._last_seen: tuple[int, float] | None = None
        self._cursor: str | None = None  # the import whose open items are in the folder

    def run_pass(self) -> None:
        self.take_dropped()
        for path in sorted(self.outbox.glob("*.csv")) if self.outbox.is_dir() else []:
            if not self.send(path):
                break  # the portal is not taking files now; keep their order for the next pass
        if self.open_items_url:
            self.fetch_open_items()

    def fetch_open_items(self) -> None:
        """Write dbopen.csv when an import newer than the one in the folder finished."""
        assert self.open_items_url is not None
        try:
            answer = httpx.get(
                self.open_items_url,
                headers={"Authorization": f"Bearer {self.token}", "Accept": "text/csv"},
                timeout=60,
            )
        except httpx.HTTPError:
            return  # the next pass asks again; the folder keeps the last file
        cursor = answer.headers.get("X-Open-Items-Cursor")
        if answer.status_code != 200 or cursor in (None, "0", self._cursor):
            return
        partial = self.folder / f".{OPEN_ITEMS}.partial"
        partial.write_bytes(answer.content)
        os.replace(partial, self.folder / OPEN_ITEMS)
        self._cursor = cursor
        self.say(f"Wrote {OPEN_ITEMS}: the open items of import #{cursor}.")

    def take_dropped(self) -> None:
        """Move a dropped file into the outbox once it has stopped growing."""
        dropped = self.folder / DROPPED
        try:
            stat = dropped.stat()
        except FileNotFoundError:
            self._last_seen = None
            return
        seen = (stat.st_size, stat.st_mtime)
        # Still being written when it changed since the last look (or this is the first).
        if seen != self._last_seen and time.time() - stat.st_mtime < 1:
            self._last_seen = seen
            return
        self._last_seen = None
        self.outbox.mkdir(exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        dropped.replace(self.outbox / f"fmuta6-{stamp}.csv")

    def send(self, path: Path) -> bool:
        """True when the portal answered for the file (taken or refused); False to retry."""
        try:
            answer = httpx.post(
                self.url,
                files={"file": (DROPPED, path.read_bytes(), "text/csv")},
                headers={
                    "Authorization": f"Bearer {self.token}",
                    "Idempotency-Key": f"erp-watch-{path.name}",
                },
                timeout=60,
            )
        except httpx.HTTPError as exc:
            self.say(f"The portal cannot be reached ({exc}); {path.name} waits in the outbox.")
            return False
        if answer.status_code in (200, 201):
            run = answer.json()
            self._move(path, "sent", f"fmuta6-run-{run['number']}.csv")
            self.say(f"Sent {path.name}: run #{run['number']} ({run['status']}), {run['url']}")
            return True
        if answer.status_code in _REFUSED:
            target = self._move(path, "refused", path.name)
            target.with_suffix(".errors.json").write_text(answer.text, encoding="utf-8")
            detail = _detail(answer)
            self.say(f"The portal refused {path.name} (HTTP {answer.status_code}): {detail}")
            return True
        self.say(f"The portal answered HTTP {answer.status_code}; {path.name} waits in the outbox.")
        return False

    def _move(self, path: Path, where: str, name: str) -> Path:
        target_dir = self.folder / where
        target_dir.mkdir(exist_ok=True)
        target = target_dir / name
        path.replace(target)
        return target


def _detail(answer: httpx.Response) -> str:
    try:
        return str(json.loads(answer.text).get("detail", answer.text))
    except (ValueError, AttributeError):
        return answer.text
