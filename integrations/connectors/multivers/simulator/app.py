"""A local stand-in of the Unit4 Multivers Online API (``{base}`` = ``http://host:port/V22``).

It answers exactly the calls the API reference documents (the V19 help pages, listed in
``endpoints.md`` of ``omniboost/go-microsoft-dynamics-365-business-central`` at commit
``0f55afc4``; see docs/connectors.md) and 404/405 otherwise. The simulator's own choices
are marked *:

* ``GET {base}/api/AdministrationNVL``; administrations ``MVL00001`` and ``MVL00002``.
* ``POST {base}/api/{db}/{Entity}`` creates and answers **201*** with the stored record;
  ``GET``/``PUT {base}/api/{db}/{Entity}/{id}`` read and change one (PUT merges the fields
  sent and answers 200 with the record). No ``.json`` suffix, no list or ``?field=``
  look-up on these entities (a GET without an id answers 405):

  - ``Customer/{customerId}``, ``Supplier/{supplierId}``: the relation's code is its id
    (assigned from 10001 on when not sent*). A code that exists answers 400 "Klant 'X'
    bestaat al." / "Leverancier 'X' bestaat al."*.
  - ``CustomerInvoice/{invoiceId}``, ``SupplierInvoice/{invoiceId}``: ``invoiceId``
    defaults to the journal transaction number*. A booked ``invoiceId`` answers 400
    "Factuurnummer 'X' is al geboekt."*.
  - ``FinTrans/{fiscalYear}/{journalId}/{journalTransaction}`` (``%2F`` works too): keyed
    by Multivers' own counter; nothing documented finds a FinTrans by a number of ours.

* ``POST GetNextJournalTransactionCommand?fiscalYear=2024&journalId=V`` (a POST, as the
  reference shows) answers a bare JSON number and *reserves* it*, so concurrent workers
  never get the same one. A posted ``journalTransaction`` already used in that year and
  journal answers 400 "Boekstuknummer 'N' is al in gebruik in dagboek 'V'."*.
* Look-up lists: ``VatCodeInfoList``, ``JournalInfoList``, ``AccountInfoList/{fiscalYear}``,
  ``PaymentConditionNVL``.
* "Journaalcode mag niet gewijzigd worden." answers a PUT that changes ``journalId`` of a
  relation that already has invoices booked*.
* Errors: 400 ``{"messages": [{"message", "messageType": "Error", "path"}]}``; unknown
  administration or record 404 in the same shape. Routing answers are ASP.NET Web API's
  (not confirmed for Multivers, but it is such a service): 401 ``{"Message":
  "Authorization has been denied for this request."}``, 404 "No HTTP resource was found
  that matches the request URI …", 405 "The requested resource does not support http
  method 'GET'.".
* With ``accept_duplicates`` a code or invoice number in use is booked as a second copy.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route

from integrations.connectors.multivers.simulator import rules
from integrations.connectors.multivers.simulator.lookups import (
    accounts,
    in_administration,
    journals,
    next_transaction,
    payment_conditions,
    vat_codes,
)
from integrations.connectors.multivers.simulator.lookups import messages as _messages
from integrations.connectors.multivers.simulator.rules import Message, error
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

VERSIONS = ("V22", "V21")
DEFAULTS = {"token_ttl": 3600, "rate_limit_per_minute": None, "rate_limit_per_day": None}
RELATIONS = {
    "Customer": ("customerId", "Klant", "V"),
    "Supplier": ("supplierId", "Leverancier", "I"),
}
INVOICES = {
    "CustomerInvoice": ("Customer", "customerInvoiceLines", "sales"),
    "SupplierInvoice": ("Supplier", "supplierInvoiceLines", "purchase"),
}
ENTITIES = (*RELATIONS, *INVOICES, "FinTrans")
COMMANDS = ("GetNextJournalTransactionCommand",)
# Documented for GET only.
LISTS = ("VatCodeInfoList", "JournalInfoList", "PaymentConditionNVL")


class Administration:
    """The records of one Multivers database, indexed by id so every check is O(1)."""

    def __init__(self) -> None:
        self.records: dict[str, dict[str, dict[str, Any]]] = {name: {} for name in ENTITIES}
        self.invoices_of: Counter[tuple[str, str]] = Counter()
        self.used_transactions: set[tuple[int, str, int]] = set()
        self.next_transaction: dict[tuple[int, str], int] = {}
        self.next_relation = 10001

    def validate(self, entity: str, body: dict[str, Any]) -> list[Message]:
        """Field and reference rules of one record, duplicates aside."""
        if entity in RELATIONS:
            return rules.relation_errors(body)
        if entity == "FinTrans":
            required = [
                "journalId",
                "fiscalYear",
                "periodNumber",
                "transactionDate",
                "journalTransaction",
            ]
            errors = rules.missing(body, required) + rules.booking_header_errors(
                body, "memorial", "transactionDate"
            )
            lines = rules.line_errors(
                body.get("finTransEntries"), "/finTransEntries", required=["accountId"]
            )
            return errors + (lines or rules.balance_errors(body["finTransEntries"]))
        relation, lines_field, kind = INVOICES[entity]
        relation_field, label, _ = RELATIONS[relation]
        required = [
            relation_field,
            "fiscalYear",
            "invoiceDate",
            "journalId",
            "journalTransaction",
            "paymentConditionId",
            "periodNumber",
        ]
        errors = rules.missing(body, required) + rules.booking_header_errors(
            body, kind, "invoiceDate"
        )
        related = body.get(relation_field)
        if related not in (None, "") and str(related) not in self.records[relation]:
            errors.append(error(f"{label} '{related}' bestaat niet.", f"/{relation_field}"))
        condition = body.get("paymentConditionId")
        if condition not in (None, "") and str(condition) not in rules.PAYMENT_CONDITIONS:
            errors.append(
                error(f"Betalingsconditie '{condition}' bestaat niet.", "/paymentConditionId")
            )
        return errors + rules.line_errors(
            body.get(lines_field), f"/{lines_field}", required=["accountId", "transactionDate"]
        )

    def create(
        self, entity: str, body: dict[str, Any], *, accept_duplicates: bool = False
    ) -> tuple[list[Message], bool, dict[str, Any]]:
        """Book a new record; answer (errors, refused as duplicate, stored record)."""
        errors = self.validate(entity, body)
        if errors:
            return errors, False, {}
        record = dict(body)
        if entity in RELATIONS:
            key_field, label, journal = RELATIONS[entity]
            if record.get(key_field) in (None, ""):
                record[key_field] = str(self.next_relation)
                self.next_relation += 1
            record.setdefault("journalId", journal)
            key = record[key_field] = str(record[key_field])
            if key in self.records[entity] and not accept_duplicates:
                return [error(f"{label} '{key}' bestaat al.", f"/{key_field}")], True, {}
        else:
            record["fiscalYear"], record["journalTransaction"] = (
                int(record["fiscalYear"]),
                int(record["journalTransaction"]),
            )
            slot = (record["fiscalYear"], record["journalId"], record["journalTransaction"])
            if slot in self.used_transactions:
                text = f"Boekstuknummer '{slot[2]}' is al in gebruik in dagboek '{slot[1]}'."
                return [error(text, "/journalTransaction")], True, {}
            key = "/".join(str(part) for part in slot)
            if entity in INVOICES:
                key = record["invoiceId"] = str(record.get("invoiceId") or slot[2])
                if key in self.records[entity] and not accept_duplicates:
                    return [error(f"Factuurnummer '{key}' is al geboekt.", "/invoiceId")], True, {}
                relation = INVOICES[entity][0]
                self.invoices_of[relation, str(record[RELATIONS[relation][0]])] += 1
            self.used_transactions.add(slot)
            year_journal = slot[:2]
            self.next_transaction[year_journal] = max(
                self.next_transaction.get(year_journal, 1), slot[2] + 1
            )
        self.records[entity][key] = record
        return [], False, record

    def update(self, entity: str, key: str, body: dict[str, Any]) -> list[Message]:
        """Change the fields sent of an existing record; its keys stay as they are."""
        existing = self.records[entity][key]
        merged = {**existing, **body}
        fixed = (
            [RELATIONS[entity][0]]
            if entity in RELATIONS
            else ["fiscalYear", "journalId", "journalTransaction", "invoiceId"]
        )
        merged.update({name: existing[name] for name in fixed if name in existing})
        errors = self.validate(entity, merged)
        if (
            entity in RELATIONS
            and body.get("journalId", existing["journalId"]) != existing["journalId"]
            and self.invoices_of[entity, key]
        ):
            errors.append(error("Journaalcode mag niet gewijzigd worden.", "/journalId"))
        if not errors:
            self.records[entity][key] = merged
        return errors

    def reserve_transaction(self, year: int, journal: str) -> int:
        number = self.next_transaction.get((year, journal), 1)
        self.next_transaction[year, journal] = number + 1
        return number


async def administrations(request: Request) -> Response:
    return JSONResponse(
        [{"name": code, "value": label} for code, label in rules.ADMINISTRATIONS.items()]
    )


@in_administration
async def create(request: Request, admin: Administration) -> Response:
    entity = request.path_params["entity"]
    if entity in LISTS:
        return not_allowed(request)
    if entity not in ENTITIES:
        return _no_resource(request)
    body = json_body(await request.body())
    if not isinstance(body, dict):
        return _messages(400, error("De aanvraag bevat geen geldig JSON-object."))
    sim: Simulator = request.app.state.sim
    errors, duplicate, record = admin.create(
        entity, body, accept_duplicates=sim.faults.accept_duplicates
    )
    db = request.path_params["db"]
    if duplicate:
        sim.ledger.refuse(entity, _natural_key(entity, body), scope=db)
    if errors:
        return _messages(400, *errors)
    key = _record_id(entity, record)
    sim.ledger.book(entity, _natural_key(entity, record), key, body, scope=db)
    if sim.chance(sim.faults.drop_after_book_rate):
        return drop_connection(request)
    return JSONResponse(record, status_code=201)


@in_administration
async def read(request: Request, admin: Administration) -> Response:
    """GET of one record by its documented id; nothing else is documented."""
    entity = request.path_params["entity"]
    key = request.path_params.get("id")
    if entity in COMMANDS or (entity in ENTITIES and key is None):
        return not_allowed(request)
    if entity not in ENTITIES or key is None or (entity == "FinTrans" and key.count("/") != 2):
        return _no_resource(request)
    records = admin.records[entity]
    if key not in records:
        return _messages(404, error(f"{entity} '{key}' bestaat niet."))
    return JSONResponse(records[key])


def _no_resource(request: Request) -> Response:
    return JSONResponse(
        {"Message": f"No HTTP resource was found that matches the request URI '{request.url}'."},
        status_code=404,
    )


def not_allowed(request: Request) -> Response:
    return JSONResponse(
        {"Message": f"The requested resource does not support http method '{request.method}'."},
        status_code=405,
    )


@in_administration
async def update(request: Request, admin: Administration) -> Response:
    entity, key = request.path_params["entity"], request.path_params["id"]
    if entity not in ENTITIES or key not in admin.records[entity]:
        return _messages(404, error(f"{entity} '{key}' bestaat niet."))
    body = json_body(await request.body())
    if not isinstance(body, dict):
        return _messages(400, error("De aanvraag bevat geen geldig JSON-object."))
    errors = admin.update(entity, key, body)
    if errors:
        return _messages(400, *errors)
    record = admin.records[entity][key]
    request.app.state.sim.ledger.book(
        entity,
        _natural_key(entity, record),
        key,
        body,
        scope=request.path_params["db"],
        update=True,
    )
    return JSONResponse(record)


def _record_id(entity: str, record: dict[str, Any]) -> str:
    if entity in RELATIONS:
        return record[RELATIONS[entity][0]]
    if entity in INVOICES:
        return record["invoiceId"]
    return f"{record['fiscalYear']}/{record['journalId']}/{record['journalTransaction']}"


def _natural_key(entity: str, body: dict[str, Any]) -> str:
    if entity in RELATIONS:
        return str(body.get(RELATIONS[entity][0], ""))
    if entity in INVOICES:
        return str(body.get("invoiceId") or body.get("journalTransaction", ""))
    return f"{body.get('fiscalYear')}/{body.get('journalId')}/{body.get('journalTransaction')}"


def _classify(path: str) -> tuple[str, str]:
    parts = path.split("/", 5)
    if len(parts) > 3 and parts[1] in VERSIONS:
        if parts[2] == "api":
            return "api", parts[3]
        if parts[2:4] == ["OAuth", "Token"]:
            return "token", ""
    return "other", ""


def _error_body(message: str) -> bytes:
    return bytes(JSONResponse({"messages": [{"message": message, "messageType": "Error"}]}).body)


def _endpoint(path: str) -> str:
    """The entity a call concerns (``MVL00001/Customer``), for the error ledger."""
    parts = path.split("/")
    return "/".join(parts[3:5]) if len(parts) > 4 and parts[2] == "api" else ""


POLICY = Policy(
    classify=_classify,
    error_body=_error_body,
    unauthorized_body=bytes(
        JSONResponse({"Message": "Authorization has been denied for this request."}).body
    ),
    rate_limit_headers=False,
    endpoint_of=_endpoint,
)


def _versioned_routes() -> list[Route]:
    db = "/api/{db}"
    return [
        *oauth_routes(
            OAuthWording("/OAuth/Authorize", "/OAuth/Token", "Refresh token already used.")
        ),
        Route("/api/AdministrationNVL", administrations),
        Route(f"{db}/VatCodeInfoList", vat_codes),
        Route(f"{db}/JournalInfoList", journals),
        Route(db + "/AccountInfoList/{year}", accounts),
        Route(f"{db}/PaymentConditionNVL", payment_conditions),
        Route(f"{db}/GetNextJournalTransactionCommand", next_transaction, methods=["POST"]),
        Route(db + "/{entity}", create, methods=["POST"]),
        Route(db + "/{entity}", read, methods=["GET"]),
        Route(db + "/{entity}/{id:path}", read, methods=["GET"]),
        Route(db + "/{entity}/{id:path}", update, methods=["PUT"]),
    ]


def create_app(*, state_path: Path | None = None, **knobs: Any) -> Starlette:
    """A Multivers Online simulator; ``knobs`` are :class:`Faults` fields (its defaults).

    With ``state_path`` it keeps its records, ledger and grants there, and starts from
    what an earlier run left.
    """
    sim = Simulator(Faults(**{**DEFAULTS, **knobs}), state_path=state_path)
    routes = _versioned_routes()
    app = build_app([Mount(f"/{version}", routes=routes) for version in VERSIONS], sim, POLICY)

    def fresh_administrations() -> None:
        app.state.administrations = {code: Administration() for code in rules.ADMINISTRATIONS}

    def load(administrations: dict[str, Administration]) -> None:
        app.state.administrations = administrations

    fresh_administrations()
    sim.on_reset.append(fresh_administrations)
    sim.records = (lambda: app.state.administrations, load)
    sim.restore()
    return app
