"""Unit4 Multivers Online: ``{base}/api/{database}/…`` with OAuth2 and camelCase JSON."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import quote, urlparse

import httpx

from integrations import wording
from integrations.connectors.base import (
    Connector,
    DeliveryError,
    Exchange,
    Fault,
    OnExisting,
    OpenItemRow,
    Outcome,
    Result,
    SimulatorSpec,
    hosts_of,
)
from integrations.connectors.forms import OAuthClientForm
from integrations.connectors.multivers import examples
from integrations.connectors.multivers.forms import BASE_URLS, MultiversSettingsForm
from integrations.connectors.multivers.mapping import KINDS, canonical_path, to_multivers

# How Multivers says a record is there already ("Klant 1001 bestaat al.").
_DUPLICATE = re.compile(r"bestaat al|al geboekt|al in gebruik|already exists", re.I)
# ... and that the journal transaction number it handed out was taken meanwhile
# ("Boekstuknummer '7' is al in gebruik in dagboek 'M'."): a race, not this record.
_NUMBER_TAKEN = re.compile(r"boekstuknummer\b.*\bal in gebruik", re.I)
_RELATIONS = frozenset({"customer", "supplier"})


class MultiversConnector(Connector):
    key = "multivers"
    label = "Multivers Online"
    known_hosts = hosts_of(BASE_URLS)
    default_base_url = BASE_URLS[0]
    settings_form = MultiversSettingsForm
    credentials_form = OAuthClientForm
    authorize_path = "/OAuth/Authorize"
    token_path = "/OAuth/Token"  # noqa: S105 - a URL path, not a secret
    oauth_scope = "http://UNIT4.Multivers.API/Web/WebApi/*"
    # The API reference documents a GET of a relation or invoice by its own id, which is
    # ours (code, invoice number). A FinTrans is only found by Multivers' own
    # transaction number, and no documented list carries our entry number, so a journal
    # entry in doubt waits for a person ("in doubt — check in Multivers").
    findable = frozenset({"customer", "supplier", "sales_invoice", "purchase_invoice"})
    supports_open_items = True
    simulator = SimulatorSpec(
        app="integrations.connectors.multivers.simulator.app:create_app",
        port=8101,
        prefix="/V22",
        oauth_paths=("/OAuth/Authorize", "/OAuth/Token"),
    )
    demo_settings = ({"database": "MVL00001"}, {"database": "MVL00002"})
    example_journals = examples.JOURNALS
    example_accounts = examples.ACCOUNTS

    demo_company = examples.DEMO_COMPANY
    demo_faults = examples.DEMO_FAULTS

    @classmethod
    def spoil_examples(cls, records: dict[str, list[dict[str, Any]]]) -> None:
        examples.spoil(records)

    def _url(self, *parts: object) -> str:
        path = "/".join(quote(str(part), safe="") for part in parts)
        return f"{self.base_url}/api/{quote(self.settings['database'], safe='')}/{path}"

    # --- records -------------------------------------------------------------------
    def to_package(self, kind: str, record: Mapping[str, Any]) -> dict[str, Any]:
        return to_multivers(kind, record)

    def book(self, kind: str, record: Mapping[str, Any], *, idempotency_key: str) -> Outcome:
        # Multivers takes no idempotency key; its own duplicate check on the natural
        # key (customerId, invoiceId, journal transaction) keeps a record single.
        trail: list[Exchange] = []
        body = self.to_package(kind, record)
        if kind not in _RELATIONS:
            body["journalTransaction"] = self._next_transaction(kind, record, trail)
        try:
            response = self._call(
                "POST", self._url(KINDS[kind].endpoint), kind=kind, trail=trail, json=body
            )
        except DeliveryError as err:
            if err.fault is Fault.DATA and _DUPLICATE.search(err.message):
                return self._existing(kind, record, body, trail, err)
            raise
        return Outcome(Result.BOOKED, self._external_id(kind, record, response), trail)

    def _existing(
        self,
        kind: str,
        record: Mapping[str, Any],
        body: dict[str, Any],
        trail: list[Exchange],
        err: DeliveryError,
    ) -> Outcome:
        """The package says the record is there: update it, or report it as booked."""
        found = self._find(kind, record, trail) if kind in self.findable else None
        if found is None:
            if _NUMBER_TAKEN.search(err.message):
                # Another booking took the number between asking and posting: ask again.
                raise DeliveryError(
                    wording.NUMBER_TAKEN(label=self.label, error=err.message),
                    fault=Fault.TRANSIENT,
                    exchanges=trail,
                ) from err
            # Refused as a duplicate but not found by its key: let a person look.
            raise err
        if self.on_existing[kind] is OnExisting.SKIP:
            return Outcome(Result.ALREADY_BOOKED, found, trail)
        self._call("PUT", self._url(KINDS[kind].endpoint, found), kind=kind, trail=trail, json=body)
        return Outcome(Result.UPDATED, found, trail)

    def find_existing(self, kind: str, record: Mapping[str, Any]) -> str | None:
        return self._find(kind, record, [])

    def _find(self, kind: str, record: Mapping[str, Any], trail: list[Exchange]) -> str | None:
        """The record's id, looked up by its own key only (never a near match), through
        ``GET {Entity}/{id}``, the one look-up the reference documents for it."""
        endpoint = KINDS[kind].endpoint
        if kind not in self.findable:
            # Answering "not there" would let the record be posted a second time.
            raise DeliveryError(
                wording.NO_LOOKUP(
                    label=self.label,
                    kind=kind.replace("_", " "),
                    identifier=record.get("entry_number", ""),
                ),
                fault=Fault.IN_DOUBT,
                exchanges=trail,
            )
        key = record["code"] if kind in _RELATIONS else record["invoice_number"]
        response = self._call(
            "GET", self._url(endpoint, key), kind=kind, trail=trail, accept=(404,)
        )
        if response.status_code != 200:
            return None
        if kind == "purchase_invoice":
            # A supplier's invoice number is its own: another supplier's invoice with the
            # same number is not this one.
            supplier = _json(response).get(KINDS[kind].fields["relation_code"])
            if str(supplier) != str(record["relation_code"]):
                return None
        return str(key)

    def _external_id(self, kind: str, record: Mapping[str, Any], response: httpx.Response) -> str:
        if kind == "journal_entry":
            return _fin_trans_id(_json(response))
        return str(record["code"] if kind in _RELATIONS else record["invoice_number"])

    def _next_transaction(self, kind: str, record: Mapping[str, Any], trail: list[Exchange]) -> int:
        # A POST, as the reference documents it; it reserves a number and books nothing.
        try:
            response = self._call(
                "POST",
                self._url("GetNextJournalTransactionCommand"),
                kind=kind,
                trail=trail,
                params={
                    "fiscalYear": str(record["fiscal_year"]),
                    "journalId": str(record["journal"]),
                },
            )
        except DeliveryError as err:
            if err.fault is not Fault.IN_DOUBT:
                raise
            # Only a number may have been used up; the record itself was not sent.
            raise DeliveryError(
                wording.NO_NUMBER(label=self.label),
                fault=Fault.TRANSIENT,
                exchanges=trail,
            ) from err
        answer = response.json()
        if isinstance(answer, dict):
            answer = answer.get("journalTransaction", answer.get("value"))
        return int(answer)

    def open_items(self) -> Iterator[list[OpenItemRow]]:
        from integrations.connectors.multivers.open_items import pages

        return pages(self)

    # --- errors --------------------------------------------------------------------
    def endpoint_of(self, url: str) -> str:
        """The entity a call concerns (``Customer``, ``CustomerInvoice``, ``FinTrans`` …)."""
        parts = urlparse(url).path.split("/")
        at = parts.index("api") if "api" in parts else -1
        if at < 0 or len(parts) <= at + 1:
            return ""
        # {base}/api/AdministrationNVL has no database; the rest is api/{database}/{entity}.
        return parts[at + 1] if len(parts) == at + 2 else parts[at + 2]

    def parse_error(self, kind: str, response: httpx.Response) -> tuple[str, dict[str, str]]:
        answer = _json(response)
        messages = answer.get("messages") or []
        if not messages and (answer.get("message") or answer.get("Message")):
            messages = [{"message": answer.get("message") or answer.get("Message")}]
        errors = [m for m in messages if m.get("messageType", "Error") == "Error"] or messages
        field_errors: dict[str, str] = {}
        for message in errors:
            field = canonical_path(kind, str(message.get("path") or ""))
            if field is not None:
                text = str(message.get("message", ""))
                field_errors[field] = (
                    f"{field_errors[field]} {text}" if field in field_errors else text
                )
        return " ".join(str(m.get("message", "")) for m in errors).strip(), field_errors

    # --- connecting ----------------------------------------------------------------
    def check_connection(self) -> str:
        response = self._call("GET", f"{self.base_url}/api/AdministrationNVL", kind="", trail=[])
        database = self.settings["database"]
        for item in response.json():
            if item.get("name") == database:
                return f"{database} — {item.get('value', '')}".rstrip(" —")
        raise DeliveryError(
            wording.ADMINISTRATION_NOT_LISTED(label=self.label, database=database),
            fault=Fault.RUN,
        )


def _fin_trans_id(fin_trans: Mapping[str, Any]) -> str:
    return f"{fin_trans['fiscalYear']}/{fin_trans['journalId']}/{fin_trans['journalTransaction']}"


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        answer = response.json()
    except ValueError:
        return {}
    return answer if isinstance(answer, dict) else {}
