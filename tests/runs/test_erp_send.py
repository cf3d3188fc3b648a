"""The ERP stand-in sends through the real HTTP intake, and the package refuses what it should."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from runs.models import LineStatus, Run, RunStatus

pytestmark = pytest.mark.usefixtures("fast_engine")


def test_erp_send_delivers_a_realistic_batch_with_a_few_refusals(
    live_server, connected, multivers, eager, capsys
):
    call_command("erp_send", integration=connected.pk, count=40, url=live_server.url)

    assert "Sent 40 records: run #1" in capsys.readouterr().out
    run = Run.objects.get(integration=connected)
    assert run.status == RunStatus.FINISHED
    failed = {line.identifier: line for line in run.lines.filter(status=LineStatus.FAILED)}
    messages = " | ".join(line.message for line in failed.values())
    assert "ShortName is verplicht." in messages
    assert "Btwnummer 'GB123456789' is niet geldig" in messages
    assert "Btwcode '9' bestaat niet." in messages
    assert run.succeeded >= 30, messages
