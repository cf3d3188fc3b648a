"""Twinfield's SOAP envelope around ProcessXml, and the XML documents inside it.

Twinfield's web services are ASP.NET ``.asmx`` SOAP services (namespace
``http://www.twinfield.com/``). ``ProcessXmlString`` takes one XML document as an escaped
string in ``xmlRequest`` and answers it, escaped, in ``ProcessXmlStringResult``; the
access token and the company (office) code travel in the SOAP header
``<Header xmlns="http://www.twinfield.com/"><AccessToken/><CompanyCode/></Header>``
(processxml.wsdl in Twinfield/twinfield-api-reference; php-twinfield's
OpenIdConnectAuthentication). Documents are built with ElementTree; every answer is
parsed with defusedxml, so an answer cannot expand entities or reach the network.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass

from defusedxml import ElementTree as SafeET

NAMESPACE = "http://www.twinfield.com/"
SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
PROCESS_XML_PATH = "/webservices/processxml.asmx"
SOAP_ACTION = f"{NAMESPACE}ProcessXmlString"
CONTENT_TYPE = "text/xml; charset=utf-8"


class SoapError(ValueError):
    """An answer that is no SOAP envelope we understand (the message says what is wrong)."""


def element(tag: str, text: object = None, **attributes: str) -> ET.Element:
    node = ET.Element(tag, attributes)
    if text is not None:
        node.text = str(text)
    return node


def child(parent: ET.Element, tag: str, text: object = None, **attributes: str) -> ET.Element:
    node = element(tag, text, **attributes)
    parent.append(node)
    return node


def to_text(document: ET.Element) -> str:
    return ET.tostring(document, encoding="unicode")


def parse(text: str | bytes) -> ET.Element:
    """An XML document from the package (or a client), parsed safely."""
    try:
        return SafeET.fromstring(text)
    except ET.ParseError as exc:
        raise SoapError(f"not well-formed XML ({exc})") from exc


def envelope(document: ET.Element, *, access_token: str, company: str) -> bytes:
    """A SOAP 1.1 ``ProcessXmlString`` call carrying ``document``."""
    root = element(f"{{{SOAP_ENV}}}Envelope")
    header = child(child(root, f"{{{SOAP_ENV}}}Header"), f"{{{NAMESPACE}}}Header")
    child(header, f"{{{NAMESPACE}}}AccessToken", access_token)
    child(header, f"{{{NAMESPACE}}}CompanyCode", company)
    call = child(child(root, f"{{{SOAP_ENV}}}Body"), f"{{{NAMESPACE}}}ProcessXmlString")
    child(call, f"{{{NAMESPACE}}}xmlRequest", to_text(document))
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def result_of(body: bytes) -> ET.Element:
    """The document inside a ``ProcessXmlStringResponse``."""
    root = parse(body)
    found = root.find(f".//{{{NAMESPACE}}}ProcessXmlStringResult")
    if found is None or not (found.text or "").strip():
        raise SoapError("the answer holds no ProcessXmlStringResult")
    return parse(found.text or "")


def fault_of(body: bytes) -> str:
    """The ``faultstring`` of a SOAP fault, or "" when the body is no fault."""
    try:
        root = parse(body)
    except SoapError:
        return ""
    fault = root.find(f".//{{{SOAP_ENV}}}Fault")
    if fault is None:
        return ""
    return (fault.findtext("faultstring") or "").strip()


@dataclass(frozen=True)
class Message:
    """One ``msg`` Twinfield put on an element of an answered document."""

    path: tuple[
        str, ...
    ]  # tags from the document's root down, e.g. ("lines", "line[1]", "vatcode")
    text: str
    type: str  # "error", "warning", "info"


def messages(document: ET.Element) -> Iterator[Message]:
    """Every ``msg`` in an answer, with where it sits (line elements by their position)."""

    def walk(node: ET.Element, path: tuple[str, ...]) -> Iterator[Message]:
        if node.get("msg"):
            yield Message(path, node.get("msg", ""), node.get("msgtype", "error"))
        positions: dict[str, int] = {}
        for item in node:
            positions[item.tag] = positions.get(item.tag, -1) + 1
            name = f"{item.tag}[{positions[item.tag]}]" if item.tag == "line" else item.tag
            yield from walk(item, (*path, name))

    yield from walk(document, ())


def succeeded(document: ET.Element) -> bool:
    """``result="1"`` on the answered document (a list answers without one)."""
    return document.get("result", "1") == "1"
