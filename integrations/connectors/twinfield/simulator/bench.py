"""The export benchmark's reference for Twinfield: the connector's calls sent with a bare
``httpx.Client`` (``bench/export_throughput.py`` finds this module beside the simulator).

The connector makes, per record, a look-up and a send: a dimension ``read`` before a
customer or supplier, a browse on the invoice number before an invoice, nothing before a
journal entry (not findable); each a ProcessXmlString envelope to the cluster. The
reference sends the same envelopes, built before the clock starts, on one client.
"""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from typing import Any

OFFICE = "NLA000001"
SETTINGS = {
    "office": OFFICE,
    "destiny": "final",
    "debtors_account": "1300",
    "creditors_account": "1600",
}


def raw_requests(
    records: list[tuple[str, dict[str, Any]]],
) -> list[tuple[ET.Element | None, ET.Element]]:
    """(the look-up document or None, the document to send), per line."""
    from integrations.canonical import validate_record
    from integrations.connectors.twinfield import mapping, soap
    from integrations.connectors.twinfield.connector import BROWSE_CODES

    prepared: list[tuple[ET.Element | None, ET.Element]] = []
    for kind, raw in records:
        record, _errors = validate_record(kind, raw)
        assert record is not None, _errors
        if kind in mapping.RELATIONS:
            look = soap.element("read")
            for tag, value in (
                ("type", "dimensions"),
                ("office", OFFICE),
                ("dimtype", mapping.RELATIONS[kind]),
                ("code", record["code"]),
            ):
                soap.child(look, tag, value)
            prepared.append((look, mapping.dimension(kind, record, OFFICE)))
        elif kind in BROWSE_CODES:
            look = soap.element("columns", code=BROWSE_CODES[kind])
            column = soap.child(look, "column")
            for tag, value in (
                ("field", "fin.trs.line.invnumber"),
                ("operator", "equal"),
                ("from", record["invoice_number"]),
            ):
                soap.child(column, tag, value)
            prepared.append((look, mapping.transaction(kind, record, SETTINGS)))
        else:
            prepared.append((None, mapping.transaction(kind, record, SETTINGS)))
    return prepared


def raw_export(
    simulator: Any, prepared: list[tuple[ET.Element | None, ET.Element]], concurrency: int
) -> float:
    """Send every prepared pair with ``concurrency`` threads on one client; seconds taken."""
    import httpx

    from integrations.connectors.twinfield import soap

    token = simulator.login()["access_token"]
    bodies = [
        (
            None if look is None else soap.envelope(look, access_token=token, company=OFFICE),
            soap.envelope(send, access_token=token, company=OFFICE),
        )
        for look, send in prepared
    ]
    headers = {"Content-Type": soap.CONTENT_TYPE, "SOAPAction": f'"{soap.SOAP_ACTION}"'}
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    url = simulator.root_url + soap.PROCESS_XML_PATH
    with httpx.Client(headers=headers, limits=limits, timeout=30) as client:

        def send(pair: tuple[bytes | None, bytes]) -> None:
            look, body = pair
            if look is not None:
                client.post(url, content=look).raise_for_status()
            answer = client.post(url, content=body).raise_for_status()
            assert soap.result_of(answer.content).get("result") == "1", answer.text

        started = time.perf_counter()
        with ThreadPoolExecutor(concurrency) as pool:
            for _ in pool.map(send, bodies):
                pass
        return time.perf_counter() - started
