"""The export benchmark's reference for Multivers: the connector's HTTP calls sent with a bare
``httpx.Client`` (``bench/export_throughput.py`` finds this module through the connector's
``SimulatorSpec``; a package without one is measured against the connector alone).
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

DATABASE = "MVL00001"
RELATIONS = {"customer": "Customer", "supplier": "Supplier"}
INVOICES = {"sales_invoice": "CustomerInvoice", "purchase_invoice": "SupplierInvoice"}


def raw_requests(
    records: list[tuple[str, dict[str, Any]]],
) -> list[tuple[str, dict[str, Any], Any]]:
    """(entity, body, fiscal year + journal for the number call or None), per line."""
    from integrations.canonical import validate_record
    from integrations.connectors.multivers.mapping import to_multivers

    prepared: list[tuple[str, dict[str, Any], Any]] = []
    for kind, raw in records:
        record, _errors = validate_record(kind, raw)
        assert record is not None, _errors
        body = to_multivers(kind, record)
        if kind in RELATIONS:
            prepared.append((RELATIONS[kind], body, None))
        else:
            numbering = {
                "fiscalYear": str(record["fiscal_year"]),
                "journalId": str(record["journal"]),
            }
            prepared.append((INVOICES[kind], body, numbering))
    return prepared


def raw_export(
    simulator: Any, prepared: list[tuple[str, dict[str, Any], Any]], concurrency: int
) -> float:
    """Send every prepared request with ``concurrency`` threads on one client; seconds taken."""
    import httpx

    headers = simulator.auth_headers()
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    base = f"{simulator.base_url}/api/{DATABASE}"
    with httpx.Client(base_url=base, headers=headers, limits=limits, timeout=30) as client:

        def send(item: tuple[str, dict[str, Any], Any]) -> None:
            entity, body, numbering = item
            if numbering is not None:
                number = client.post("/GetNextJournalTransactionCommand", params=numbering)
                body = {**body, "journalTransaction": int(number.raise_for_status().json())}
            client.post(f"/{entity}", json=body).raise_for_status()

        started = time.perf_counter()
        with ThreadPoolExecutor(concurrency) as pool:
            for _ in pool.map(send, prepared):
                pass
        return time.perf_counter() - started
