"""The connector contract: what every accounting package plugs in.

A connector turns canonical records (the ERP's view, see ``integrations.canonical``)
into calls on one package's API. It never touches the database: everything it needs
comes in through its constructor (settings, a credential store, an HTTP client), so
the same class runs in a worker, in a test against a simulator, or in a benchmark.

Faults are reported with one exception type, ``DeliveryError``, whose ``fault`` says
what the engine must do with the line:

* ``DATA``      the package refused the record; fail the line at once, show the message.
* ``TRANSIENT`` try again later (timeouts, 429, 5xx); ``retry_after`` when known.
* ``RUN``       nothing can succeed in this run (credentials refused, wrong division);
                stop the run, keep its pending lines resumable.
* ``IN_DOUBT``  the request may have reached the package (connection dropped after
                sending); look the record up before offering it again.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import enum
import importlib
import re
import time
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar, Protocol
from urllib.parse import urlencode, urlparse

import httpx

from integrations import wording
from integrations.exchanges import Exchange, record_exchange

if TYPE_CHECKING:
    from django import forms
    from django.utils.functional import _StrOrPromise as StrOrPromise


class Fault(enum.StrEnum):
    DATA = "data"
    TRANSIENT = "transient"
    RUN = "run"
    IN_DOUBT = "in_doubt"


class DeliveryError(Exception):
    def __init__(
        self,
        message: str,
        *,
        fault: Fault,
        field_errors: Mapping[str, str] | None = None,
        retry_after: float | None = None,
        exchanges: list[Exchange] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.fault = fault
        self.field_errors = dict(field_errors or {})
        self.retry_after = retry_after
        self.exchanges = exchanges or []


class Result(enum.StrEnum):
    BOOKED = "booked"  # created now
    UPDATED = "updated"  # existed (customer/supplier) and was updated
    ALREADY_BOOKED = "already_booked"  # existed (invoice/journal); not booked again


@dataclass
class Outcome:
    result: Result
    external_id: str
    exchanges: list[Exchange] = field(default_factory=list)


class OnExisting(enum.StrEnum):
    SKIP = "skip"  # invoices, journal entries: never book twice
    UPDATE = "update"  # relations: bring the package up to date


# What a package does with a record it already holds, unless a connector says otherwise.
ON_EXISTING: Mapping[str, OnExisting] = {
    "customer": OnExisting.UPDATE,
    "supplier": OnExisting.UPDATE,
    "sales_invoice": OnExisting.SKIP,
    "purchase_invoice": OnExisting.SKIP,
    "journal_entry": OnExisting.SKIP,
}


@dataclass(frozen=True)
class OpenItemRow:
    """One outstanding item as a package lists it, in the portal's words."""

    side: str  # "receivable" (a customer owes us) or "payable" (we owe a supplier)
    package_id: str  # the package's own key of the item, stable between imports
    relation_code: str
    invoice_number: str
    invoice_date: dt.date | None
    due_date: dt.date | None
    original_amount: Decimal | None  # None: the package lists only what is open
    open_amount: Decimal
    currency: str


class UnreadableAnswer(Exception):
    """A package's answer that lacks what its documentation promises (a field missing or
    of the wrong type, an empty page with a link to the next): nothing of it is used."""


@dataclass(frozen=True)
class TokenSet:
    access_token: str
    refresh_token: str
    expires_at: float  # epoch seconds

    def as_dict(self) -> dict[str, Any]:
        return {
            "access_token": self.access_token,
            "refresh_token": self.refresh_token,
            "expires_at": self.expires_at,
        }


class CredentialStore(Protocol):
    """Where a connector reads and renews its OAuth tokens.

    The portal's implementation keeps them encrypted on the Integration row and
    serialises ``rotate`` across workers with a row lock, because Exact Online
    invalidates a refresh token the moment it is used once.
    """

    def load(self) -> dict[str, Any]:
        """Client id/secret and the current tokens (decrypted)."""
        ...

    def rotate(
        self, stale_access_token: str, refresh: Callable[[dict[str, Any]], TokenSet]
    ) -> dict[str, Any]:
        """Renew the tokens at most once across all workers.

        Under a lock: reload; if the access token is no longer ``stale_access_token``
        another worker already renewed it, so return what it stored. Otherwise call
        ``refresh(current)``, store the new TokenSet and return the new credentials.
        """
        ...


# Answers that say "not now" rather than "not this": the record may be offered again.
TRANSIENT_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
# Renew an access token this long before it expires, so a call never leaves with a
# token that dies in flight (Exact Online also refuses a renewal sooner than 570 s).
TOKEN_RENEW_MARGIN = 30.0
# Only a POST creates something; a dropped PUT or GET is simply tried again.
_EFFECTFUL_METHODS = frozenset({"POST"})


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header, in either of its forms.

    ``"120"`` (delta seconds) or an HTTP date (``"Wed, 21 Oct 2026 07:28:00 GMT"``);
    a date in the past means "now" (0). Anything else is None.
    """
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:
        return None
    return max(0.0, moment.timestamp() - (time.time() if now is None else now))


def hosts_of(base_urls: Collection[str]) -> tuple[str, ...]:
    """The host names of a package's base URLs, for ``Connector.known_hosts``."""
    return tuple(urlparse(url).hostname or "" for url in base_urls)


@dataclass(frozen=True)
class RateLimit:
    """The package's published limit for one company (shared by all workers)."""

    calls: int
    per_seconds: float


@dataclass(frozen=True)
class ErrorBudget:
    """A package's limit on error answers, counted per endpoint in a sliding window.

    Exact Online blocks an app's key on an endpoint for an hour once more than 10
    answers of 400/401/403/404 came back on it within an hour. The engine stops
    offering to an endpoint ``stop_at`` errors into the window, so the package's own
    block is never reached by us.
    """

    limit: int  # the package blocks past this many errors in the window
    per_seconds: float  # the window
    statuses: frozenset[int]  # which answers count as errors
    stop_at: int  # we hold an endpoint's lines once this many errors are in the window


@dataclass(frozen=True)
class KnownMessage:
    """A message of the package that people meet again and again, explained.

    Both texts are marked for translation (gettext_lazy); the package's own message is
    shown as it came, above them.
    """

    explanation: StrOrPromise
    # What to do about it, in the package or on the line.
    remedy: StrOrPromise


@dataclass(frozen=True)
class SimulatorSpec:
    """Where a package's simulator lives, for ``python -m integrations.simulators``, the
    demo and the tests (which find every simulator through the connector registry)."""

    app: str  # "module:function" answering create_app(state_path=None, **knobs) -> Starlette
    port: int  # default port for ``python -m integrations.simulators all`` and bin/demo
    oauth_paths: tuple[str, str]  # (authorize, token), relative to the API base
    prefix: str = ""  # path of the API base under the simulator's root ("/V22")


@dataclass(frozen=True)
class DemoCompany:
    """The company ``seed_demo`` puts on a package's simulator (its first administration)."""

    slug: str
    name: str
    reflex_code: str


@dataclass(frozen=True)
class DemoFault:
    """A record the portal accepts and the package refuses, and how a user puts it right:
    the story of the browser flow (tests/browser/test_flow.py), told for every package.

    The flow sends example ``n`` of ``kind`` (``example_record(kind, n, package=key)``)
    with the field at ``path`` set to ``bad`` (``None``: left out), expects the package's
    ``message`` on the line's page, types ``good`` into that field and re-offers it.
    """

    kind: str
    n: int
    path: tuple[str | int, ...]  # ("short_name",) or ("lines", 0, "vat_code")
    bad: Any
    message: str
    good: str
    # Where the package's booked body (the simulator's ledger) keeps the corrected value;
    # empty when the ledger does not keep it (the flow then checks it was booked once).
    booked_path: tuple[str | int, ...] = ()
    # The value found there, when the package keeps it in its own terms (Twinfield's VAT
    # code "VH" for our "2"); by default ``good``.
    booked_value: str | None = None

    @property
    def booked(self) -> str:
        return self.good if self.booked_value is None else self.booked_value

    @property
    def field_id(self) -> str:
        """The line form's input for the field: ``f-lines-0-vat_code``."""
        return "f-" + "-".join(str(part) for part in self.path)

    def spoil(self, record: dict[str, Any]) -> None:
        *parents, last = self.path
        target: Any = record
        for part in parents:
            target = target[part]
        if self.bad is None:
            target.pop(last, None)
        else:
            target[last] = self.bad


class Cache(Protocol):
    """What a connector may keep between calls: shared by every worker of its integration.

    ``connector_for`` passes one backed by Django's cache, whose entries expire
    (``integrations.credentials.IntegrationCache``); without it the connector keeps its
    own, for as long as it lives. Keep only what the package can be asked again: an
    entry may be gone, or stale, at any time.
    """

    def get(self, key: str) -> Any: ...

    def set(self, key: str, value: Any) -> Any: ...

    def delete(self, key: str) -> Any: ...


class _DictCache(dict[str, Any]):
    def set(self, key: str, value: Any) -> None:
        self[key] = value

    def delete(self, key: str) -> None:
        self.pop(key, None)


class Connector:
    """Base class. Subclasses fill in the class attributes and the abstract methods.

    Everything of a package is declared here, so adding one touches only its own folder
    ``integrations/connectors/<key>/`` and one entry point in pyproject.toml.
    """

    key: ClassVar[str]
    label: ClassVar[str]
    # Hosts the integration's base URL may point at (plus local simulators when
    # settings.CONNECTOR_ALLOW_LOCAL_HOSTS is on). Guards against a tenant pointing
    # the worker at an internal address.
    known_hosts: ClassVar[tuple[str, ...]] = ()
    default_base_url: ClassVar[str]
    # Names of the non-secret settings and the secret credentials this package needs.
    settings_form: ClassVar[type[forms.Form]]
    credentials_form: ClassVar[type[forms.Form]]
    on_existing: ClassVar[Mapping[str, OnExisting]] = ON_EXISTING
    rate_limit: ClassVar[RateLimit | None] = None
    # OAuth2 authorization-code flow, relative to the base URL.
    authorize_path: ClassVar[str] = ""
    token_path: ClassVar[str] = ""
    oauth_scope: ClassVar[str] = ""
    # Sent with every API call (e.g. Exact's ``Prefer: return=representation``).
    extra_headers: ClassVar[Mapping[str, str]] = {}
    # Kinds whose ``find_existing`` uses a call the package documents. A line of another
    # kind that is in doubt is never offered again blindly: it waits for a person
    # ("in doubt — check in the package").
    findable: ClassVar[frozenset[str]] = frozenset(ON_EXISTING)
    # The package's limit on error answers per endpoint, or None.
    error_budget: ClassVar[ErrorBudget | None] = None
    # A new access token at most this often (Exact Online: 570 s); 0 when no limit.
    token_min_interval: ClassVar[float] = 0.0
    # Whether ``open_items`` is implemented with calls the package documents; packages
    # without them are skipped by the open items schedule and screens.
    supports_open_items: ClassVar[bool] = False
    # The package's simulator, or None when it has none.
    simulator: ClassVar[SimulatorSpec | None] = None
    # The settings of each demo administration its simulator holds, the first the default
    # (seed_demo, the tests, the benchmarks).
    demo_settings: ClassVar[Sequence[Mapping[str, Any]]] = ()
    # The demo's company on this package; None: seed_demo makes one up from the label.
    demo_company: ClassVar[DemoCompany | None] = None
    # Example records (``integrations.canonical.example_record``) are written for a
    # generic administration; a package whose journals and accounts differ translates
    # them: kind -> journal code, and example account -> the package's account.
    example_journals: ClassVar[Mapping[str, str]] = {}
    example_accounts: ClassVar[Mapping[str, str]] = {}
    # Two records the package refuses and their fix, for the browser flow (``DemoFault``).
    demo_faults: ClassVar[Sequence[DemoFault]] = ()

    def __init__(
        self,
        *,
        base_url: str,
        settings: Mapping[str, Any],
        credentials: CredentialStore,
        client: httpx.Client,
        cache: Cache | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.settings = dict(settings)
        self.credentials = credentials
        self.client = client
        self.cache: Cache = cache if cache is not None else _DictCache()

    @classmethod
    def known_messages(cls) -> Mapping[str, KnownMessage]:
        """The package's catalogue of known messages, keyed on the normalised reason
        (``runs.reasons.reason_of``): ``CATALOGUE`` in the ``known_messages`` module
        beside the connector's own, or nothing when the package has none."""
        package = cls.__module__.rpartition(".")[0]
        try:
            module = importlib.import_module(f"{package}.known_messages")
        except ModuleNotFoundError as exc:
            if exc.name != f"{package}.known_messages":
                raise
            return {}
        return module.CATALOGUE

    @classmethod
    def spoil_examples(cls, records: dict[str, list[dict[str, Any]]]) -> None:
        """Make a few example records (valid to the portal) ones the package refuses, as it
        really does: the demo's faults (``erp_send --with-errors``). Default: none."""

    # --- records -------------------------------------------------------------------
    def to_package(self, kind: str, record: Mapping[str, Any]) -> dict[str, Any]:
        """Map a canonical record (already validated) to the package's JSON body."""
        raise NotImplementedError

    def book(self, kind: str, record: Mapping[str, Any], *, idempotency_key: str) -> Outcome:
        """Book one record in the package. Creates it, or per ``on_existing`` updates/skips it.

        Raises DeliveryError for every fault; never returns on failure.
        """
        raise NotImplementedError

    def find_existing(self, kind: str, record: Mapping[str, Any]) -> str | None:
        """External id of this record in the package (by its natural key), or None."""
        raise NotImplementedError

    def open_items(self) -> Iterator[list[OpenItemRow]]:
        """The package's open receivables and payables, one page of its list at a time.

        Raises DeliveryError for a fault of the call and UnreadableAnswer for an answer
        that cannot be read; the caller keeps its previous snapshot then.
        """
        raise NotImplementedError

    # --- errors --------------------------------------------------------------------
    def parse_error(self, kind: str, response: httpx.Response) -> tuple[str, dict[str, str]]:
        """The package's error body as (one message, {canonical field path: message})."""
        raise NotImplementedError

    def rate_limit_state(self, response: httpx.Response) -> tuple[int, float] | None:
        """(calls remaining, epoch seconds when the window resets) from the headers."""
        return None

    def daily_limit_state(self, response: httpx.Response) -> tuple[int, float] | None:
        """(calls remaining today, epoch seconds when the day resets) from the headers."""
        return None

    def endpoint_of(self, url: str) -> str:
        """The endpoint a call belongs to, as the package counts errors and limits.

        Default: the URL's path without a trailing record key. Connectors refine it.
        """
        path = urlparse(url).path.rstrip("/")
        return re.sub(r"(\(guid'[^']*'\)|/[^/]*\d[^/]*)$", "", path)

    # --- connecting ----------------------------------------------------------------
    def authorize_url(self, *, redirect_uri: str, state: str) -> str:
        query = {
            "client_id": self.credentials.load()["client_id"],
            "redirect_uri": redirect_uri,
            "response_type": "code",
            "state": state,
        }
        if self.oauth_scope:
            query["scope"] = self.oauth_scope
        return f"{self.base_url}{self.authorize_path}?{urlencode(query)}"

    def exchange_code(self, *, code: str, redirect_uri: str) -> TokenSet:
        """Trade an authorization code for tokens. Raises DeliveryError(RUN) if refused."""
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
        return self._token_call(form, self.credentials.load(), [])

    def check_connection(self) -> str:
        """A cheap authenticated call; returns a short description (e.g. division name)."""
        raise NotImplementedError

    # --- calling the package (shared by every connector) ---------------------------
    def _call(
        self,
        method: str,
        url: str,
        *,
        kind: str,
        trail: list[Exchange],
        json: Any = None,
        params: Mapping[str, str] | None = None,
        accept: Collection[int] = (),
    ) -> httpx.Response:
        """One authenticated call, its fault classified once (the engine retries).

        Returns a 2xx answer or one whose status is in ``accept`` (e.g. 404 for a
        look-up); raises DeliveryError otherwise. Renews the tokens before they expire
        and once more on a 401. Every exchange, the token call included, goes to
        ``trail``.
        """
        token = self._access_token(trail)
        response = self._send(method, url, token=token, json=json, params=params, trail=trail)
        if response.status_code == 401:
            token = self._renew(token, trail)
            response = self._send(method, url, token=token, json=json, params=params, trail=trail)
            if response.status_code == 401:
                raise self._login_refused(self._error_text(kind, response), trail)
        status = response.status_code
        if 200 <= status < 300 or status in accept:
            return response
        raise self._refusal(kind, response, trail)

    def _send(
        self,
        method: str,
        url: str,
        *,
        token: str,
        json: Any,
        params: Mapping[str, str] | None,
        trail: list[Exchange],
    ) -> httpx.Response:
        headers = {**self.extra_headers, "Authorization": f"Bearer {token}"}
        request = self.client.build_request(method, url, json=json, params=params, headers=headers)
        return self._transmit(request, trail, record_exchange)

    def _transmit(
        self, request: httpx.Request, trail: list[Exchange], record: Any
    ) -> httpx.Response:
        started = time.time()
        try:
            response = self.client.send(request)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            trail.append(record(request, None, started))
            raise DeliveryError(
                wording.UNREACHABLE(label=self.label, error=type(exc).__name__),
                fault=Fault.TRANSIENT,
                exchanges=trail,
            ) from exc
        except httpx.TransportError as exc:
            trail.append(record(request, None, started))
            if request.method in _EFFECTFUL_METHODS:
                raise DeliveryError(
                    wording.BROKE_OFF(label=self.label, error=type(exc).__name__),
                    fault=Fault.IN_DOUBT,
                    exchanges=trail,
                ) from exc
            raise DeliveryError(
                wording.NO_ANSWER_IN_TIME(label=self.label, error=type(exc).__name__),
                fault=Fault.TRANSIENT,
                exchanges=trail,
            ) from exc
        trail.append(record(request, response, started))
        return response

    def _refusal(self, kind: str, response: httpx.Response, trail: list[Exchange]) -> DeliveryError:
        """A non-2xx answer as the fault it is."""
        status = response.status_code
        message, field_errors = self.parse_error(kind, response)
        if status == 403:
            return DeliveryError(
                wording.ACCESS_REFUSED(label=self.label, detail=message or "HTTP 403"),
                fault=Fault.RUN,
                exchanges=trail,
            )
        if status in TRANSIENT_STATUSES and not (status == 500 and self._is_business_rule(message)):
            return DeliveryError(
                wording.PACKAGE_UNAVAILABLE(label=self.label, status=status),
                fault=Fault.TRANSIENT,
                retry_after=parse_retry_after(response.headers.get("Retry-After")),
                exchanges=trail,
            )
        if status >= 500 and not message:
            return DeliveryError(
                wording.PACKAGE_FAILED(label=self.label, status=status),
                fault=Fault.TRANSIENT,
                exchanges=trail,
            )
        return DeliveryError(
            message or wording.RECORD_REFUSED(label=self.label, status=status),
            fault=Fault.DATA,
            field_errors=field_errors,
            exchanges=trail,
        )

    def _is_business_rule(self, message: str) -> bool:
        """Whether a 500 with this message is the package refusing the record.

        Most packages refuse with a 4xx, so a 500 is a bad moment of theirs; a package
        that answers business rules with 500 (Exact Online) says so here.
        """
        return False

    def _error_text(self, kind: str, response: httpx.Response) -> str:
        message, _ = self.parse_error(kind, response)
        return message or f"HTTP {response.status_code}"

    # --- tokens --------------------------------------------------------------------
    def _access_token(self, trail: list[Exchange]) -> str:
        current = self.credentials.load()
        token = current.get("access_token") or ""
        if not token or float(current.get("expires_at") or 0) - TOKEN_RENEW_MARGIN <= time.time():
            token = self._renew(token, trail)
        return token

    def _renew(self, stale_access_token: str, trail: list[Exchange]) -> str:
        def refresh(current: dict[str, Any]) -> TokenSet:
            if not current.get("refresh_token"):
                raise self._login_refused("no refresh token is stored", trail)
            form = {"grant_type": "refresh_token", "refresh_token": current["refresh_token"]}
            return self._token_call(form, current, trail)

        return str(self.credentials.rotate(stale_access_token, refresh)["access_token"])

    def _token_call(
        self, form: dict[str, str], current: Mapping[str, Any], trail: list[Exchange]
    ) -> TokenSet:
        body = {
            **form,
            "client_id": current.get("client_id", ""),
            "client_secret": current.get("client_secret", ""),
        }
        request = self.client.build_request("POST", f"{self.base_url}{self.token_path}", data=body)
        response = self._transmit(request, trail, record_exchange)
        if response.status_code in (400, 401, 403):
            raise self._login_refused(_oauth_error(response), trail)
        if response.status_code != 200:
            raise self._refusal("", response, trail)
        answer = response.json()
        return TokenSet(
            access_token=answer["access_token"],
            # Packages that do not rotate may leave the refresh token out of the answer.
            refresh_token=answer.get("refresh_token") or current.get("refresh_token", ""),
            expires_at=time.time() + float(answer.get("expires_in") or 600),
        )

    def _login_refused(self, detail: str, trail: list[Exchange]) -> DeliveryError:
        return DeliveryError(
            wording.LOGIN_REFUSED(label=self.label, detail=detail),
            fault=Fault.RUN,
            exchanges=trail,
        )


def _oauth_error(response: httpx.Response) -> str:
    try:
        answer = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    if isinstance(answer, dict):
        detail = answer.get("error_description") or answer.get("error")
        if detail:
            return str(detail)
    return f"HTTP {response.status_code}"
