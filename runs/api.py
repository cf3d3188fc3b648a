"""The intake API Reflex 3000 talks to: ``/api/v1/…``, a bearer token per integration.

Request bodies are read and checked by ``runs.intake`` rather than by ninja's
schema binding, so a refusal has one shape (``detail`` + ``errors`` naming line and
field) whatever went wrong. The schemas below still describe the bodies in the
OpenAPI document.
"""

from __future__ import annotations

import csv
from typing import Any, Literal
from urllib.parse import urlencode

from django.db import OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.urls import reverse
from ninja import NinjaAPI, Schema, Status
from ninja.errors import ValidationError
from ninja.security import HttpBearer

from integrations.canonical import KINDS
from integrations.models import Integration, hash_intake_token
from portal.middleware import busy_response, database_busy
from runs.intake import (
    IntakeError,
    body_hash,
    body_spool,
    check_size,
    intake_accept,
    records_from_csv,
    records_from_json_stream,
)
from runs.models import OpenItem, Run
from runs.open_items_selectors import open_items_csv_rows, open_items_page, snapshot_cursor
from runs.selectors import run_lines_read_back

MAX_PAGE = 5000


class IntakeToken(HttpBearer):
    def __call__(self, request: HttpRequest) -> Integration | None:
        # Not HttpBearer's: under DEBUG it logs the whole header when the scheme is not
        # "Bearer", which put a token sent as "Basic cp_…" in the log in clear.
        scheme, _, token = request.headers.get(self.header, "").partition(" ")
        if scheme.lower() != self.openapi_scheme or not token:
            return None
        return self.authenticate(request, token)

    def authenticate(self, request: HttpRequest, token: str) -> Integration | None:
        return (
            Integration.objects.select_related("company")
            .filter(intake_token_hash=hash_intake_token(token), enabled=True)
            .first()
        )


# Swagger's page would load its script from a CDN, which the CSP (and the brief) forbid;
# the OpenAPI document itself is served.
api = NinjaAPI(
    title="Cloud Portal intake",
    version="1",
    description="Reflex 3000 sends batches of records; each batch becomes one run. See docs/intake.md.",
    urls_namespace="api",
    docs_url=None,
    auth=IntakeToken(),
)


class Record(Schema):
    kind: Literal["customer", "supplier", "sales_invoice", "purchase_invoice", "journal_entry"]
    identifier: str
    data: dict[str, Any]


class Batch(Schema):
    records: list[Record]


class Problem(Schema):
    line: int
    identifier: str | None = None
    field: str | None = None
    message: str


class Refusal(Schema):
    detail: str
    errors: list[Problem] = []


class RunCreated(Schema):
    id: int
    number: int
    status: str
    total: int
    url: str


class LineOut(Schema):
    position: int
    kind: str
    identifier: str
    status: str
    message: str
    field_errors: dict[str, str]
    external_id: str


class RunOut(Schema):
    id: int
    number: int
    status: str
    error: str
    total: int
    succeeded: int
    failed: int
    skipped: int
    queued_at: str
    started_at: str | None
    finished_at: str | None
    lines: list[LineOut]
    next: str | None


assert set(KINDS) == set(Record.model_fields["kind"].annotation.__args__)  # type: ignore[union-attr]

_REFUSALS: dict[int | tuple[int, ...], type] = {(400, 401, 409, 413, 415, 422): Refusal}


def _integration(request: HttpRequest) -> Integration:
    """The integration ``IntakeToken`` authenticated: django-ninja sets it as ``request.auth``."""
    integration = getattr(request, "auth", None)
    assert isinstance(integration, Integration), "an intake view ran without IntakeToken"
    return integration


@api.exception_handler(OperationalError)
def _database_busy(request: HttpRequest, exc: OperationalError) -> HttpResponse:
    # django-ninja answers every exception itself, so the middleware never sees this one.
    if database_busy(exc):
        return busy_response(json=True)
    raise exc


@api.exception_handler(ValidationError)
def _bad_parameters(request: HttpRequest, exc: ValidationError) -> JsonResponse:
    # ninja's own answer is a 422 with a list as "detail"; ours is one shape for every
    # refusal, and a query that is not valid is a 400.
    problems = "; ".join(
        f"{'.'.join(str(part) for part in error.get('loc', ())[1:])}: {error.get('msg', '')}"
        for error in exc.errors
    )
    return JsonResponse({"detail": f"The request is not valid: {problems}."}, status=400)


@api.exception_handler(IntakeError)
def _refused(request: HttpRequest, exc: IntakeError) -> JsonResponse:
    return JsonResponse(exc.body(), status=exc.status)


def _created(request: HttpRequest, run: Run, created: bool) -> JsonResponse:
    url = request.build_absolute_uri(reverse("api:run_detail", args=[run.pk]))
    body = {
        "id": run.pk,
        "number": run.number,
        "status": run.status,
        "total": run.total,
        "url": url,
    }
    return JsonResponse(body, status=201 if created else 200)


def _require_content_type(request: HttpRequest, expected: str) -> None:
    """415 unless the body is declared as ``expected`` (a charset or boundary may follow)."""
    given = request.content_type or ""
    if given != expected:
        raise IntakeError(
            415, f"Send the body as {expected}, not {given or 'without a Content-Type'}."
        )


def _idempotency_key(request: HttpRequest) -> str | None:
    key = request.headers.get("Idempotency-Key", "").strip()
    if len(key) > 200:
        raise IntakeError(400, "The Idempotency-Key is longer than 200 characters.")
    return key or None


@api.post(
    "/runs",
    response={200: RunCreated, 201: RunCreated, **_REFUSALS},
    summary="Send a batch of records (JSON)",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": Batch.model_json_schema()}},
        },
        "parameters": [
            {
                "in": "header",
                "name": "Idempotency-Key",
                "required": False,
                "schema": {"type": "string", "maxLength": 200},
                "description": "Resending a batch with the same key answers the first run (200).",
            }
        ],
    },
)
def run_intake(request: HttpRequest):  # type: ignore[no-untyped-def]
    """Validate the whole batch and store it as one queued run (201), or refuse it whole."""
    _require_content_type(request, "application/json")
    idempotency_key = _idempotency_key(request)
    # Not request.body: the body is read in pieces into a spool and its records are
    # parsed one at a time, so a large batch is not held as bytes, text and objects at
    # once (see runs.intake.records_from_json_stream).
    body, digest = body_spool(request, int(request.META.get("CONTENT_LENGTH") or 0))
    with body:
        result = intake_accept(
            integration=_integration(request),
            records=records_from_json_stream(body),
            idempotency_key=idempotency_key,
            digest=digest,
        )
    return _created(request, result.run, result.created)


@api.post(
    "/uploads",
    response={200: RunCreated, 201: RunCreated, **_REFUSALS},
    summary="Upload the ERP's CSV export or its fmuta6.csv",
    description=(
        "Cloud Portal's CSV layout, or Reflex 3000's own fmuta6.csv (Exact's financial-entries "
        "layout version 6), recognised by its shape. See docs/intake.md."
    ),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {"file": {"type": "string", "format": "binary"}},
                        "required": ["file"],
                    }
                }
            },
        }
    },
)
def run_upload(request: HttpRequest):  # type: ignore[no-untyped-def]
    """The same as ``POST /runs``, for a CSV file in the form field ``file``."""
    _require_content_type(request, "multipart/form-data")
    check_size(int(request.META.get("CONTENT_LENGTH") or 0))
    upload = request.FILES.get("file")
    if upload is None:
        raise IntakeError(400, "Send the CSV file as multipart/form-data in the field 'file'.")
    check_size(upload.size or 0)
    content = upload.read()
    result = intake_accept(
        integration=_integration(request),
        records=records_from_csv(content),
        idempotency_key=_idempotency_key(request),
        digest=body_hash(content),
    )
    return _created(request, result.run, result.created)


@api.get(
    "/runs/{run_id}",
    response={200: RunOut, (400, 401, 404): Refusal},
    url_name="run_detail",
    summary="A run and its lines' outcomes",
)
def run_detail(request: HttpRequest, run_id: int, after: int = 0, limit: int = 1000):  # type: ignore[no-untyped-def]
    """Status, counters and each line's outcome, ``limit`` lines after position ``after``."""
    run = Run.objects.filter(pk=run_id, integration=_integration(request)).first()
    if run is None:
        # Another integration's run is as unknown as a run that does not exist.
        return Status(404, {"detail": "No such run."})
    limit = max(1, min(limit, MAX_PAGE))
    lines = list(run_lines_read_back(run=run, after=after, limit=limit))
    following = None
    if len(lines) == limit:
        path = reverse("api:run_detail", args=[run.pk])
        following = request.build_absolute_uri(
            f"{path}?after={lines[-1]['position']}&limit={limit}"
        )
    return Status(
        200,
        {
            "id": run.pk,
            "number": run.number,
            "status": run.status,
            "error": run.error,
            "total": run.total,
            "succeeded": run.succeeded,
            "failed": run.failed,
            "skipped": run.skipped,
            "queued_at": run.queued_at.isoformat(),
            "started_at": run.started_at.isoformat() if run.started_at else None,
            "finished_at": run.finished_at.isoformat() if run.finished_at else None,
            "lines": lines,
            "next": following,
        },
    )


class OpenItemOut(Schema):
    side: Literal["receivable", "payable"]
    relation_code: str
    invoice_number: str
    invoice_date: str | None
    due_date: str | None
    original_amount: str | None
    open_amount: str
    currency: str
    status: Literal["open", "closed"]
    package_id: str
    changed_at: str
    closed_at: str | None


class OpenItemsOut(Schema):
    cursor: int
    items: list[OpenItemOut]
    next: str | None


_OPEN_ITEMS_EXAMPLE = {
    "cursor": 12,
    "items": [
        {
            "side": "receivable",
            "relation_code": "10001",
            "invoice_number": "VF2025-0042",
            "invoice_date": "2025-03-14",
            "due_date": "2025-04-13",
            "original_amount": "1210.00",
            "open_amount": "605.00",
            "currency": "EUR",
            "status": "open",
            "package_id": "VF2025-0042",
            "changed_at": "2025-03-20T09:30:00+00:00",
            "closed_at": None,
        }
    ],
    "next": "https://portal.example/api/v1/open-items?as_of=12&after=4711&limit=1000",
}
_DBOPEN_EXAMPLE = (
    "side;relation_code;invoice_number;invoice_date;due_date;original_amount;open_amount;"
    "currency;status;package_id\r\n"
    "receivable;10001;VF2025-0042;14-03-2025;13-04-2025;1210,00;605,00;EUR;open;VF2025-0042\r\n"
)


def _item_out(item: OpenItem) -> dict[str, Any]:
    return {
        "side": item.side,
        "relation_code": item.relation_code,
        "invoice_number": item.invoice_number,
        "invoice_date": item.invoice_date.isoformat() if item.invoice_date else None,
        "due_date": item.due_date.isoformat() if item.due_date else None,
        "original_amount": None if item.original_amount is None else f"{item.original_amount:.2f}",
        "open_amount": f"{item.open_amount:.2f}",
        "currency": item.currency,
        "status": "closed" if item.closed_at else "open",
        "package_id": item.package_id,
        "changed_at": item.changed_at.isoformat(),
        "closed_at": item.closed_at.isoformat() if item.closed_at else None,
    }


class _Echo:
    """A file-like object for csv.writer that hands each line back instead of storing it."""

    def write(self, value: str) -> str:
        return value


@api.get(
    "/open-items",
    response={200: OpenItemsOut, (400, 401): Refusal},
    url_name="open_items",
    summary="The package's open receivables and payables (JSON, or dbopen.csv)",
    description=(
        "The snapshot of the last open items import. Without `changed_since`: every item "
        "still open. With `changed_since=<cursor>` (the `cursor` of an earlier answer): "
        "only what changed after it — new, amount changed, or closed. JSON pages follow "
        "`next`; with `Accept: text/csv` the whole answer comes as one dbopen.csv file "
        "(our layout, see docs/intake.md) and the cursor in the header X-Open-Items-Cursor."
    ),
    openapi_extra={
        "responses": {
            "200": {
                "description": "A page of items, or the whole dbopen.csv",
                "content": {
                    "application/json": {"example": _OPEN_ITEMS_EXAMPLE},
                    "text/csv": {"schema": {"type": "string"}, "example": _DBOPEN_EXAMPLE},
                },
            }
        }
    },
)
def open_items(  # type: ignore[no-untyped-def]
    request: HttpRequest,
    changed_since: int | None = None,
    as_of: int | None = None,
    after: int = 0,
    limit: int = 1000,
):
    """The open items of the token's integration."""
    integration = _integration(request)
    if changed_since is not None and changed_since < 0:
        raise IntakeError(400, "changed_since is the cursor of an earlier answer (0 or more).")
    if "text/csv" in request.headers.get("Accept", ""):
        return _open_items_csv(integration, changed_since)
    limit = max(1, min(limit, MAX_PAGE))
    page = open_items_page(
        integration=integration, changed_since=changed_since, as_of=as_of, after=after, limit=limit
    )
    following = None
    if page.next_after is not None:
        query = {"as_of": page.as_of, "after": page.next_after, "limit": limit}
        if changed_since is not None:
            query["changed_since"] = changed_since
        following = request.build_absolute_uri(f"{reverse('api:open_items')}?{urlencode(query)}")
    return Status(
        200,
        {
            "cursor": page.as_of,
            "items": [_item_out(item) for item in page.items],
            "next": following,
        },
    )


def _open_items_csv(integration: Integration, changed_since: int | None) -> StreamingHttpResponse:
    as_of = snapshot_cursor(integration=integration)
    writer = csv.writer(_Echo(), delimiter=";", lineterminator="\r\n")
    rows = open_items_csv_rows(integration=integration, changed_since=changed_since, as_of=as_of)
    response = StreamingHttpResponse(
        (writer.writerow(row) for row in rows), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = 'attachment; filename="dbopen.csv"'
    response["X-Open-Items-Cursor"] = str(as_of)
    return response
