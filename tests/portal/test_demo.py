"""bin/demo's supervisor: it comes up whatever its database holds, and keeps children alive."""

from __future__ import annotations

import http.server
import io
import sys
import threading
import time
from collections.abc import Iterator

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from integrations.connectors.registry import connector_keys
from integrations.models import Integration
from portal.management.commands import demo
from portal.models import Company


@pytest.fixture
def seeded(db) -> list[Integration]:
    call_command("seed_demo", no_connect=True, stdout=io.StringIO())
    return demo.demo_integrations()


@pytest.fixture
def refusing_portal(monkeypatch) -> Iterator[None]:
    """An intake API that refuses every batch, as the portal does a disabled integration's."""

    class Refuse(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.send_response(401)
            self.end_headers()
            self.wfile.write(b'{"detail": "Integration disabled"}')

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Refuse)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setattr(demo, "PORT", server.server_address[1])
    yield
    server.shutdown()


def test_it_sends_only_to_its_own_integrations(seeded):
    someone_elses = Integration.objects.create(
        company=Company.objects.get(slug="de-vries"),
        name="Added in the admin",
        connector="exact",
        base_url="http://127.0.0.1:9/api",
        enabled=False,
    )
    again = demo.demo_integrations()
    # Every registered package has a demo integration, and nothing else is one.
    assert sorted(i.connector for i in again) == sorted(connector_keys())
    assert someone_elses not in again
    assert again == seeded


def test_a_refused_batch_is_reported_and_the_demo_goes_on(seeded, refusing_portal):
    command = demo.Command(stdout=io.StringIO(), stderr=io.StringIO())
    command._send_batches()  # no CommandError: the portal still comes up

    reported = command.stderr.getvalue()
    assert reported.count("No fresh batch for") == len(seeded)
    assert "The portal refused the batch (HTTP 401)" in reported


def _child(tmp_path, code: int) -> demo.Child:
    command = [sys.executable, "-c", f"raise SystemExit({code})"]
    log = tmp_path / "child.log"
    return demo.Child("worker", demo._popen(command, log), log, command)


def test_a_child_that_dies_is_started_again(tmp_path):
    command = demo.Command(stdout=io.StringIO(), stderr=io.StringIO())
    command.children = [_child(tmp_path, 3)]
    first = command.children[0].process
    first.wait(10)

    command._restart_dead_children()

    assert command.children[0].process is not first
    assert "worker stopped with exit code 3; started it again" in command.stderr.getvalue()


def test_a_child_that_keeps_dying_stops_the_demo(tmp_path):
    command = demo.Command(stdout=io.StringIO(), stderr=io.StringIO())
    command.children = [_child(tmp_path, 3)]
    with pytest.raises(CommandError, match="worker stopped 5 times within 60 s"):
        for _ in range(demo.MAX_RESTARTS + 1):
            command.children[0].process.wait(10)
            command._restart_dead_children()
            time.sleep(0.01)


def test_it_watches_a_folder_for_the_exact_company_and_says_where(
    seeded, tmp_path, settings, monkeypatch
):
    settings.VAR_DIR = tmp_path
    spawned = []
    monkeypatch.setattr(demo.Command, "_spawn", lambda self, name, argv: spawned.append(argv))
    command = demo.Command(stdout=io.StringIO(), stderr=io.StringIO())

    command._watch_erp_folder()

    folder = tmp_path / "erp-folder" / "jansen"
    [argv] = spawned
    assert argv[2:4] == ["erp_watch", str(folder)]
    assert argv[argv.index("--integration") + 1] == str(seeded[1].pk)
    assert folder.is_dir()
    assert f"/docs/examples/fmuta6.csv {folder}/" in command.stdout.getvalue()


def test_the_demo_fetches_open_items_every_few_minutes_and_says_how_to_ask_for_them(
    seeded, tmp_path, settings, monkeypatch
):
    settings.VAR_DIR = tmp_path
    monkeypatch.setattr(demo.Command, "_spawn", lambda self, name, argv: None)
    command = demo.Command(stdout=io.StringIO(), stderr=io.StringIO())

    command._watch_erp_folder()

    said = command.stdout.getvalue()
    folder = tmp_path / "erp-folder" / "jansen"
    assert f"{folder / 'dbopen.csv'} after each import (every 2 minutes)" in said
    assert 'curl -H "Authorization: Bearer cp_' in said
    assert '-H "Accept: text/csv" http://127.0.0.1:8000/api/v1/open-items' in said
    intervals = {integration.open_items_interval for integration in demo.demo_integrations()}
    assert intervals == {settings.DEMO_OPEN_ITEMS_INTERVAL} == {2}


def test_the_demo_shows_a_line_in_doubt_where_the_package_cannot_be_asked(seeded):
    """Multivers documents no way to find a journal entry: the demo's Multivers company has
    one in doubt (its latest run) for a person to decide; the others, which can look
    theirs up, have none."""
    from runs.models import LineStatus, RunLine

    doubtful = RunLine.objects.filter(status=LineStatus.IN_DOUBT).select_related("run")
    by_package = {line.integration.connector: line for line in doubtful}
    expected = {
        integration.connector
        for integration in seeded
        if "journal_entry" not in integration.connector_class.findable
    }
    assert set(by_package) == expected and "multivers" in expected
    line = by_package["multivers"]
    assert line.message.startswith("In doubt — check in Multivers Online")
    assert (line.run.in_doubt, line.run.total) == (1, line.run.lines.count())
    assert line.run.succeeded + line.run.failed + line.run.in_doubt == line.run.total
    (attempt,) = line.delivery_attempts.all()  # the offer whose answer was lost
    assert attempt.outcome == "in_doubt" and "it may have been booked" in attempt.message
