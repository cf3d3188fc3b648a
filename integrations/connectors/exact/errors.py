"""Exact Online's error bodies → (message, {canonical field: message}).

Exact packs several messages into one string, one a line, each "Subject: object"
("Required: Journal", "Not allowed: VAT code"), in English or Dutch. The object names
the field; which invoice line it concerns is read from the body we sent.
"""

from __future__ import annotations

import json
import re
from typing import Any

import httpx

# (pattern on the message, canonical field); a field starting with "line." concerns one
# invoice line, "date" the record's own date field, "number" its natural key.
_SUBJECTS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern, re.I), field)
    for pattern, field in (
        (r"document number|boekstuknummer|entry number", "number"),
        (r"not balanced|niet in balans|entrylines|boekingsregels", "lines"),
        (r"\bamount\b|\bbedrag\b", "line.amount"),
        (r"financial year|period|boekjaar|periode", "date"),
        (r"vat code|btw-code|btw code", "line.vat_code"),
        (r"cost cent(er|re)|kostenplaats", "line.cost_centre"),
        (r"g/l account|grootboek|: account\b|\baccount$", "line.gl_account"),
        (r"customer|supplier|relationship|klant|leverancier|relatie", "relation_code"),
        (r"journal|dagboek", "journal"),
        (r"vat number|btw-nummer|btw nummer", "vat_number"),
        (r"chamber of commerce|kvk", "coc_number"),
        (r"e-?mail", "email"),
        (r"\bname\b|\bnaam\b", "name"),
        (r"\bcode\b", "code"),
    )
)
_LINE_FIELD_IN_BODY = {
    "vat_code": "VATCode",
    "cost_centre": "CostCenter",
    "gl_account": "GLAccount",
}
_LINES_KEYS = ("SalesEntryLines", "PurchaseEntryLines", "GeneralJournalEntryLines")
_RELATIONS = frozenset({"customer", "supplier"})


def error_messages(response: httpx.Response) -> list[str]:
    """The messages in ``{"error":{"message":{"value":…}}}``, one per line."""
    try:
        answer = response.json()
    except ValueError:
        return []
    error = answer.get("error") if isinstance(answer, dict) else None
    if not isinstance(error, dict):
        return []
    message = error.get("message")
    value = message.get("value") if isinstance(message, dict) else message
    return [line.strip() for line in str(value or "").splitlines() if line.strip()]


def field_of(kind: str, message: str, sent: dict[str, Any]) -> str | None:
    """The canonical field a message concerns, or None when it names none we know."""
    subject = message.split(":", 1)[1] if ":" in message else message
    for pattern, field in _SUBJECTS:
        if not (pattern.search(subject) or pattern.search(message)):
            continue
        if field == "number":
            return {"journal_entry": "entry_number"}.get(
                kind, "invoice_number" if kind not in _RELATIONS else "code"
            )
        if field == "date":
            return "entry_date" if kind == "journal_entry" else "invoice_date"
        if field.startswith("line."):
            if kind in _RELATIONS:
                continue
            return _line_field(field.removeprefix("line."), message, sent)
        if kind in _RELATIONS and field in ("relation_code", "journal"):
            continue
        return field
    return None


def _line_field(field: str, message: str, sent: dict[str, Any]) -> str:
    """``lines.N.field`` when one line can be told apart, else ``lines``."""
    lines: list[Any] = next(
        (sent[key] for key in _LINES_KEYS if isinstance(sent.get(key), list)), []
    )
    if len(lines) == 1:
        return f"lines.0.{field}"
    theirs = _LINE_FIELD_IN_BODY[field]
    named = [i for i, line in enumerate(lines) if line.get(theirs) and str(line[theirs]) in message]
    if len(named) == 1:
        return f"lines.{named[0]}.{field}"
    # "Mandatory: Account" concerns the line without one; "Not allowed: VAT code" the
    # line with one.
    wants_missing = bool(re.search(r"mandatory|required|verplicht", message, re.I))
    candidates = [i for i, line in enumerate(lines) if bool(line.get(theirs)) != wants_missing]
    if len(candidates) == 1:
        return f"lines.{candidates[0]}.{field}"
    return "lines"


def parse_exact_error(kind: str, response: httpx.Response) -> tuple[str, dict[str, str]]:
    messages = error_messages(response)
    sent = _sent_body(response)
    field_errors: dict[str, str] = {}
    for message in messages:
        field = field_of(kind, message, sent)
        if field is not None:
            field_errors[field] = (
                f"{field_errors[field]}\n{message}" if field in field_errors else message
            )
    return "\n".join(messages), field_errors


def _sent_body(response: httpx.Response) -> dict[str, Any]:
    try:
        body = json.loads(response.request.content or b"{}")
    except (ValueError, RuntimeError):
        return {}
    return body if isinstance(body, dict) else {}
