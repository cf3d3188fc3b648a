"""A local stand-in of the Unit4 Multivers Online API (``{base}`` = ``http://host:port/V22``).

What a connector codes against (facts of the real API in ACCOUNTING_APIS.md; the
simulator's own choices marked *):

* ``GET {base}/api/AdministrationNVL``; administrations ``MVL00001`` and ``MVL00002``.
* ``POST {base}/api/{db}/{Entity}`` creates and answers **201*** with the stored record;
  ``GET``/``PUT {base}/api/{db}/{Entity}/{id}`` read and change one (PUT merges the fields
  sent and answers 200 with the record). Entities and their ids:

  - ``Customer/{customerId}``, ``Supplier/{supplierId}``: the relation's code is its id
    (assigned from 10001 on when not sent*). A code that exists answers 400 "Klant 'X'
    bestaat al." / "Leverancier 'X' bestaat al.": look up first.
  - ``CustomerInvoice/{invoiceId}``, ``SupplierInvoice/{invoiceId}``: ``invoiceId``
    defaults to the journal transaction number*. A booked ``invoiceId`` answers 400
    "Factuurnummer 'X' is al geboekt.".
  - ``FinTrans/{fiscalYear}/{journalId}/{journalTransaction}`` (``%2F`` works too).

* Look-up by natural key: ``GET .../Customer/{customerId}`` (404 when unknown), and on
  every entity ``GET .../{Entity}?{field}=value`` answers a list of the records whose
  field equals the value, e.g. ``CustomerInvoice?invoiceId=F2024-001`` → ``[]`` or ``[{…}]``*.
* ``GetNextJournalTransactionCommand?fiscalYear=2024&journalId=V`` answers a bare JSON
  number and *reserves* it*, so concurrent workers never get the same one. A posted
  ``journalTransaction`` already used in that year and journal answers 400 "Boekstuknummer
  'N' is al in gebruik in dagboek 'V'.".
* "Journaalcode mag niet gewijzigd worden." answers a PUT that changes ``journalId`` of a
  relation that already has invoices booked*.
* Errors: 400 ``{"messages": [{"message", "messageType": "Error", "path"}]}``; unknown
  administration or record 404 in the same shape; expired or unknown token 401.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route

from integrations.simulators.common import (
    Faults,
    Policy,
    Simulator,
    build_app,
    drop_connection,
    json_body,
)
from integrations.simulators.multivers import rules
from integrations.simulators.multivers.lookups import (
    accounts,
    in_administration,
    journals,
    next_transaction,
    payment_conditions,
    vat_codes,
)
from integrations.simulators.multivers.lookups import messages as _messages
from integrations.simulators.multivers.rules import Message, error
from integrations.simulators.oauth import OAuthWording, oauth_routes

if TYPE_CHECKING:
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
        self, entity: str, body: dict[str, Any]
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
            if key in self.records[entity]:
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
                if key in self.records[entity]:
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
    if entity not in ENTITIES:
        return _messages(404, error(f"Onbekende resource '{entity}'."))
    body = json_body(await request.body())
    if not isinstance(body, dict):
        return _messages(400, error("De aanvraag bevat geen geldig JSON-object."))
    errors, duplicate, record = admin.create(entity, body)
    sim: Simulator = request.app.state.sim
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
    entity = request.path_params["entity"]
    if entity not in ENTITIES:
        return _messages(404, error(f"Onbekende resource '{entity}'."))
    records = admin.records[entity]
    key = request.path_params.get("id")
    if key is not None:
        if key not in records:
            return _messages(404, error(f"{entity} '{key}' bestaat niet."))
        return JSONResponse(records[key])
    wanted = dict(request.query_params)
    id_field = RELATIONS[entity][0] if entity in RELATIONS else "invoiceId"
    if set(wanted) == {id_field}:
        found = records.get(wanted[id_field])
        return JSONResponse([found] if found else [])
    return JSONResponse(
        [r for r in records.values() if all(str(r.get(k)) == v for k, v in wanted.items())]
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


POLICY = Policy(
    classify=_classify,
    error_body=_error_body,
    unauthorized_body=_error_body("Authorization has been denied for this request."),
    rate_limit_headers=False,
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
        Route(f"{db}/GetNextJournalTransactionCommand", next_transaction),
        Route(db + "/{entity}", create, methods=["POST"]),
        Route(db + "/{entity}", read, methods=["GET"]),
        Route(db + "/{entity}/{id:path}", read, methods=["GET"]),
        Route(db + "/{entity}/{id:path}", update, methods=["PUT"]),
    ]


def create_app(**knobs: Any) -> Starlette:
    """A fresh Multivers Online simulator; ``knobs`` are :class:`Faults` fields (its defaults)."""
    sim = Simulator(Faults(**{**DEFAULTS, **knobs}))
    routes = _versioned_routes()
    app = build_app([Mount(f"/{version}", routes=routes) for version in VERSIONS], sim, POLICY)

    def fresh_administrations() -> None:
        app.state.administrations = {code: Administration() for code in rules.ADMINISTRATIONS}

    fresh_administrations()
    sim.on_reset.append(fresh_administrations)
    return app
