"""Exact Online: OData over ``{host}/api/v1/{division}/…``, OAuth2 with rotating refresh tokens."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Protocol
from urllib.parse import urlparse

import httpx

from integrations.connectors.base import (
    Connector,
    DeliveryError,
    Exchange,
    Fault,
    Outcome,
    RateLimit,
    Result,
    hosts_of,
)
from integrations.connectors.exact.errors import parse_exact_error
from integrations.connectors.exact.forms import BASE_URLS, ExactSettingsForm
from integrations.connectors.exact.mapping import (
    ENTITIES,
    ENTRY_KEY_FIELD,
    entry_key,
    to_exact,
)
from integrations.connectors.forms import OAuthClientForm

# "In use: Document number": the entry is there already, not a data error.
_IN_USE = re.compile(r"in use: document number|in gebruik: boekstuknummer", re.I)
# "In use: Code": an account with this code is there already (created meanwhile).
_CODE_IN_USE = re.compile(r"in use: code|in gebruik: code", re.I)
# Where a general journal entry's lines are listed, each with the EntryID of its entry.
_JOURNAL_LINES = "generaljournalentry/GeneralJournalEntryLines"
_RELATIONS = frozenset({"customer", "supplier"})
_REASON_PHRASES = frozenset(
    {
        "internal server error",
        "service unavailable",
        "bad gateway",
        "gateway timeout",
        "an error has occurred.",
    }
)
# What a look-up of each GUID names, and where the code lives.
_LOOKUPS = {
    "account": ("crm/Accounts", "relation_code"),
    "supplier": ("crm/Accounts", "relation_code"),
    "gl_account": ("financial/GLAccounts", "gl_account"),
}


class Cache(Protocol):
    """Anything with get/set, e.g. Django's cache, so workers share resolved GUIDs."""

    def get(self, key: str) -> Any: ...

    def set(self, key: str, value: Any) -> Any: ...


class _DictCache(dict[str, Any]):
    def set(self, key: str, value: Any) -> None:
        self[key] = value


class _NotInExact(Exception):
    def __init__(self, what: str, code: str) -> None:
        super().__init__(code)
        self.what = what
        self.code = code


class ExactConnector(Connector):
    key = "exact"
    label = "Exact Online"
    known_hosts = hosts_of(BASE_URLS)
    default_base_url = BASE_URLS[0]
    settings_form = ExactSettingsForm
    credentials_form = OAuthClientForm
    rate_limit = RateLimit(60, 60)
    extra_headers = {"Prefer": "return=representation"}
    authorize_path = "/api/oauth2/auth"
    token_path = "/api/oauth2/token"  # noqa: S105 - a URL path, not a secret

    def __init__(self, *, cache: Cache | None = None, **connection: Any) -> None:
        """``connection`` as for every connector; ``cache`` shares resolved GUIDs."""
        super().__init__(**connection)
        self.cache: Cache = cache if cache is not None else _DictCache()

    def _url(self, path: str) -> str:
        return f"{self.base_url}/api/v1/{int(self.settings['division'])}/{path}"

    # --- records -------------------------------------------------------------------
    def to_package(self, kind: str, record: Mapping[str, Any]) -> dict[str, Any]:
        """The entity body. Resolves relation and G/L account codes to GUIDs (cached)."""
        return self._body(kind, record, [])

    def _body(self, kind: str, record: Mapping[str, Any], trail: list[Exchange]) -> dict[str, Any]:
        try:
            return to_exact(
                kind, record, self.settings, lambda what, code: self._guid(what, code, kind, trail)
            )
        except _NotInExact as missing:
            raise self._not_found(missing, record, trail) from None

    def deliver(self, kind: str, record: Mapping[str, Any], *, idempotency_key: str) -> Outcome:
        trail: list[Exchange] = []
        if kind in _RELATIONS:
            return self._deliver_relation(kind, record, trail)
        try:
            found = self._find(kind, record, trail)
        except _NotInExact as missing:
            raise self._not_found(missing, record, trail) from None
        if found is not None:
            return Outcome(Result.ALREADY_BOOKED, found, trail)
        body = self._body(kind, record, trail)
        try:
            response = self._call(
                "POST", self._url(ENTITIES[kind].path), kind=kind, trail=trail, json=body
            )
        except DeliveryError as err:
            if err.fault is Fault.DATA and _IN_USE.search(err.message):
                found = self._find(kind, record, trail)
                if found is not None:
                    return Outcome(Result.ALREADY_BOOKED, found, trail)
            raise
        return Outcome(Result.BOOKED, str(_unwrap(response)[ENTITIES[kind].id_field]), trail)

    def _deliver_relation(
        self, kind: str, record: Mapping[str, Any], trail: list[Exchange]
    ) -> Outcome:
        body = self._body(kind, record, trail)
        found = self._account(record["code"], kind, trail)
        if found is None:
            try:
                response = self._call(
                    "POST", self._url("crm/Accounts"), kind=kind, trail=trail, json=body
                )
            except DeliveryError as err:
                # Created meanwhile (an earlier offer whose answer was lost): update it.
                if not (err.fault is Fault.DATA and _CODE_IN_USE.search(err.message)):
                    raise
                found = self._account(record["code"], kind, trail, cached=False)
                if found is None:
                    raise
            else:
                account_id = str(_unwrap(response)["ID"])
                self.cache.set(self._cache_key("account", record["code"]), account_id)
                return Outcome(Result.BOOKED, account_id, trail)
        self._call(
            "PUT", self._url(f"crm/Accounts(guid'{found}')"), kind=kind, trail=trail, json=body
        )
        return Outcome(Result.UPDATED, found, trail)

    def find_existing(self, kind: str, record: Mapping[str, Any]) -> str | None:
        if kind in _RELATIONS:
            return self._account(record["code"], kind, [])
        try:
            return self._find(kind, record, [])
        except _NotInExact:
            return None

    def _find(self, kind: str, record: Mapping[str, Any], trail: list[Exchange]) -> str | None:
        """Look the entry up by what we wrote into it: YourRef, or the entry number in
        the Notes of its lines. Only by our own key, compared whole and exactly (Exact
        compares without case): never a near match that could be another record."""
        if kind == "journal_entry":
            key = entry_key(record)
            path, field = _JOURNAL_LINES, ENTRY_KEY_FIELD
        else:
            key = str(record["invoice_number"])
            path, field = ENTITIES[kind].path, "YourRef"
        if not key:
            return None
        where = f"{field} eq {_quote(key)}"
        if kind == "purchase_invoice":
            # Supplier invoice numbers are only unique per supplier.
            where += f" and Supplier eq guid'{self._guid('supplier', record['relation_code'], kind, trail)}'"
        found = self._select(path, where, f"EntryID,{field}", kind, trail)
        return next((str(row["EntryID"]) for row in found if str(row.get(field)) == key), None)

    # --- GUIDs of codes --------------------------------------------------------------
    def _account(
        self, code: str, kind: str, trail: list[Exchange], *, cached: bool = True
    ) -> str | None:
        try:
            return self._guid("account", code, kind, trail, cached=cached)
        except _NotInExact:
            return None

    def _guid(
        self, what: str, code: str, kind: str, trail: list[Exchange], *, cached: bool = True
    ) -> str:
        key = self._cache_key(what, code)
        guid = self.cache.get(key) if cached else None
        if guid:
            return str(guid)
        path, _ = _LOOKUPS[what]
        # Exact stores relation codes right-aligned in 18 characters; compare like with like.
        wanted = code.strip().rjust(18) if path == "crm/Accounts" else code.strip()
        found = self._select(path, f"Code eq {_quote(wanted)}", "ID,Code", kind, trail)
        if not found:
            raise _NotInExact(what, code)
        guid = str(found[0]["ID"])
        self.cache.set(key, guid)
        return guid

    def _cache_key(self, what: str, code: str) -> str:
        # Customers and suppliers share crm/Accounts, hence one namespace for both.
        namespace = "account" if what == "supplier" else what
        return f"exact:{urlparse(self.base_url).hostname}:{self.settings['division']}:{namespace}:{code.strip()}"

    def _select(
        self, path: str, where: str, select: str, kind: str, trail: list[Exchange]
    ) -> list[dict[str, Any]]:
        response = self._call(
            "GET",
            self._url(path),
            kind=kind,
            trail=trail,
            params={"$filter": where, "$select": select},
        )
        rows = _unwrap(response)
        return rows if isinstance(rows, list) else [rows]

    def _not_found(
        self, missing: _NotInExact, record: Mapping[str, Any], trail: list[Exchange]
    ) -> DeliveryError:
        if missing.what == "gl_account":
            field = next(
                (
                    f"lines.{i}.gl_account"
                    for i, line in enumerate(record.get("lines", []))
                    if line.get("gl_account") == missing.code
                ),
                "lines",
            )
            message = f"Not found: Account {missing.code}"
        else:
            field = "relation_code"
            message = (
                f"Not found: Account {missing.code} (no relation with this code in Exact Online)"
            )
        return DeliveryError(
            message, fault=Fault.DATA, field_errors={field: message}, exchanges=trail
        )

    # --- errors and limits ------------------------------------------------------------
    def parse_error(self, kind: str, response: httpx.Response) -> tuple[str, dict[str, str]]:
        return parse_exact_error(kind, response)

    def _refusal(self, kind: str, response: httpx.Response, trail: list[Exchange]) -> DeliveryError:
        if response.status_code == 403:
            # WrongDivision or an app without access: only reconnecting helps.
            return self._login_refused(self._error_text(kind, response) or "HTTP 403", trail)
        return super()._refusal(kind, response, trail)

    def _is_business_rule(self, message: str) -> bool:
        # Exact answers rule violations ("Mandatory: Relationship") with a 500 that
        # explains itself; a bare reason phrase is Exact having a bad moment.
        return bool(message) and message.strip().lower() not in _REASON_PHRASES

    def _error_text(self, kind: str, response: httpx.Response) -> str:
        message, _ = self.parse_error(kind, response)
        return (
            message.replace("\n", "; ")
            or response.text[:200].strip()
            or f"HTTP {response.status_code}"
        )

    def rate_limit_state(self, response: httpx.Response) -> tuple[int, float] | None:
        remaining = response.headers.get("X-RateLimit-Minutely-Remaining")
        reset = response.headers.get("X-RateLimit-Minutely-Reset")
        if remaining is None or reset is None:
            return None
        try:
            return int(remaining), int(reset) / 1000.0  # Exact sends epoch milliseconds
        except ValueError:
            return None

    # --- connecting ----------------------------------------------------------------
    def check_connection(self) -> str:
        response = self._call(
            "GET",
            f"{self.base_url}/api/v1/current/Me",
            kind="",
            trail=[],
            params={"$select": "CurrentDivision,FullName"},
        )
        me = _unwrap(response)
        me = me[0] if isinstance(me, list) and me else me
        return f"{me.get('FullName', '')}, division {me.get('CurrentDivision', '')}".strip(", ")


def _unwrap(response: httpx.Response) -> Any:
    """``{"d": {...}}`` or ``{"d": {"results": [...]}}`` → the object or the list."""
    answer = response.json()
    inner = answer.get("d", answer) if isinstance(answer, dict) else answer
    if isinstance(inner, dict) and isinstance(inner.get("results"), list):
        return inner["results"]
    return inner


def _quote(value: object) -> str:
    return "'" + str(value).replace("'", "''") + "'"
