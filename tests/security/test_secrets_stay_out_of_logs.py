"""No password, intake token, OAuth code or secret reaches a log line, at any level.

The whole flow runs once with every logger at DEBUG (and DEBUG on, as on the demo):
log in (once wrongly), connect to the package through OAuth, issue an intake token,
send a batch (once with the wrong scheme), deliver it. Then the log is searched.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from django.urls import reverse

from audit.models import AuditEvent
from integrations.canonical import example_record, identifier_of
from integrations.simulators.testing import run_simulator
from runs.models import Run
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def eager():
    from portal.celery import app

    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


def _url(name: str, integration) -> str:
    return reverse(name, args=[integration.company.slug, integration.pk])


def test_a_full_run_of_the_flow_logs_no_secret(
    client, consultant, integration, eager, caplog, settings
):
    settings.DEBUG = True
    caplog.set_level(logging.DEBUG)
    with run_simulator("multivers", seed=7) as sim:
        integration.base_url = sim.base_url
        integration.credentials = {"client_id": sim.client_id, "client_secret": sim.client_secret}
        integration.save()

        wrong = "Wrong-Horse-Battery-41"
        client.post(reverse("login"), {"username": "consultant", "password": wrong})
        assert (
            client.post(
                reverse("login"), {"username": "consultant", "password": PASSWORD}
            ).status_code
            == 302
        )

        pressed = client.post(_url("integration_connect", integration))
        at_package = httpx.get(pressed["Location"], follow_redirects=False)
        back = urlsplit(at_package.headers["location"])
        code = parse_qs(back.query)["code"][0]
        client.get(f"{back.path}?{back.query}", follow=True)

        issued = client.post(_url("intake_token_issue", integration))
        token = re.search(r"cp_[\w-]{20,}", issued.text).group(0)
        data = example_record("customer", 1, package="multivers")
        body = {
            "records": [
                {"kind": "customer", "identifier": identifier_of("customer", data), "data": data}
            ]
        }
        for scheme in ("Basic", "Bearer"):
            client.post(
                "/api/v1/runs",
                body,
                content_type="application/json",
                headers={"Authorization": f"{scheme} {token}"},
            )
        assert Run.objects.get().lines.get().status == "succeeded"

    # The flow's acts are in the audit log, with no secret in it either.
    acts = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"login", "login_failed", "integration_connected", "intake_token_issued"} <= acts
    integration.refresh_from_db()
    secrets = {
        "password": PASSWORD,
        "wrong password": wrong,
        "intake token": token,
        "OAuth code": code,
        "client secret": integration.credentials["client_secret"],
        "access token": integration.credentials["access_token"],
        "refresh token": integration.credentials["refresh_token"],
    }
    logged = caplog.text + "".join(str(record.__dict__) for record in caplog.records)
    assert caplog.records, "the flow logged nothing: the search below would prove nothing"
    logged += "".join(str(event.__dict__) for event in AuditEvent.objects.all())
    leaked = [name for name, secret in secrets.items() if secret in logged]
    assert not leaked
