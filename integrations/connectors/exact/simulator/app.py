"""A local stand-in of the Exact Online REST API (base ``http://host:port``).

What a connector codes against (facts in ACCOUNTING_APIS.md and docs/connectors.md,
which cites the source of each; the simulator's own choices marked *):

* ``GET /api/v1/current/Me`` → ``CurrentDivision`` 123456 (654321 exists too; any other
  division answers 403 "Forbidden - WrongDivision") and ``LanguageCode``: the knob
  ``user_language``. Messages come in that language ("Verplicht: Dagboek" for nl-NL).
* ``/api/v1/{division}/crm/Accounts``: POST creates (``Code`` is stored and answered
  right-aligned in 18 characters; a code in use answers 400 "In use: Code"*), GET lists
  with ``$filter`` (``Code eq`` matches the padded value only), ``$select``, ``$top``; GET
  and PUT ``crm/Accounts(guid'…')`` (PUT answers 204).
* ``salesentry/SalesEntries``, ``purchaseentry/PurchaseEntries``,
  ``generaljournalentry/GeneralJournalEntries``: POST, GET by ``(guid'…')``, GET with
  ``$filter``. The same ``YourRef`` twice is **accepted** (as real Exact does: only a
  reused ``EntryNumber`` / ``InvoiceNumber`` in the same journal answers 400 "In use:
  Document number"), so only a client's look-up before posting prevents a double
  booking. Lines come back as ``{"results": [...]}``*. Without an ``EntryNumber`` an
  entry gets the journal's next number.
* ``generaljournalentry/GeneralJournalEntryLines`` (read-only here): the lines of every
  general journal entry, each with ``ID``, ``EntryID``, ``EntryNumber``, ``LineNumber`` and
  the fields sent (``Notes``, ``Description``, ``GLAccount`` …).
* Read-only: ``financial/GLAccounts``, ``vat/VATCodes``, ``financial/Journals``,
  ``hrm/Costcenters``.
* POST answers 201; with ``Prefer: return=representation`` the body is ``{"d": record}``,
  without it ``{"d": {"ID" or "EntryID": guid}}``*. Lists: ``{"d": {"results": [...],
  "__next": url}}``, 60 a page, ``$skiptoken=guid'…'`` (see ``odata``). Validation 400,
  balance failures 500, in Exact's error shape. Without ``Accept: application/json`` the
  answer is XML (Exact's default), which a JSON client cannot read.
* Limits: 60 calls a minute and ``rate_limit_per_day`` (5000) a day with
  ``X-RateLimit-*`` headers (429 past them); more than ``error_limit`` (10) answers of
  400/401/403/404 on one endpoint within ``error_window_seconds`` (3600) block the key on
  that endpoint for the window (:data:`BLOCKED`); tokens per ``oauth``.
* With ``accept_duplicates`` a reused ``Code`` or entry number is booked as a second copy.
"""

from __future__ import annotations

import re
import uuid
from typing import TYPE_CHECKING, Any

from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from integrations.connectors.exact.simulator import entries, odata
from integrations.connectors.exact.simulator.entries import KINDS, PROPERTIES
from integrations.connectors.exact.simulator.language import translate
from integrations.simulators.common import (
    Faults,
    Policy,
    Simulator,
    build_app,
    drop_connection,
    json_body,
)
from integrations.simulators.oauth import OAuthWording, oauth_routes

if TYPE_CHECKING:
    from pathlib import Path

    from starlette.applications import Starlette
    from starlette.requests import Request

DEFAULTS = {
    "token_ttl": 600,
    "rate_limit_per_minute": 60,
    "rate_limit_per_day": 5000,
    "error_limit": 10,
    "error_window_seconds": 3600.0,
    "token_min_interval": 570.0,
    "token_calls_per_day": 200,
    "code_ttl": 180.0,
}
# What a key blocked by the error limit is answered. The message is the one integrators
# show their users ("API rate limit exceeded", 1Archive's help page on Exact's limits of
# July 2021); the status is not confirmed: 429, as Exact answers its other limits.
BLOCKED = (429, "API rate limit exceeded")
# The key of each entity's rows, which ``$skiptoken`` names.
_KEY_FIELDS = {
    "SalesEntries": "EntryID",
    "PurchaseEntries": "EntryID",
    "GeneralJournalEntries": "EntryID",
}
SERVICES = {
    "Accounts": "crm",
    "SalesEntries": "salesentry",
    "PurchaseEntries": "purchaseentry",
    "GeneralJournalEntries": "generaljournalentry",
    "GeneralJournalEntryLines": "generaljournalentry",
    "GLAccounts": "financial",
    "VATCodes": "vat",
    "Journals": "financial",
    "Costcenters": "hrm",
}
_RESOURCE = re.compile(r"^(\w+)(?:\(guid'([0-9a-fA-F-]{36})'\))?$")


class Division:
    """The records of one Exact division, indexed on the fields filters and duplicate checks use."""

    def __init__(self, number: int) -> None:
        self.number = number
        self.accounts = odata.Table("Code")
        self.entries = {
            name: odata.Table("YourRef", "EntryNumber", "InvoiceNumber") for name in KINDS
        }
        # The lines of the general journal entries, as their own entity.
        self.journal_lines = odata.Table("EntryID", "Notes")
        self.next_code = 1
        self.next_number: dict[str, int] = {}

    def add_account(
        self, body: dict[str, Any], *, accept_duplicates: bool = False
    ) -> tuple[list[str], bool, dict[str, Any]]:
        """Answer (messages, refused as duplicate, stored row)."""
        messages = entries.account_messages(body)
        if messages:
            return messages, False, {}
        code = str(body.get("Code") or "").strip()
        while not code:
            candidate, self.next_code = str(self.next_code), self.next_code + 1
            code = "" if self.accounts.with_value("Code", candidate.rjust(18)) else candidate
        if self.accounts.with_value("Code", code.rjust(18)) and not accept_duplicates:
            return ["In use: Code"], True, {}
        supplier = bool(body.get("IsSupplier"))
        row = {**body, "ID": str(uuid.uuid4()), "Code": code.rjust(18), "Division": self.number}
        row.update(IsSupplier=supplier, Status=body.get("Status") or ("A" if supplier else "C"))
        self.accounts.add(row, row["ID"])
        return [], False, row

    def change_account(self, key: str, body: dict[str, Any]) -> list[str]:
        row = {**self.accounts.rows[key], **body, "ID": key, "Division": self.number}
        messages = entries.account_messages(row)
        code = str(row.get("Code") or "").strip()
        if any(other["ID"] != key for other in self.accounts.with_value("Code", code.rjust(18))):
            messages.append("In use: Code")
        if not messages:
            self.accounts.replace(key, {**row, "Code": code.rjust(18)})
        return messages

    def add_entry(
        self, resource: str, body: dict[str, Any], *, accept_duplicates: bool = False
    ) -> tuple[int, list[str], bool, dict[str, Any]]:
        """Answer (status, messages, refused as duplicate, stored row)."""
        kind, table = KINDS[resource], self.entries[resource]
        messages = entries.entry_messages(kind, body, self.accounts.rows)
        if messages:
            return 400, messages, False, {}
        failure = entries.unbalanced(kind, body)
        if failure:
            return 500, [failure], False, {}
        journal = str(body[kind.journal_field])
        if self._in_use(table, body, journal) and not accept_duplicates:
            return 400, ["In use: Document number"], True, {}
        number = int(body.get("EntryNumber") or self.next_number.get(journal, 1))
        self.next_number[journal] = max(self.next_number.get(journal, 1), number + 1)
        key = str(uuid.uuid4())
        lines = [
            {
                **line,
                "ID": str(uuid.uuid4()),
                "EntryID": key,
                "EntryNumber": number,
                "LineNumber": n,
                "Division": self.number,
            }
            for n, line in enumerate(body[kind.lines], start=1)
        ]
        total = sum(entries.amount(line.get("AmountFC")) or 0 for line in lines)
        row = {
            **body,
            "EntryID": key,
            "EntryNumber": number,
            "Division": self.number,
            "AmountFC": float(total),
        }
        row[kind.lines] = {"results": lines}
        if kind.date_field:
            day = odata.to_date(body.get(kind.date_field)) or odata.to_date("2024-01-01")
            row[kind.date_field] = odata.from_date(day) if day else None
        table.add(row, key)
        if resource == "GeneralJournalEntries":
            for line in lines:
                self.journal_lines.add(line, line["ID"])
        return 201, [], False, row

    @staticmethod
    def _in_use(table: odata.Table, body: dict[str, Any], journal: str) -> bool:
        """Whether the entry's number is taken in its journal (``YourRef`` is free text)."""
        for field in ("EntryNumber", "InvoiceNumber"):
            value = body.get(field)
            if value not in (None, "") and any(
                odata.norm(row.get("Journal", row.get("JournalCode"))) == odata.norm(journal)
                for row in table.with_value(field, value)
            ):
                return True
        return False


def _division(request: Request) -> Division | Response:
    raw = request.path_params["division"]
    found = request.app.state.divisions.get(int(raw)) if raw.isdigit() else None
    return found if found is not None else odata.error(403, "Forbidden - WrongDivision")


async def me(request: Request) -> Response:
    language = request.app.state.sim.faults.user_language
    user = {
        "CurrentDivision": 123456,
        "FullName": "Demo User",
        "UserID": "8c7d4f1e-0b8a-4a55-9b27-3f0d7b3e9a01",
        "UserName": "demo@example.com",
        "Email": "demo@example.com",
        "LanguageCode": language,
    }
    return _as_asked(request, JSONResponse({"d": {"results": [user]}}))


async def resource(request: Request) -> Response:
    return _as_asked(request, await _resource(request))


async def _resource(request: Request) -> Response:
    division = _division(request)
    if isinstance(division, Response):
        return division
    match = _RESOURCE.match(request.path_params["resource"])
    name = match.group(1) if match else ""
    if SERVICES.get(name) != request.path_params["service"]:
        return odata.error(404, "Not found")
    key = match.group(2).lower() if match and match.group(2) else None
    if request.method == "GET":
        try:
            return _read(request, division, name, key)
        except odata.BadQuery as bad:
            return odata.error(400, str(bad))
    body = json_body(await request.body())
    if not isinstance(body, dict):
        return _refuse(request, 400, ["Invalid: JSON body"])
    if request.method == "POST" and key is None and name in ("Accounts", *KINDS):
        return _create(request, division, name, body)
    if request.method == "PUT" and key is not None and name == "Accounts":
        return _change(request, division, key, body)
    return odata.error(405, "Method not allowed")


_TABLES = ("Accounts", "GeneralJournalEntryLines", *KINDS)


def _table(division: Division, name: str) -> odata.Table:
    if name == "GeneralJournalEntryLines":
        return division.journal_lines
    return division.accounts if name == "Accounts" else division.entries[name]


def _read(request: Request, division: Division, name: str, key: str | None) -> Response:
    """A record or a page of a list; raises BadQuery for a query Exact refuses."""
    params = dict(request.query_params)
    known = PROPERTIES.get(name)
    groups = odata.parse_filter(params.get("$filter", ""), known)
    odata.parse_select(params.get("$select", ""), known)
    url = str(request.url.remove_query_params(list(params)))
    if name not in _TABLES:
        return odata.listing(_reference_rows(name, groups), url, params, "ID")
    table = _table(division, name)
    if key is not None:
        row = table.rows.get(key)
        return (
            JSONResponse({"d": odata.select(row, params.get("$select", ""))})
            if row
            else odata.error(404, "Not found")
        )
    return odata.listing(table.find(groups), url, params, _KEY_FIELDS.get(name, "ID"))


def _reference_rows(name: str, groups: list[odata.Conditions]) -> list[dict[str, Any]]:
    if name == "GLAccounts":
        codes = [v for group in groups for f, v in group if f == "Code"] or list(entries.GL_NAMES)
        rows = [entries.gl_account(code) for code in codes if entries.gl_code_exists(code)]
    elif name == "VATCodes":
        rows = [{"Code": code, "Description": text} for code, text in entries.VAT_CODES.items()]
    elif name == "Journals":
        rows = [
            {"Code": code, "Description": text, "Type": kind}
            for code, (text, kind) in entries.JOURNALS.items()
        ]
    else:
        rows = [{"Code": code, "Description": text} for code, text in entries.COST_CENTERS.items()]
    return [row for row in rows if odata.matches(row, groups)]


def _create(request: Request, division: Division, name: str, body: dict[str, Any]) -> Response:
    sim: Simulator = request.app.state.sim
    scope = str(division.number)
    twice = sim.faults.accept_duplicates
    if name == "Accounts":
        messages, duplicate, row = division.add_account(body, accept_duplicates=twice)
        status, entity, key, natural = (
            (400 if messages else 201),
            "Account",
            row.get("ID"),
            str(body.get("Code") or "").strip(),
        )
    else:
        status, messages, duplicate, row = division.add_entry(name, body, accept_duplicates=twice)
        entity, key = KINDS[name].entity, row.get("EntryID")
        natural = str(
            body.get("YourRef") or body.get("EntryNumber") or row.get("EntryNumber") or ""
        )
    if duplicate:
        sim.ledger.refuse(entity, natural, scope=scope)
    if messages:
        return _refuse(request, status, messages)
    sim.ledger.book(
        entity, natural or str(row.get("Code", "")).strip(), str(key), body, scope=scope
    )
    if sim.chance(sim.faults.drop_after_book_rate):
        return drop_connection(request)
    if "return=representation" in request.headers.get("prefer", ""):
        return JSONResponse({"d": row}, status_code=201)
    return JSONResponse({"d": {"ID" if name == "Accounts" else "EntryID": key}}, status_code=201)


def _change(request: Request, division: Division, key: str, body: dict[str, Any]) -> Response:
    if key not in division.accounts.rows:
        return odata.error(404, "Not found")
    messages = division.change_account(key, body)
    if messages:
        return _refuse(request, 400, messages)
    code = division.accounts.rows[key]["Code"].strip()
    request.app.state.sim.ledger.book(
        "Account", code, key, body, scope=str(division.number), update=True
    )
    return Response(status_code=204)


def _refuse(request: Request, status: int, messages: list[str]) -> Response:
    """Exact's error answer, in the connected user's language."""
    language = request.app.state.sim.faults.user_language
    return odata.error(status, *(translate(message, language) for message in messages))


def _as_asked(request: Request, response: Response) -> Response:
    """JSON only for a client that asks for it; Exact's default is XML (Atom)."""
    if "application/json" in request.headers.get("accept", ""):
        return response
    return Response(
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"/>',
        status_code=response.status_code,
        media_type="application/atom+xml",
    )


def _endpoint(path: str) -> str:
    """The endpoint Exact counts errors on: ``123456/salesentry/SalesEntries``."""
    if not path.startswith("/api/v1/"):
        return ""
    return re.sub(r"\(guid'[^']*'\)$", "", path.removeprefix("/api/v1/").rstrip("/"))


def _classify(path: str) -> tuple[str, str]:
    if path.startswith("/api/v1/"):
        return "api", path.split("/", 4)[3]
    if path == "/api/oauth2/token":
        return "token", ""
    return "other", ""


POLICY = Policy(
    classify=_classify,
    error_body=odata.error_body,
    unauthorized_body=bytes(odata.error(401, "Unauthorized").body),
    rate_limit_headers=True,
    endpoint_of=_endpoint,
    blocked=BLOCKED,
)


def create_app(*, state_path: Path | None = None, **knobs: Any) -> Starlette:
    """An Exact Online simulator; ``knobs`` are :class:`Faults` fields (its defaults).

    With ``state_path`` it keeps its records, ledger and grants there, and starts from
    what an earlier run left.
    """
    sim = Simulator(Faults(**{**DEFAULTS, **knobs}), state_path=state_path)
    routes: list[BaseRoute] = [
        *oauth_routes(
            OAuthWording("/api/oauth2/auth", "/api/oauth2/token", "Old refresh token used.")
        ),
        Route("/api/v1/current/Me", me),
        Route("/api/v1/{division}/{service}/{resource}", resource, methods=["GET", "POST", "PUT"]),
    ]
    app = build_app(routes, sim, POLICY)

    def fresh_divisions() -> None:
        app.state.divisions = {number: Division(number) for number in entries.DIVISIONS}

    def load(divisions: dict[int, Division]) -> None:
        app.state.divisions = divisions

    fresh_divisions()
    sim.on_reset.append(fresh_divisions)
    sim.records = (lambda: app.state.divisions, load)
    sim.restore()
    return app
