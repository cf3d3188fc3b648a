"""The ERP stand-in: send a realistic batch through the real intake API, as Reflex 3000 does.

    manage.py erp_send --integration 1 [--count 40] [--url http://127.0.0.1:8000] [--token cp_…]

Mostly good records (customers and suppliers first, then the invoices and journal
entries that name them), plus a few that the package itself refuses with the messages
people meet in practice, so a demo run has failed lines to open, correct and re-offer.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import httpx
from django.core.management.base import BaseCommand, CommandError

from integrations.canonical import example_record, identifier_of
from integrations.connectors.registry import get_connector_class
from integrations.models import Integration

# A busy portal is asked this many times at most, waiting as it says but never longer than this.
_BUSY_TRIES = 5
_LONGEST_WAIT = 60

# Of every ten records: this many relations, invoices per kind, and journal entries.
_MIX = (
    ("customer", 3),
    ("supplier", 2),
    ("sales_invoice", 3),
    ("purchase_invoice", 1),
    ("journal_entry", 1),
)


class Command(BaseCommand):
    help = "Send a batch of records to the portal's intake API, as the Reflex 3000 ERP would."

    def add_arguments(self, parser) -> None:  # type: ignore[no-untyped-def]
        parser.add_argument("--integration", type=int, required=True, help="Integration id.")
        parser.add_argument(
            "--count", type=int, default=40, help="Records in the batch (default 40)."
        )
        parser.add_argument("--url", default="http://127.0.0.1:8000", help="The portal's address.")
        parser.add_argument("--token", help="The intake token; without it a fresh one is issued.")
        parser.add_argument(
            "--good", action="store_true", help="Leave out the records the package refuses."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        integration = Integration.objects.filter(pk=options["integration"]).first()
        if integration is None:
            raise CommandError(f"No integration with id {options['integration']}.")
        token = options["token"] or integration.issue_intake_token()
        records = batch(integration.connector, options["count"], with_errors=not options["good"])
        answer = _post_until_taken(
            options["url"].rstrip("/") + "/api/v1/runs",
            content=json.dumps({"records": records}),
            headers={
                "Authorization": f"Bearer {token}",
                "Content-Type": "application/json",
                "Idempotency-Key": f"erp-send-{uuid.uuid4()}",
            },
        )
        if answer.status_code not in (200, 201):
            raise CommandError(
                f"The portal refused the batch (HTTP {answer.status_code}): {answer.text}"
            )
        run = answer.json()
        self.stdout.write(
            f"Sent {len(records)} records: run #{run['number']} ({run['status']}), {run['url']}"
        )


def _post_until_taken(url: str, *, content: str, headers: dict[str, str]) -> httpx.Response:
    """POST, and when the portal answers busy (503/429 with Retry-After) wait and resend.

    The same Idempotency-Key goes with every try, so a batch the portal did take
    before answering is answered again rather than stored twice.
    """
    for _ in range(_BUSY_TRIES - 1):
        answer = httpx.post(url, content=content, headers=headers, timeout=60)
        wait = answer.headers.get("Retry-After", "")
        if answer.status_code not in (429, 503) or not wait.isdigit():
            return answer
        time.sleep(min(int(wait), _LONGEST_WAIT))
    return httpx.post(url, content=content, headers=headers, timeout=60)


def batch(connector: str, count: int, *, with_errors: bool = True) -> list[dict[str, Any]]:
    """``count`` records for a company on ``connector``, relations first."""
    per_kind = {kind: max(1, count * share // 10) for kind, share in _MIX}
    per_kind["customer"] += count - sum(per_kind.values())
    records: dict[str, list[dict[str, Any]]] = {}
    for kind, wanted in per_kind.items():
        relations = per_kind["customer" if kind != "purchase_invoice" else "supplier"]
        # Invoices name relation n % 100 of the examples: keep n below the relations sent.
        numbers = (
            range(wanted)
            if kind in ("customer", "supplier", "journal_entry")
            else [n * 100 + n % max(relations, 1) for n in range(wanted)]
        )
        records[kind] = [example_record(kind, n, package=connector) for n in numbers]
    if with_errors:
        get_connector_class(connector).spoil_examples(records)
    return [
        {"kind": kind, "identifier": identifier_of(kind, data), "data": data}
        for kind, _ in _MIX
        for data in records[kind]
    ]
