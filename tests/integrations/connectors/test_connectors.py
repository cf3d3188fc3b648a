"""What every connector does alike, against its package's simulator, over real HTTP.

Each test runs once per package in ``support.PACKAGES``; what only one
package does is in ``test_<key>_connector.py``, what happens to a lost answer in
``test_in_doubt.py``.
"""

from __future__ import annotations

import threading
import time

import pytest

from integrations.connectors.base import DeliveryError, Fault, Result
from integrations.connectors.memory_store import MemoryCredentialStore
from integrations.http import build_client

from . import support
from .support import bookings, connect, natural_key, record, subject

BOOKINGS = ("sales_invoice", "purchase_invoice", "journal_entry")


@pytest.fixture(params=list(support.PACKAGES))
def package(request):
    return request.param


@pytest.fixture
def relations(sims, package):
    """Connected, with customer and supplier 0 of the examples booked."""
    return connect(sims, package)


def twin(connector, credentials):
    """Another worker's connector to the same administration, with its own HTTP client."""
    return type(connector)(
        base_url=connector.base_url,
        settings=connector.settings,
        credentials=credentials,
        client=build_client(base_url=connector.base_url),
    )


@pytest.mark.parametrize("kind", support.KINDS)
def test_it_books_every_kind(sim, package, relations, kind):
    before = len(bookings(sim, package, kind))

    outcome = relations.book(kind, subject(kind, package), idempotency_key="k")

    assert outcome.result is Result.BOOKED
    assert len(bookings(sim, package, kind)) == before + 1
    if kind in relations.findable:
        assert relations.find_existing(kind, subject(kind, package)) == outcome.external_id
    else:
        # No documented look-up: never an answer of "not there" that invites a second post.
        with pytest.raises(DeliveryError) as unknown:
            relations.find_existing(kind, subject(kind, package))
        assert unknown.value.fault is Fault.IN_DOUBT
    assert outcome.exchanges and all(e.status for e in outcome.exchanges)


def test_an_existing_customer_is_updated(sim, package, relations):
    existing = record("customer", 0, package)
    [booked] = bookings(sim, package, "customer", natural_key("customer", existing))

    outcome = relations.book(
        "customer", existing | {"name": "Bakkerij De Vries & Zn."}, idempotency_key="k"
    )

    assert outcome.result is Result.UPDATED
    assert outcome.external_id == booked["id"]
    name = support.PACKAGES[package].name_field
    assert [b["body"][name] for b in sim.ledger() if b.get("update")] == ["Bakkerij De Vries & Zn."]


@pytest.mark.parametrize("kind", BOOKINGS)
def test_a_booked_record_is_not_booked_twice(sim, package, relations, kind):
    if kind not in relations.findable:
        pytest.skip("no documented look-up: the engine never offers such a record again")
    first = relations.book(kind, subject(kind, package), idempotency_key="k")
    again = relations.book(kind, subject(kind, package), idempotency_key="k")

    assert again.result is Result.ALREADY_BOOKED
    assert again.external_id == first.external_id
    assert len(bookings(sim, package, kind)) == 1


@pytest.mark.parametrize("form", ["seconds", "http-date"])
def test_429_is_transient_with_its_retry_after(sim, package, relations, form):
    sim.set_faults(burst_429=1, retry_after_format=form, retry_after_seconds=45)

    with pytest.raises(DeliveryError) as limited:
        relations.book("customer", subject("customer", package), idempotency_key="k")

    assert limited.value.fault is Fault.TRANSIENT
    assert 43 <= limited.value.retry_after <= 46
    again = relations.book("customer", subject("customer", package), idempotency_key="k")
    assert again.result is Result.BOOKED


def test_a_bare_5xx_is_transient_and_books_nothing(sim, package, relations):
    data = subject("customer", package)
    sim.set_faults(error_rate=1)

    with pytest.raises(DeliveryError) as failed:
        relations.book("customer", data, idempotency_key="k")

    assert failed.value.fault is Fault.TRANSIENT
    assert bookings(sim, package, "customer", natural_key("customer", data)) == []


def test_revoked_credentials_stop_the_run(sim, package, relations):
    sim.set_faults(revoke_tokens=True)

    with pytest.raises(DeliveryError) as refused:
        relations.book("customer", subject("customer", package), idempotency_key="k")

    assert refused.value.fault is Fault.RUN
    assert refused.value.message.startswith(f"{relations.label} refused the login: ")
    assert refused.value.message.endswith("reconnect the integration.")


def test_an_expiring_token_is_renewed_on_the_way(sim, package, relations):
    sim.set_faults(token_ttl=2, token_min_interval=0)
    relations._renew(relations.credentials.load()["access_token"], [])
    customers = [record("customer", n, package) for n in (1, 2, 3)]
    for data in customers:
        outcome = relations.book("customer", data, idempotency_key="k")
        assert outcome.result is Result.BOOKED
        time.sleep(1.1)

    assert relations.credentials.rotations >= 2
    for data in customers:
        assert len(bookings(sim, package, "customer", natural_key("customer", data))) == 1


def test_a_used_refresh_token_is_refused(sim, package, relations):
    sim.set_faults(token_min_interval=0)
    old = relations.credentials.load()
    relations._renew(old["access_token"], [])
    replay = twin(relations, MemoryCredentialStore(**(old | {"expires_at": 0})))

    with pytest.raises(DeliveryError) as looking_up:
        replay.find_existing("customer", subject("customer", package))
    with pytest.raises(DeliveryError) as delivering:
        replay.book("customer", subject("customer", package), idempotency_key="k")

    for refused in (looking_up, delivering):
        assert refused.value.fault is Fault.RUN
        assert "reconnect the integration" in refused.value.message


def test_two_workers_renewing_at_once_make_one_token_call(sim, package, relations):
    sim.set_faults(token_min_interval=0)
    store = relations.credentials
    store._credentials["expires_at"] = 0  # both see an expired token
    before = sim.stats()["token_calls"]
    start = threading.Barrier(2)
    errors = []

    def work(n):
        worker = twin(relations, store)
        start.wait()
        try:
            worker.find_existing("customer", record("customer", 10 + n, package))
        except DeliveryError as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)

    assert errors == []
    assert sim.stats()["token_calls"] - before == 1
