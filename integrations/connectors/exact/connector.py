"""Exact Online: OData over ``{host}/api/v1/{division}/…``, OAuth2 with rotating refresh tokens."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import urlparse

import httpx

from integrations import wording
from integrations.connectors.base import (
    Connector,
    DeliveryError,
    ErrorBudget,
    Exchange,
    Fault,
    OpenItemRow,
    Outcome,
    RateLimit,
    Result,
    SimulatorSpec,
    TokenSet,
    hosts_of,
)
from integrations.connectors.exact import examples
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
# Exact refuses a new token within 570 s of the last one: "Rate limit exceeded:
# access_token not expired" (websmurf/laravel-exact-online#31).
_TOKEN_TOO_EARLY = re.compile(r"access_token not expired", re.I)
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


# GUIDs a booking took from the cache: (what, code, GUID).
_Remembered = list[tuple[str, str, str]]


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
    extra_headers = {"Prefer": "return=representation", "Accept": "application/json"}
    authorize_path = "/api/oauth2/auth"
    token_path = "/api/oauth2/token"  # noqa: S105 - a URL path, not a secret
    # More than 10 answers of 400/401/403/404 per endpoint in an hour block the key on
    # it for an hour (Exact's API limits of 1 July 2021); the engine stops at 8.
    error_budget = ErrorBudget(
        limit=10, per_seconds=3600, statuses=frozenset({400, 401, 403, 404}), stop_at=8
    )
    token_min_interval = 570.0
    supports_open_items = True
    simulator = SimulatorSpec(
        app="integrations.connectors.exact.simulator.app:create_app",
        port=8102,
        oauth_paths=("/api/oauth2/auth", "/api/oauth2/token"),
    )
    demo_settings = (
        {
            "division": 123456,
            "sales_journal": "70",
            "purchase_journal": "60",
            "general_journal": "90",
        },
    )

    demo_company = examples.DEMO_COMPANY

    @classmethod
    def spoil_examples(cls, records: dict[str, list[dict[str, Any]]]) -> None:
        examples.spoil(records)

    def _url(self, path: str) -> str:
        return f"{self.base_url}/api/v1/{int(self.settings['division'])}/{path}"

    # --- records -------------------------------------------------------------------
    def to_package(self, kind: str, record: Mapping[str, Any]) -> dict[str, Any]:
        """The entity body. Resolves relation and G/L account codes to GUIDs (cached)."""
        return self._body(kind, record, [], [])

    def _body(
        self, kind: str, record: Mapping[str, Any], trail: list[Exchange], remembered: _Remembered
    ) -> dict[str, Any]:
        try:
            return to_exact(
                kind,
                record,
                self.settings,
                lambda what, code: self._guid(what, code, kind, trail, remembered),
            )
        except _NotInExact as missing:
            raise self._not_found(missing, record, trail) from None

    def book(self, kind: str, record: Mapping[str, Any], *, idempotency_key: str) -> Outcome:
        trail: list[Exchange] = []
        remembered: _Remembered = []
        try:
            return self._book(kind, record, trail, remembered)
        except DeliveryError as err:
            if err.fault is not Fault.DATA or not self._changed(remembered, kind, trail):
                raise
        # A GUID the cache gave is no longer what Exact has for its code (the account was
        # deleted, or made again): once more from the start, the look-up for an earlier
        # booking included, with what Exact answers now.
        return self._book(kind, record, trail, [])

    def _book(
        self, kind: str, record: Mapping[str, Any], trail: list[Exchange], remembered: _Remembered
    ) -> Outcome:
        if kind in _RELATIONS:
            return self._deliver_relation(kind, record, trail, remembered)
        try:
            found = self._find(kind, record, trail, remembered)
        except _NotInExact as missing:
            raise self._not_found(missing, record, trail) from None
        if found is not None:
            return Outcome(Result.ALREADY_BOOKED, found, trail)
        body = self._body(kind, record, trail, remembered)
        try:
            response = self._call(
                "POST", self._url(ENTITIES[kind].path), kind=kind, trail=trail, json=body
            )
        except DeliveryError as err:
            if err.fault is Fault.DATA and _IN_USE.search(err.message):
                found = self._find(kind, record, trail, [])
                if found is not None:
                    return Outcome(Result.ALREADY_BOOKED, found, trail)
            raise
        return Outcome(Result.BOOKED, str(_unwrap(response)[ENTITIES[kind].id_field]), trail)

    def _deliver_relation(
        self, kind: str, record: Mapping[str, Any], trail: list[Exchange], remembered: _Remembered
    ) -> Outcome:
        body = self._body(kind, record, trail, remembered)
        found = self._account(record["code"], kind, trail, remembered)
        if found is None:
            try:
                response = self._call(
                    "POST", self._url("crm/Accounts"), kind=kind, trail=trail, json=body
                )
            except DeliveryError as err:
                # Created meanwhile (an earlier offer whose answer was lost): update it.
                if not (err.fault is Fault.DATA and _CODE_IN_USE.search(err.message)):
                    raise
                found = self._account(record["code"], kind, trail, None)
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
            return self._account(record["code"], kind, [], [])
        try:
            return self._find(kind, record, [], [])
        except _NotInExact:
            return None

    def _find(
        self, kind: str, record: Mapping[str, Any], trail: list[Exchange], remembered: _Remembered
    ) -> str | None:
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
            supplier = self._guid("supplier", record["relation_code"], kind, trail, remembered)
            where += f" and Supplier eq guid'{supplier}'"
        found = self._select(path, where, f"EntryID,{field}", kind, trail)
        return next((str(row["EntryID"]) for row in found if str(row.get(field)) == key), None)

    def open_items(self) -> Iterator[list[OpenItemRow]]:
        from integrations.connectors.exact.open_items import pages

        return pages(self)

    # --- GUIDs of codes --------------------------------------------------------------
    # Every look-up is a call against Exact's 60 a minute and 5,000 a day, so what one
    # found is kept in ``self.cache``: shared by the integration's workers and the slices
    # of a run (``connector_for``), and dropped when Exact refuses a record that used it.
    def _account(
        self, code: str, kind: str, trail: list[Exchange], remembered: _Remembered | None
    ) -> str | None:
        """The account's GUID, or None. ``remembered`` None: ask Exact, not the cache."""
        try:
            return self._guid("account", code, kind, trail, remembered)
        except _NotInExact:
            return None

    def _guid(
        self,
        what: str,
        code: str,
        kind: str,
        trail: list[Exchange],
        remembered: _Remembered | None,
    ) -> str:
        """The GUID of ``code``: from the cache (noted in ``remembered``) or from Exact.

        ``remembered`` None: from Exact, whatever the cache holds.
        """
        key = self._cache_key(what, code)
        if remembered is not None and (guid := self.cache.get(key)):
            remembered.append((what, code, str(guid)))
            return str(guid)
        path, _ = _LOOKUPS[what]
        # Exact stores relation codes right-aligned in 18 characters; compare like with like.
        wanted = code.strip().rjust(18) if path == "crm/Accounts" else code.strip()
        found = self._select(path, f"Code eq {_quote(wanted)}", "ID,Code", kind, trail)
        if not found:
            self.cache.delete(key)
            raise _NotInExact(what, code)
        guid = str(found[0]["ID"])
        self.cache.set(key, guid)
        return guid

    def _changed(self, remembered: _Remembered, kind: str, trail: list[Exchange]) -> bool:
        """Whether a GUID taken from the cache is no longer Exact's for its code.

        Asked after a refusal: each is looked up again, the cache then holds the answer.
        """
        changed = False
        for what, code, guid in dict.fromkeys(remembered):
            try:
                changed |= self._guid(what, code, kind, trail, None) != guid
            except _NotInExact:
                changed = True
        return changed

    def _cache_key(self, what: str, code: str) -> str:
        # Customers and suppliers share crm/Accounts, hence one namespace for both.
        namespace = "account" if what == "supplier" else what
        return f"exact:{urlparse(self.base_url).hostname}:{self.settings['division']}:{namespace}:{code.strip()}"

    def _select(
        self, path: str, where: str, select: str, kind: str, trail: list[Exchange]
    ) -> list[dict[str, Any]]:
        """Every row the filter finds, page after page through ``__next``."""
        url: str | None = self._url(path)
        params: dict[str, str] | None = {"$filter": where, "$select": select}
        rows: list[dict[str, Any]] = []
        while url:
            response = self._call("GET", url, kind=kind, trail=trail, params=params)
            page = _unwrap(response)
            rows += page if isinstance(page, list) else [page]
            # __next carries the whole query (and the $skiptoken), already encoded.
            url, params = _next_page(response), None
        return rows

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
        return _limit_headers(response, "X-RateLimit-Minutely")

    def daily_limit_state(self, response: httpx.Response) -> tuple[int, float] | None:
        return _limit_headers(response, "X-RateLimit")

    def endpoint_of(self, url: str) -> str:
        """``salesentry/SalesEntries``, ``crm/Accounts`` …: Exact counts errors per endpoint."""
        path = urlparse(url).path
        if "/api/v1/" not in path:
            return path
        tail = path.split("/api/v1/", 1)[1].rstrip("/")
        service = tail.split("/", 1)[1] if "/" in tail and tail.split("/")[0].isdigit() else tail
        return re.sub(r"\(guid'[^']*'\)$", "", service)

    def _token_call(
        self, form: dict[str, str], current: Mapping[str, Any], trail: list[Exchange]
    ) -> TokenSet:
        try:
            return super()._token_call(form, current, trail)
        except DeliveryError as err:
            if not _TOKEN_TOO_EARLY.search(err.message):
                raise
            # Too soon after the last token (Exact counts from when it handed that one out,
            # which we only know as its expiry): not a login problem. Offer again once the
            # current token has run out; by then Exact's 570 s have surely passed.
            expires_at = float(current.get("expires_at") or 0)
            wait = max(1.0, expires_at - time.time())
            raise DeliveryError(
                wording.TOKEN_INTERVAL(label=self.label, seconds=int(self.token_min_interval)),
                fault=Fault.TRANSIENT,
                retry_after=wait,
                exchanges=trail,
            ) from err

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


def _next_page(response: httpx.Response) -> str | None:
    answer = response.json()
    inner = answer.get("d") if isinstance(answer, dict) else None
    following = inner.get("__next") if isinstance(inner, dict) else None
    return str(following) if following else None


def _limit_headers(response: httpx.Response, prefix: str) -> tuple[int, float] | None:
    """(remaining, reset in epoch seconds) from Exact's ``<prefix>-Remaining/-Reset``."""
    remaining = response.headers.get(f"{prefix}-Remaining")
    reset = response.headers.get(f"{prefix}-Reset")
    if remaining is None or reset is None:
        return None
    try:
        return int(remaining), int(reset) / 1000.0  # Exact sends epoch milliseconds
    except ValueError:
        return None


def _quote(value: object) -> str:
    return "'" + str(value).replace("'", "''") + "'"
