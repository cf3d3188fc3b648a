"""The upload service's stand-in: a dropped fmuta6.csv reaches the portal once, even after an outage."""

from __future__ import annotations

import json
import os
import time

import pytest
from django.core.management import call_command

from runs.models import Run
from tests.runs.test_fmuta6 import EXAMPLE

# Nothing listens here: the portal is down.
DOWN = "http://127.0.0.1:9"


def drop(folder, text: str = EXAMPLE):
    path = folder / "fmuta6.csv"
    path.write_text(text, encoding="utf-8")
    # Written a while ago: the watcher takes a file only once it has stopped growing.
    os.utime(path, (time.time() - 5, time.time() - 5))
    return path


def watch(folder, integration, url, token):
    call_command(
        "erp_watch", str(folder), integration=integration.pk, url=url, token=token, once=True
    )


@pytest.mark.django_db(transaction=True)
def test_a_file_dropped_while_the_portal_is_down_is_sent_once_it_is_up(
    live_server, integration, tmp_path, capsys
):
    token = integration.issue_intake_token()
    drop(tmp_path)

    watch(tmp_path, integration, DOWN, token)

    assert "cannot be reached" in capsys.readouterr().out
    assert not Run.objects.exists()
    assert not (tmp_path / "fmuta6.csv").exists()  # out of the ERP's way, kept in the outbox
    assert len(list((tmp_path / "outbox").glob("*.csv"))) == 1
    drop(tmp_path)  # the ERP writes its next export meanwhile

    watch(tmp_path, integration, live_server.url, token)
    watch(tmp_path, integration, live_server.url, token)

    runs = list(Run.objects.order_by("number"))
    assert [run.total for run in runs] == [4, 4]
    assert sorted(path.name for path in (tmp_path / "sent").iterdir()) == [
        "fmuta6-run-1.csv",
        "fmuta6-run-2.csv",
    ]
    assert not list((tmp_path / "outbox").iterdir())
    assert "Sent fmuta6-" in capsys.readouterr().out


@pytest.mark.django_db(transaction=True)
def test_a_file_the_portal_took_but_whose_answer_was_lost_makes_no_second_run(
    live_server, integration, tmp_path
):
    token = integration.issue_intake_token()
    drop(tmp_path)
    watch(tmp_path, integration, DOWN, token)
    [pending] = (tmp_path / "outbox").iterdir()
    kept = pending.read_bytes()
    watch(tmp_path, integration, live_server.url, token)
    pending.write_bytes(kept)  # as if the move after the answer never happened

    watch(tmp_path, integration, live_server.url, token)

    assert Run.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_refused_file_is_set_aside_with_the_portals_reasons(
    live_server, integration, tmp_path, capsys
):
    token = integration.issue_intake_token()
    drop(tmp_path, EXAMPLE.replace("3.150,75;", "3.150,7x;", 1))

    watch(tmp_path, integration, live_server.url, token)

    assert not Run.objects.exists()
    [errors] = (tmp_path / "refused").glob("*.errors.json")
    assert json.loads(errors.read_text())["errors"][0]["field"] == "amt-curr (column 14)"
    assert "The portal refused" in capsys.readouterr().out


def test_a_file_still_being_written_waits_for_the_next_pass(integration, tmp_path, db):
    (tmp_path / "fmuta6.csv").write_text(EXAMPLE[:100], encoding="utf-8")

    watch(tmp_path, integration, DOWN, "cp_unused")

    assert (tmp_path / "fmuta6.csv").exists()


@pytest.mark.django_db(transaction=True)
def test_open_items_appear_in_the_folder_as_dbopen_csv(
    live_server, integration, tmp_path, shared_state, eager, fast_engine
):
    from integrations.simulators.testing import run_simulator
    from runs.models import Trigger
    from runs.services.open_items import open_items_import_start
    from tests.runs.conftest import connect
    from tests.runs.test_open_items import book, pay

    token = integration.issue_intake_token()
    watch(tmp_path, integration, live_server.url, token)
    assert not (tmp_path / "dbopen.csv").exists()  # no import yet: nothing to write
    with run_simulator("multivers", seed=7) as sim:
        connected = connect(integration, sim)
        booked = book(connected, count=1)
        open_items_import_start(integration=connected, trigger=Trigger.SCHEDULE)

        watch(tmp_path, integration, DOWN, token)  # the portal is down: the folder waits
        assert not (tmp_path / "dbopen.csv").exists()
        watch(tmp_path, integration, live_server.url, token)

        first = (tmp_path / "dbopen.csv").read_text(encoding="utf-8").splitlines()
        assert first[0].startswith("side;relation_code;invoice_number;")
        assert sorted(line.split(";")[2] for line in first[1:]) == sorted(booked)
        sales = next(number for number in booked if number.startswith("VF"))
        pay(sim, connected, "receivable", sales)
        open_items_import_start(integration=connected, trigger=Trigger.SCHEDULE)
        watch(tmp_path, integration, live_server.url, token)

    second = (tmp_path / "dbopen.csv").read_text(encoding="utf-8").splitlines()
    assert [line.split(";")[2] for line in second[1:]] == sorted(set(booked) - {sales})
    assert not list(tmp_path.glob(".dbopen.csv.partial"))
