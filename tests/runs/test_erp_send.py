"""The ERP stand-in sends through the real HTTP intake, and the package refuses what it should."""

from __future__ import annotations

import sqlite3
import threading

import pytest
from django.core.management import call_command
from django.db import connection

from portal import middleware
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


def test_erp_send_waits_and_resends_when_the_portal_is_busy(
    live_server, connected, multivers, eager, capsys, monkeypatch
):
    if connection.vendor != "sqlite":
        pytest.skip("only SQLite locks the whole database against a second writer")
    monkeypatch.setattr(middleware, "RETRY_AFTER_SECONDS", 1)
    # The live server's connections give up on the lock after 0.2 s instead of 20.
    monkeypatch.setitem(connection.settings_dict["OPTIONS"], "timeout", 0.2)
    token = connected.issue_intake_token()
    holder = sqlite3.connect(connection.settings_dict["NAME"], check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    release = threading.Timer(1.5, holder.rollback)
    release.start()
    try:
        call_command(
            "erp_send",
            integration=connected.pk,
            count=5,
            good=True,
            token=token,
            url=live_server.url,
        )
    finally:
        release.join()
        holder.close()
    assert "Sent 5 records: run #1" in capsys.readouterr().out
    assert Run.objects.get(integration=connected).total == 5
