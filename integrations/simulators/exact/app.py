"""A local stand-in of the Exact Online REST API (base ``http://host:port``).

What a connector codes against (facts in ACCOUNTING_APIS.md; the simulator's choices *):

* ``GET /api/v1/current/Me`` → ``CurrentDivision`` 123456 (654321 exists too; any other
  division answers 403 "Forbidden - WrongDivision").
* ``/api/v1/{division}/crm/Accounts``: POST creates (``Code`` is answered padded to 18
  characters with leading spaces; a code in use answers 400 "In use: Code"*), GET lists
  with ``$filter=Code eq 'C0001'`` (padded or not*), ``$select``, ``$top``; GET and PUT
  ``crm/Accounts(guid'…')`` (PUT answers 204).
* ``salesentry/SalesEntries``, ``purchaseentry/PurchaseEntries``,
  ``generaljournalentry/GeneralJournalEntries``: POST, GET by ``(guid'…')``, GET with
  ``$filter`` on ``YourRef``, ``EntryNumber``, ``InvoiceNumber`` (and any field, slower).
  A ``YourRef`` already booked (purchase: for the same supplier*), or an ``EntryNumber`` /
  ``InvoiceNumber`` used in the same journal, answers 400 "In use: Document number".
  Lines come back as ``{"results": [...]}``*. Without an ``EntryNumber`` an entry gets the
  journal's next number.
* ``generaljournalentry/GeneralJournalEntryLines`` (read-only here): the lines of every
  general journal entry, each with ``ID``, ``EntryID``, ``EntryNumber``, ``LineNumber`` and
  the fields sent (``Notes``, ``Description``, ``GLAccount`` …); GET with ``$filter`` on
  ``Notes`` or ``EntryID`` (and any field, slower), as the real entity allows. A general
  journal entry has no text field of its own, so this is where a client finds an entry
  by a reference it wrote into its lines.
* Read-only: ``financial/GLAccounts``, ``vat/VATCodes``, ``financial/Journals``,
  ``hrm/Costcenters``.
* POST answers 201; with ``Prefer: return=representation`` the body is ``{"d": record}``,
  without it ``{"d": {"ID" or "EntryID": guid}}``*. Lists: ``{"d": {"results": [...],
  "__next": url}}``, 60 a page. Validation 400, balance failures 500, in Exact's error shape.
"""

from __future__ import annotations

import re
import uuid
from typing import TYPE_CHECKING, Any

from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from integrations.simulators.common import (
    Faults,
    Policy,
    Simulator,
    build_app,
    drop_connection,
    json_body,
)
from integrations.simulators.exact import entries, odata
from integrations.simulators.exact.entries import KINDS
from integrations.simulators.oauth import OAuthWording, oauth_routes

if TYPE_CHECKING:
    from starlette.applications import Starlette
    from starlette.requests import Request

DEFAULTS = {"token_ttl": 600, "rate_limit_per_minute": 60, "rate_limit_per_day": 5000}
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

    def add_account(self, body: dict[str, Any]) -> tuple[list[str], bool, dict[str, Any]]:
        """Answer (messages, refused as duplicate, stored row)."""
        messages = entries.account_messages(body)
        if messages:
            return messages, False, {}
        code = str(body.get("Code") or "").strip()
        while not code:
            candidate, self.next_code = str(self.next_code), self.next_code + 1
            code = "" if self.accounts.with_value("Code", candidate) else candidate
        if self.accounts.with_value("Code", code):
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
        if any(other["ID"] != key for other in self.accounts.with_value("Code", code)):
            messages.append("In use: Code")
        if not messages:
            self.accounts.replace(key, {**row, "Code": code.rjust(18)})
        return messages

    def add_entry(
        self, resource: str, body: dict[str, Any]
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
        if self._in_use(kind.relation, table, body, journal):
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
    def _in_use(
        relation: str | None, table: odata.Table, body: dict[str, Any], journal: str
    ) -> bool:
        ref = body.get("YourRef")
        if ref not in (None, "") and any(
            relation != "Supplier"
            or odata.norm(row.get("Supplier")) == odata.norm(body.get("Supplier"))
            for row in table.with_value("YourRef", ref)
        ):
            return True
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
    user = {
        "CurrentDivision": 123456,
        "FullName": "Demo User",
        "UserID": "8c7d4f1e-0b8a-4a55-9b27-3f0d7b3e9a01",
        "UserName": "demo@example.com",
        "Email": "demo@example.com",
        "LanguageCode": "nl-NL",
    }
    return JSONResponse({"d": {"results": [user]}})


async def resource(request: Request) -> Response:
    division = _division(request)
    if isinstance(division, Response):
        return division
    match = _RESOURCE.match(request.path_params["resource"])
    name = match.group(1) if match else ""
    if SERVICES.get(name) != request.path_params["service"]:
        return odata.error(404, "Not found")
    key = match.group(2).lower() if match and match.group(2) else None
    if request.method == "GET":
        return _read(request, division, name, key)
    body = json_body(await request.body())
    if not isinstance(body, dict):
        return odata.error(400, "Invalid: JSON body")
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
    params = dict(request.query_params)
    conditions = odata.parse_filter(params.get("$filter", ""))
    if conditions is None:
        return odata.error(400, "Invalid: $filter")
    if name not in _TABLES:
        return odata.listing(
            _reference_rows(name, conditions),
            str(request.url.remove_query_params(list(params))),
            params,
        )
    table = _table(division, name)
    if key is not None:
        row = table.rows.get(key)
        return (
            JSONResponse({"d": odata.select(row, params.get("$select", ""))})
            if row
            else odata.error(404, "Not found")
        )
    rows = table.find(conditions)
    return odata.listing(rows, str(request.url.remove_query_params(list(params))), params)


def _reference_rows(name: str, conditions: list[tuple[str, str]]) -> list[dict[str, Any]]:
    if name == "GLAccounts":
        codes = [v for f, v in conditions if f == "Code"] or list(entries.GL_NAMES)
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
    return [row for row in rows if all(odata.norm(row.get(f)) == v for f, v in conditions)]


def _create(request: Request, division: Division, name: str, body: dict[str, Any]) -> Response:
    sim: Simulator = request.app.state.sim
    scope = str(division.number)
    if name == "Accounts":
        messages, duplicate, row = division.add_account(body)
        status, entity, key, natural = (
            (400 if messages else 201),
            "Account",
            row.get("ID"),
            str(body.get("Code") or "").strip(),
        )
    else:
        status, messages, duplicate, row = division.add_entry(name, body)
        entity, key = KINDS[name].entity, row.get("EntryID")
        natural = str(
            body.get("YourRef") or body.get("EntryNumber") or row.get("EntryNumber") or ""
        )
    if duplicate:
        sim.ledger.refuse(entity, natural, scope=scope)
    if messages:
        return odata.error(status, *messages)
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
        return odata.error(400, *messages)
    code = division.accounts.rows[key]["Code"].strip()
    request.app.state.sim.ledger.book(
        "Account", code, key, body, scope=str(division.number), update=True
    )
    return Response(status_code=204)


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
)


def create_app(**knobs: Any) -> Starlette:
    """A fresh Exact Online simulator; ``knobs`` are :class:`Faults` fields (its defaults)."""
    sim = Simulator(Faults(**{**DEFAULTS, **knobs}))
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

    fresh_divisions()
    sim.on_reset.append(fresh_divisions)
    return app
