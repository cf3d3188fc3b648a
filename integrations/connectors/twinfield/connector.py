"""Twinfield: ProcessXml over SOAP on the office's cluster, OpenID Connect at the login service.

The integration's base URL is Twinfield's login service (``https://login.twinfield.com``):
authorize and token as plain OAuth 2 there, and ``accesstokenvalidation?token=…``, whose
claims say the cluster (``twf.clusterUrl``) every later call goes to. Every call to the
cluster is a POST of ``ProcessXmlString`` (soap.py); Twinfield answers a refused
document with HTTP 200 and ``result="0"``, the messages on the elements that failed.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode, urlparse

import httpx

from integrations import wording
from integrations.connectors.base import (
    Connector,
    DeliveryError,
    Fault,
    OnExisting,
    Outcome,
    Result,
    SimulatorSpec,
    hosts_of,
)
from integrations.connectors.forms import OAuthClientForm
from integrations.connectors.twinfield import mapping, soap
from integrations.connectors.twinfield.examples import (
    DEMO_FAULTS,
    EXAMPLE_ACCOUNTS,
    EXAMPLE_JOURNALS,
)
from integrations.connectors.twinfield.examples import spoil_examples as _spoil_examples
from integrations.connectors.twinfield.forms import (
    BASE_URLS,
    DEFAULT_CREDITORS_ACCOUNT,
    DEFAULT_DEBTORS_ACCOUNT,
    TwinfieldSettingsForm,
)
from integrations.exchanges import Exchange, record_exchange

VALIDATION_PATH = "/auth/authentication/connect/accesstokenvalidation"
CLUSTER_DOMAIN = ".twinfield.com"
# Browse codes of the customer and supplier transaction cards (murb/twinfield's
# Browse::Transaction::Customer: code 100, column fin.trs.line.invnumber).
BROWSE_CODES = {"sales_invoice": "100", "purchase_invoice": "200"}
# How Twinfield says an invoice number is taken on the journal (not confirmed; see README).
_DUPLICATE = re.compile(r"al in gebruik|bestaat al|already (exists|in use)", re.I)
# A SOAP fault (HTTP 500, as every .asmx fault) refusing the office or the login:
# "Toegang geweigerd. Company ontbreekt in request header." (php-twinfield).
_ACCESS_DENIED = re.compile(r"^(Toegang geweigerd|Access denied)", re.I)
_SECRETS = (
    re.compile(r"(<(?:\w+:)?AccessToken>)[^<]*"),
    re.compile(r"([?&]token=)[^&\s]+"),
)


class TwinfieldConnector(Connector):
    key = "twinfield"
    label = "Twinfield"
    known_hosts = hosts_of(BASE_URLS)
    default_base_url = BASE_URLS[0]
    settings_form = TwinfieldSettingsForm
    credentials_form = OAuthClientForm
    authorize_path = "/auth/authentication/connect/authorize"
    token_path = "/auth/authentication/connect/token"  # noqa: S105 - a URL path
    # twf.organisation brings twf.clusterUrl, offline_access the refresh token
    # (php-twinfield's OAuthProvider).
    oauth_scope = "openid twf.user twf.organisation twf.organisationUser offline_access"
    # A dimension is read by its code, an invoice found by its number through the
    # customer/supplier transaction browse. No documented call finds a journal
    # transaction by a number of ours, so a journal entry in doubt waits for a person.
    findable = frozenset({"customer", "supplier", "sales_invoice", "purchase_invoice"})
    example_journals = EXAMPLE_JOURNALS
    example_accounts = EXAMPLE_ACCOUNTS
    demo_faults = DEMO_FAULTS
    simulator = SimulatorSpec(
        app="integrations.connectors.twinfield.simulator.app:create_app",
        port=8103,
        oauth_paths=(
            "/auth/authentication/connect/authorize",
            "/auth/authentication/connect/token",
        ),
    )
    # The simulator's offices, the first the default (simulator/rules.py OFFICES).
    demo_settings = ({"office": "NLA000001"}, {"office": "NLA000002"})

    def __init__(self, *, settings: Mapping[str, Any], **connection: Any) -> None:
        defaults = {
            "destiny": "final",
            "debtors_account": DEFAULT_DEBTORS_ACCOUNT,
            "creditors_account": DEFAULT_CREDITORS_ACCOUNT,
        }
        present = {name: value for name, value in settings.items() if value not in (None, "")}
        super().__init__(settings=defaults | present, **connection)

    @classmethod
    def spoil_examples(cls, records: dict[str, list[dict[str, Any]]]) -> None:
        _spoil_examples(records)

    # --- records -------------------------------------------------------------------
    def to_package(self, kind: str, record: Mapping[str, Any]) -> dict[str, Any]:
        return {"xml": soap.to_text(self._document(kind, record))}

    def _document(self, kind: str, record: Mapping[str, Any]) -> ET.Element:
        if kind in mapping.RELATIONS:
            return mapping.dimension(kind, record, self.settings["office"])
        return mapping.transaction(kind, record, self.settings)

    def book(self, kind: str, record: Mapping[str, Any], *, idempotency_key: str) -> Outcome:
        # A dimension sent with a code that exists changes it, so relations are never
        # doubled; invoices are looked up by their number first (Twinfield refusing a
        # number twice is not confirmed), and a refusal as a duplicate becomes an outcome.
        trail: list[Exchange] = []
        found = self._find(kind, record, trail) if kind in self.findable else None
        if found is not None and self.on_existing[kind] is OnExisting.SKIP:
            return Outcome(Result.ALREADY_BOOKED, found, trail)
        answer = self._process(self._document(kind, record), kind=kind, trail=trail)
        try:
            self._raise_refusal(kind, answer, trail)
        except DeliveryError as err:
            again = self._duplicate(kind, record, err, trail)
            if again is None:
                raise
            return again
        if kind in mapping.RELATIONS:
            code = answer.findtext("code") or str(record["code"])
            return Outcome(Result.UPDATED if found else Result.BOOKED, code, trail)
        return Outcome(Result.BOOKED, _transaction_id(answer, self.settings["office"]), trail)

    def _duplicate(
        self, kind: str, record: Mapping[str, Any], err: DeliveryError, trail: list[Exchange]
    ) -> Outcome | None:
        """Refused because its number is taken: this record, booked earlier, or None."""
        taken = err.field_errors.get("invoice_number", "")
        if kind not in self.findable or not _DUPLICATE.search(taken):
            return None
        found = self._find(kind, record, trail)
        return None if found is None else Outcome(Result.ALREADY_BOOKED, found, trail)

    def find_existing(self, kind: str, record: Mapping[str, Any]) -> str | None:
        return self._find(kind, record, [])

    def _find(self, kind: str, record: Mapping[str, Any], trail: list[Exchange]) -> str | None:
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
        if kind in mapping.RELATIONS:
            return self._read_dimension(kind, str(record["code"]), trail)
        return self._browse_invoice(kind, record, trail)

    def _read_dimension(self, kind: str, code: str, trail: list[Exchange]) -> str | None:
        """``<read><type>dimensions</type>…`` (Twinfield's Dimensions reference)."""
        request = soap.element("read")
        soap.child(request, "type", "dimensions")
        soap.child(request, "office", self.settings["office"])
        soap.child(request, "dimtype", mapping.RELATIONS[kind])
        soap.child(request, "code", code)
        answer = self._process(request, kind=kind, trail=trail, reads=True)
        if not soap.succeeded(answer) or answer.findtext("code") != code:
            return None
        return code

    def _browse_invoice(
        self, kind: str, record: Mapping[str, Any], trail: list[Exchange]
    ) -> str | None:
        """The transaction whose customer/supplier line carries this invoice number, by
        the number alone (and, for a purchase, the supplier: its numbers are its own)."""
        number, relation = str(record["invoice_number"]), str(record["relation_code"])
        request = soap.element("columns", code=BROWSE_CODES[kind])
        _column(request, "fin.trs.head.yearperiod", "between", "1900/01", "2999/99")
        _column(request, "fin.trs.line.invnumber", "equal", number)
        if kind == "purchase_invoice":
            _column(request, "fin.trs.line.dim2", "between", relation, relation)
        else:
            _column(request, "fin.trs.line.dim2")
        answer = self._process(request, kind=kind, trail=trail, reads=True)
        for row in answer.iter("tr"):
            cells = {td.get("field"): td.text or "" for td in row.iter("td")}
            if cells.get("fin.trs.line.invnumber") != number:
                continue
            if kind == "purchase_invoice" and cells.get("fin.trs.line.dim2") != relation:
                continue
            key = row.find("key")
            if key is not None:
                return "/".join(key.findtext(part) or "" for part in ("office", "code", "number"))
        return None

    # --- errors --------------------------------------------------------------------
    def _raise_refusal(self, kind: str, answer: ET.Element, trail: list[Exchange]) -> None:
        """``result="0"``: the record was refused; its messages, on our fields."""
        if soap.succeeded(answer):
            return
        found = list(soap.messages(answer))
        errors = [m for m in found if m.type == "error"] or found
        field_errors: dict[str, str] = {}
        for message in errors:
            field = mapping.canonical_path(kind, message.path)
            if field is not None:
                earlier = field_errors.get(field)
                field_errors[field] = f"{earlier} {message.text}" if earlier else message.text
        text = " ".join(m.text for m in errors) or f"{self.label} refused the record."
        raise DeliveryError(text, fault=Fault.DATA, field_errors=field_errors, exchanges=trail)

    def parse_error(self, kind: str, response: httpx.Response) -> tuple[str, dict[str, str]]:
        """A SOAP fault's ``faultstring``; other error bodies name no field."""
        return soap.fault_of(response.content), {}

    def _refusal(self, kind: str, response: httpx.Response, trail: list[Exchange]) -> DeliveryError:
        message = soap.fault_of(response.content)
        if response.status_code == 500 and _ACCESS_DENIED.match(message):
            return DeliveryError(
                wording.OFFICE_ACCESS_REFUSED(label=self.label, detail=message),
                fault=Fault.RUN,
                exchanges=trail,
            )
        return super()._refusal(kind, response, trail)

    def endpoint_of(self, url: str) -> str:
        return urlparse(url).path.rstrip("/").rsplit("/", 1)[-1]

    # --- connecting ----------------------------------------------------------------
    def authorize_url(self, *, redirect_uri: str, state: str) -> str:
        # Twinfield wants a nonce on the authorize request (php-twinfield's OAuthProvider).
        query = {
            "client_id": self.credentials.load()["client_id"],
            "redirect_uri": redirect_uri,
            "response_type": "code",
            "scope": self.oauth_scope,
            "state": state,
            "nonce": secrets.token_urlsafe(16),
        }
        return f"{self.base_url}{self.authorize_path}?{urlencode(query)}"

    def check_connection(self) -> str:
        """``<list><type>offices</type></list>``: the office must be one of this login's."""
        request = soap.element("list")
        soap.child(request, "type", "offices")
        answer = self._process(request, kind="", trail=[], reads=True)
        office = self.settings["office"]
        for item in answer.iter("office"):
            if (item.text or "").strip() == office:
                return f"{office} — {item.get('name', '')}".rstrip(" —")
        raise DeliveryError(
            wording.OFFICE_NOT_LISTED(label=self.label, office=office), fault=Fault.RUN
        )

    # --- calling the cluster -------------------------------------------------------
    def _process(
        self, document: ET.Element, *, kind: str, trail: list[Exchange], reads: bool = False
    ) -> ET.Element:
        """One ProcessXmlString call; the answered document. Renews the token once when
        the login service or the cluster no longer takes it."""
        token = self._access_token(trail)
        refused = ""
        for attempt in (1, 2):
            cluster = self._cluster(token, trail)
            if cluster is not None:
                response = self._post(cluster, token, document, trail, reads=reads)
                if response.status_code != 401:
                    return self._answer(kind, response, trail, reads=reads)
                refused = self._error_text(kind, response)
            else:
                refused = "the access token was not accepted"
            if attempt == 1:
                token = self._renew(token, trail)
        raise self._login_refused(refused, trail)

    def _answer(
        self, kind: str, response: httpx.Response, trail: list[Exchange], *, reads: bool
    ) -> ET.Element:
        if not 200 <= response.status_code < 300:
            raise self._refusal(kind, response, trail)
        try:
            return soap.result_of(response.content)
        except soap.SoapError as exc:
            raise DeliveryError(
                wording.NOT_PROCESSXML(label=self.label, error=exc),
                fault=Fault.TRANSIENT if reads else Fault.IN_DOUBT,
                exchanges=trail,
            ) from exc

    def _post(
        self, cluster: str, token: str, document: ET.Element, trail: list[Exchange], *, reads: bool
    ) -> httpx.Response:
        request = self.client.build_request(
            "POST",
            cluster + soap.PROCESS_XML_PATH,
            content=soap.envelope(document, access_token=token, company=self.settings["office"]),
            headers={"Content-Type": soap.CONTENT_TYPE, "SOAPAction": f'"{soap.SOAP_ACTION}"'},
        )
        try:
            return self._transmit(request, trail, _record)
        except DeliveryError as err:
            if not (reads and err.fault is Fault.IN_DOUBT):
                raise
            # Every ProcessXml call is a POST, but a read changes nothing.
            raise DeliveryError(
                wording.LOOKUP_TOO_SLOW(label=self.label),
                fault=Fault.TRANSIENT,
                exchanges=trail,
            ) from err

    def _cluster(self, token: str, trail: list[Exchange]) -> str | None:
        """The cluster this token's organisation lives on, or None when the login service
        no longer takes the token (it answers 400: php-twinfield's validateToken).

        Validated once per token, whichever worker or slice of a run holds it: the
        answer is kept in the connector's cache (the integration's, shared) under a digest
        of the token, never the token itself, and checked again when read."""
        key = f"cluster:{hashlib.sha256(token.encode()).hexdigest()[:32]}"
        known = self.cache.get(key)
        if known:
            self._check_cluster(known, trail)
            return str(known)
        request = self.client.build_request(
            "GET", f"{self.base_url}{VALIDATION_PATH}", params={"token": token}
        )
        response = self._transmit(request, trail, _record)
        if response.status_code in (400, 401):
            return None
        if response.status_code != 200:
            raise self._refusal("", response, trail)
        try:
            claims = response.json()
        except ValueError:
            claims = {}
        cluster = str(claims.get("twf.clusterUrl") or "").rstrip("/")
        self._check_cluster(cluster, trail)
        self.cache.set(key, cluster)
        return cluster

    def _check_cluster(self, cluster: str, trail: list[Exchange]) -> None:
        """A cluster on twinfield.com over https, or the login service's own host (the
        simulator): never an address a token could be sent to elsewhere."""
        parts, login = urlparse(cluster), urlparse(self.base_url)
        host = parts.hostname or ""
        on_twinfield = parts.scheme == "https" and host.endswith(CLUSTER_DOMAIN)
        if on_twinfield or (host and parts.netloc == login.netloc):
            return
        raise DeliveryError(
            f"{self.label}'s login service named an unexpected cluster ({cluster or 'none'}).",
            fault=Fault.RUN,
            exchanges=trail,
        )


def _column(
    parent: ET.Element, field: str, operator: str = "", low: str = "", high: str = ""
) -> None:
    column = soap.child(parent, "column")
    soap.child(column, "field", field)
    soap.child(column, "visible", "true")
    if operator:
        soap.child(column, "operator", operator)
        soap.child(column, "from", low)
        soap.child(column, "to", high or low)


def _transaction_id(answer: ET.Element, office: str) -> str:
    header = answer.find("header")
    if header is None:
        return ""
    parts = (
        header.findtext("office") or office,
        header.findtext("code"),
        header.findtext("number"),
    )
    return "/".join(part or "" for part in parts)


def _record(request: httpx.Request, response: httpx.Response | None, started: float) -> Exchange:
    """``record_exchange``, and the token that Twinfield carries in a SOAP header and a
    query parameter blanked too."""
    exchange = record_exchange(request, response, started)
    for pattern in _SECRETS:
        exchange.url = pattern.sub(r"\1[redacted]", exchange.url)
        exchange.request_body = pattern.sub(r"\1[redacted]", exchange.request_body)
    return exchange
