"""A local stand-in of Twinfield: the login service and one cluster, on one host.

* ``/auth/authentication/connect/authorize`` and ``…/token``: the shared OAuth 2 code
  flow with rotating refresh tokens (``integrations.simulators.oauth``).
* ``GET …/connect/accesstokenvalidation?token=…``: the token's claims, among them
  ``twf.clusterUrl`` = this simulator's own address; an unknown or expired token
  answers 400 (php-twinfield's OpenIdConnectAuthentication).
* ``POST /webservices/processxml.asmx``: SOAP 1.1 ``ProcessXmlString`` (processxml.wsdl):
  ``Content-Type: text/xml`` and ``SOAPAction: "http://www.twinfield.com/ProcessXmlString"``,
  the access token and company code in the ``Header`` (namespace
  ``http://www.twinfield.com/``). What it does with the document: office.py.
* Faults are ASP.NET's SOAP faults (HTTP 500, ``soap:Fault``/``faultstring``): a wrong
  SOAPAction ("Server did not recognize the value of HTTP Header SOAPAction: …"), a
  body that is no envelope, no CompanyCode ("Toegang geweigerd. Company ontbreekt in
  request header.", quoted in php-twinfield). Not confirmed: an expired or unknown
  access token at the cluster answers 401 with a SOAP fault*.
* The shared knobs (``integrations.simulators.common``) apply to ProcessXml calls;
  ``get_error_rate`` to the calls that only read (``read``, ``columns``, ``list``),
  since every ProcessXml call is a POST.
"""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape

from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from integrations.connectors.twinfield import soap
from integrations.connectors.twinfield.simulator import rules
from integrations.connectors.twinfield.simulator.office import Office
from integrations.simulators.common import Faults, Policy, Simulator, build_app, drop_connection
from integrations.simulators.oauth import OAuthWording, oauth_routes

if TYPE_CHECKING:
    from pathlib import Path

    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

LOGIN = "/auth/authentication/connect"
AUTHORIZE_PATH = f"{LOGIN}/authorize"
TOKEN_PATH = f"{LOGIN}/token"
VALIDATION_PATH = f"{LOGIN}/accesstokenvalidation"
DEFAULTS = {"token_ttl": 3600, "rate_limit_per_minute": None, "rate_limit_per_day": None}
READS = {"read", "columns", "list"}


def fault(message: str, code: str = "soap:Server") -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        f'<soap:Envelope xmlns:soap="{soap.SOAP_ENV}"><soap:Body><soap:Fault>'
        f"<faultcode>{code}</faultcode><faultstring>{escape(message)}</faultstring>"
        "</soap:Fault></soap:Body></soap:Envelope>"
    ).encode()


def _fault_response(message: str, status: int = 500, code: str = "soap:Server") -> Response:
    return Response(fault(message, code), status_code=status, media_type="text/xml")


def _result(document: ET.Element) -> Response:
    inner = soap.to_text(document)
    body = (
        '<?xml version="1.0" encoding="utf-8"?>'
        f'<soap:Envelope xmlns:soap="{soap.SOAP_ENV}"><soap:Body>'
        f'<ProcessXmlStringResponse xmlns="{soap.NAMESPACE}">'
        f"<ProcessXmlStringResult>{escape(inner)}</ProcessXmlStringResult>"
        "</ProcessXmlStringResponse></soap:Body></soap:Envelope>"
    )
    return Response(body.encode(), media_type="text/xml; charset=utf-8")


def _call(body: bytes) -> tuple[str, str, ET.Element]:
    """(access token, company code, the document) of a ProcessXmlString envelope."""
    root = soap.parse(body)
    if root.tag != f"{{{soap.SOAP_ENV}}}Envelope":
        raise soap.SoapError("the body is no SOAP 1.1 envelope")
    header = root.find(f"{{{soap.SOAP_ENV}}}Header/{{{soap.NAMESPACE}}}Header")
    token = company = ""
    if header is not None:
        token = (header.findtext(f"{{{soap.NAMESPACE}}}AccessToken") or "").strip()
        company = (header.findtext(f"{{{soap.NAMESPACE}}}CompanyCode") or "").strip()
    request = root.find(
        f"{{{soap.SOAP_ENV}}}Body/{{{soap.NAMESPACE}}}ProcessXmlString/{{{soap.NAMESPACE}}}xmlRequest"
    )
    if request is None or not (request.text or "").strip():
        raise soap.SoapError("ProcessXmlString holds no xmlRequest")
    return token, company, soap.parse(request.text or "")


def _action_ok(request: Request) -> bool:
    return request.headers.get("soapaction", "").strip('"') == soap.SOAP_ACTION


async def process_xml(request: Request) -> Response:
    if not request.headers.get("content-type", "").startswith("text/xml"):
        return Response(status_code=415)
    if not _action_ok(request):
        action = request.headers.get("soapaction", "")
        return _fault_response(
            f"Server did not recognize the value of HTTP Header SOAPAction: {action}.",
            code="soap:Client",
        )
    try:
        _token, company, document = _call(await request.body())
    except soap.SoapError as exc:
        return _fault_response(f"Server was unable to read request. {exc}", code="soap:Client")
    if not company:
        return _fault_response("Toegang geweigerd. Company ontbreekt in request header.")
    offices: dict[str, Office] = request.app.state.offices
    if company not in offices:
        return _fault_response(f"Toegang geweigerd. Geen toegang tot administratie {company}.")
    sim: Simulator = request.app.state.sim
    if document.tag in READS:
        if sim.chance(sim.faults.get_error_rate):
            return _fault_response("Service Unavailable", status=503)
        return _result(_read(offices[company], document))
    return _write(request, sim, offices[company], company, document)


def _read(office: Office, document: ET.Element) -> ET.Element:
    if document.tag == "read":
        return office.read(document)
    if document.tag == "columns":
        return office.browse(document)
    if rules.text(document, "type") != "offices":
        answer = ET.Element(document.tag, result="0", msgtype="error", msg="Onbekend lijsttype.")
        return answer
    answer = ET.Element("offices", result="1")
    for code, name in rules.OFFICES.items():
        ET.SubElement(answer, "office", name=name, shortname=name).text = code
    return answer


def _write(
    request: Request, sim: Simulator, office: Office, company: str, document: ET.Element
) -> Response:
    single = {"dimensions": "dimension", "transactions": "transaction"}.get(document.tag)
    items = list(document) if single else [document]
    for item in items:
        if item.tag == "dimension":
            booking = office.send_dimension(item)
        elif item.tag == "transaction":
            booking = office.send_transaction(item, accept_duplicates=sim.faults.accept_duplicates)
        else:
            item.set("result", "0")
            rules.fail(item, f"Onbekend document '{item.tag}'.")
            continue
        if booking.refused_duplicate:
            sim.ledger.refuse(booking.entity, booking.key, scope=company)
        elif booking.entity:
            sim.ledger.book(
                booking.entity,
                booking.key,
                booking.id,
                booking.body,
                scope=company,
                update=booking.update,
            )
    if single:
        document.set("result", "0" if any(i.get("result") == "0" for i in items) else "1")
    if sim.chance(sim.faults.drop_after_book_rate):
        return drop_connection(request)
    return _result(document)


async def validate_token(request: Request) -> Response:
    sim: Simulator = request.app.state.sim
    token = request.query_params.get("token", "")
    if not sim.tokens.valid(token):
        return JSONResponse({"error": "invalid_token"}, status_code=400)
    root = f"{request.url.scheme}://{request.url.netloc}"
    return JSONResponse(
        {
            "iss": f"{root}/auth",
            "exp": int(time.time()) + sim.faults.token_ttl,
            "twf.organisationCode": "DEMO",
            "twf.organisationUserCode": "DEMO",
            "twf.clusterUrl": root,
            "scope": ["openid", "twf.organisation", "twf.organisationUser", "offline_access"],
        }
    )


class LiftAccessToken:
    """Give the shared fault middleware the SOAP header's access token as a bearer token.

    Twinfield carries the token in the SOAP header, where the shared token check does
    not look; the body is read once here and handed on unchanged. Answers of the shared
    machinery (429, 5xx, 401) say ``text/xml``, since they are SOAP faults here.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != soap.PROCESS_XML_PATH:
            await self.app(scope, receive, send)
            return
        chunks = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if message["type"] != "http.request" or not message.get("more_body"):
                break
        body = b"".join(chunks)
        token = _token_of(body)
        if token:
            scope = {
                **scope,
                "headers": [*scope["headers"], (b"authorization", f"Bearer {token}".encode())],
            }
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def as_xml(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k != b"content-type"]
                message["headers"] = [*headers, (b"content-type", b"text/xml; charset=utf-8")]
            await send(message)

        await self.app(scope, replay, as_xml)


def _token_of(body: bytes) -> str:
    try:
        return _call(body)[0]
    except soap.SoapError:
        return ""


def _classify(path: str) -> tuple[str, str]:
    if path == soap.PROCESS_XML_PATH:
        return "api", "processxml"
    if path == TOKEN_PATH:
        return "token", ""
    return "other", ""


POLICY = Policy(
    classify=_classify,
    error_body=fault,
    unauthorized_body=fault("Toegang geweigerd. Het access token is ongeldig of verlopen."),
    rate_limit_headers=False,
)


def create_app(*, state_path: Path | None = None, **knobs: Any) -> Starlette:
    """A Twinfield simulator; ``knobs`` are :class:`Faults` fields (its defaults)."""
    sim = Simulator(Faults(**{**DEFAULTS, **knobs}), state_path=state_path)
    routes: list[BaseRoute] = [
        *oauth_routes(OAuthWording(AUTHORIZE_PATH, TOKEN_PATH, "invalid_grant")),
        Route(VALIDATION_PATH, validate_token, methods=["GET"]),
        Route(soap.PROCESS_XML_PATH, process_xml, methods=["POST"]),
    ]
    app = build_app(routes, sim, POLICY)

    def fresh() -> None:
        app.state.offices = {code: Office(code) for code in rules.OFFICES}

    def load(offices: dict[str, Office]) -> None:
        app.state.offices = offices

    fresh()
    sim.on_reset.append(fresh)
    sim.records = (lambda: app.state.offices, load)
    sim.restore()
    app.add_middleware(LiftAccessToken)
    return app
