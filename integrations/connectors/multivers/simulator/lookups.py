"""Multivers' look-up lists and the journal-transaction counter."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from starlette.responses import JSONResponse, Response

from integrations.connectors.multivers.simulator import rules
from integrations.connectors.multivers.simulator.rules import error

if TYPE_CHECKING:
    from starlette.requests import Request

    from integrations.connectors.multivers.simulator.app import Administration


def messages(status: int, *found: rules.Message) -> JSONResponse:
    return JSONResponse({"messages": list(found)}, status_code=status)


def administration(request: Request) -> Administration | None:
    return request.app.state.administrations.get(request.path_params["db"])


def in_administration(
    view: Callable[[Request, Administration], Awaitable[Response]],
) -> Callable[[Request], Awaitable[Response]]:
    """The view, given the request's administration; Multivers' 404 when there is none."""

    @functools.wraps(view)
    async def checked(request: Request) -> Response:
        admin = administration(request)
        if admin is None:
            return messages(
                404, error(f"Administratie '{request.path_params['db']}' bestaat niet.")
            )
        return await view(request, admin)

    return checked


@in_administration
async def vat_codes(request: Request, admin: Administration) -> Response:
    return JSONResponse(
        [
            {"vatCodeId": code, "description": text, "vatPercentage": pct}
            for code, (text, pct) in rules.VAT_CODES.items()
        ]
    )


@in_administration
async def journals(request: Request, admin: Administration) -> Response:
    return JSONResponse(
        [
            {"journalId": code, "description": text, "journalType": kind}
            for code, (text, kind) in rules.JOURNALS.items()
        ]
    )


@in_administration
async def accounts(request: Request, admin: Administration) -> Response:
    year = request.path_params["year"]
    if not year.isdigit() or int(year) not in rules.FISCAL_YEARS:
        return messages(404, error(f"Boekjaar '{year}' bestaat niet."))
    return JSONResponse(
        [{"accountId": code, "description": text} for code, text in rules.ACCOUNTS.items()]
    )


@in_administration
async def payment_conditions(request: Request, admin: Administration) -> Response:
    return JSONResponse(
        [{"name": code, "value": text} for code, text in rules.PAYMENT_CONDITIONS.items()]
    )


@in_administration
async def next_transaction(request: Request, admin: Administration) -> Response:
    year, journal = (
        request.query_params.get("fiscalYear", ""),
        request.query_params.get("journalId", ""),
    )
    if not year.isdigit() or int(year) not in rules.FISCAL_YEARS:
        return messages(400, error(f"Boekjaar '{year}' bestaat niet.", "/fiscalYear"))
    if journal not in rules.JOURNALS:
        return messages(400, error(f"Dagboek '{journal}' bestaat niet.", "/journalId"))
    return JSONResponse(admin.reserve_transaction(int(year), journal))
