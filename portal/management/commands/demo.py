"""The demo supervisor behind ``bin/demo``: one process that owns every other one.

Each child (simulators, Celery worker with beat, web server) starts in a session of its
own, so Ctrl-C reaches only this supervisor, which then stops each child's whole
process group in order (TERM, then KILL after a grace period). Children also get
PR_SET_PDEATHSIG, so even a supervisor killed with SIGKILL leaves no orphan behind.

Once the demo is up, a child that exits is started again (as ``restart: unless-stopped``
or systemd's ``Restart=on-failure`` would in production), unless it keeps dying:
``MAX_RESTARTS`` within ``RESTART_WINDOW_SECONDS`` stops the demo with its log.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import httpx
from django.conf import settings
from django.core.management import call_command, get_commands
from django.core.management.base import BaseCommand, CommandError
from django.db import connections

from integrations.models import Integration
from integrations.simulators.registry import simulator_names, simulator_url
from notifications.backends import mail_destination
from portal.management.commands.seed_demo import demo_companies

HOST, PORT = "127.0.0.1", 8000
STOP_GRACE_SECONDS = 10
START_TIMEOUT_SECONDS = 60
PR_SET_PDEATHSIG = 1
MAX_RESTARTS = 5
RESTART_WINDOW_SECONDS = 60.0


class Stop(Exception):
    """Raised from the signal handler to leave the wait loop."""


@dataclass
class Child:
    name: str
    process: subprocess.Popen[bytes]
    log_path: Path
    command: list[str]
    restarts: list[float] = field(default_factory=list)  # monotonic times


def _die_with_parent() -> None:
    # Linux only; elsewhere the supervisor's own clean-up is all there is.
    if sys.platform.startswith("linux"):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


class Command(BaseCommand):
    help = "Start the whole demo (simulators, worker, beat, web) in one process tree."

    def handle(self, *args: Any, **options: Any) -> None:
        self.children: list[Child] = []
        self.log_dir = Path(settings.VAR_DIR) / "log"
        self.log_dir.mkdir(parents=True, exist_ok=True)
        if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.sqlite3":
            self.stdout.write("Note: DATABASE_URL is set; the demo uses that database.")
        _refuse_busy_port(PORT)
        signal.signal(signal.SIGINT, self._on_signal)
        signal.signal(signal.SIGTERM, self._on_signal)
        try:
            self._start()
            self._wait()
        except Stop:
            pass
        finally:
            self._stop_all()

    def _on_signal(self, signum: int, frame: Any) -> None:
        # Ignore further Ctrl-C while stopping, so a double press cannot leave orphans.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        raise Stop

    def _start(self) -> None:
        python = sys.executable
        call_command("migrate", verbosity=0, interactive=False)
        self._spawn("simulators", [python, "-m", "integrations.simulators", "all"])
        for name in simulator_names():
            self._wait_for_port(simulator_url(name))
        call_command("seed_demo", stdout=self.stdout)
        # The worker and the web server open the SQLite file themselves; let go of ours.
        connections.close_all()
        # Failure digests within the demo's first minute rather than after half an hour.
        os.environ.setdefault("MAIL_DIGEST_WINDOW_SECONDS", "20")
        schedule = str(Path(settings.VAR_DIR) / "celerybeat-schedule")
        self._spawn(
            "worker",
            [
                python,
                "-m",
                "celery",
                "-A",
                "portal",
                "worker",
                "-l",
                "info",
                "--concurrency",
                "2",
                "-B",
                "--schedule",
                schedule,
            ],
        )
        self._spawn("web", [python, "manage.py", "runserver", f"{HOST}:{PORT}", "--noreload"])
        self._wait_for_health()
        self._send_batches()
        self._watch_erp_folder()
        self.stdout.write(self.style.SUCCESS(f"\nCloud Portal runs at http://{HOST}:{PORT}/"))
        self.stdout.write(f"Admin: http://{HOST}:{PORT}/admin/   Logs: {self.log_dir}/")
        self.stdout.write(f"Mail (failure digests within a minute): {mail_destination()}")
        self.stdout.write("Log in with one of the demo logins above. Ctrl-C stops everything.")

    def _watch_erp_folder(self) -> None:
        """The upload service's stand-in on a folder of the first demo company whose package
        takes the examples' journals as they are (no ``example_journals`` of its own), as
        the example ``docs/examples/fmuta6.csv`` has them."""
        integration = next(
            (i for i in demo_integrations() if not i.connector_class.example_journals), None
        )
        if integration is None:
            return
        folder = Path(settings.VAR_DIR) / "erp-folder" / integration.company.slug
        folder.mkdir(parents=True, exist_ok=True)
        token = integration.issue_intake_token()
        command = [sys.executable, "manage.py", "erp_watch", str(folder)]
        command += ["--integration", str(integration.pk), "--url", f"http://{HOST}:{PORT}"]
        self._spawn("erp_watch", [*command, "--token", token])
        example = Path(settings.BASE_DIR) / "docs" / "examples" / "fmuta6.csv"
        self.stdout.write(
            f"Reflex 3000's folder for {integration.company.name}: {folder}\n"
            f"  drop an export there, e.g.  cp {example} {folder}/"
        )

    def _spawn(self, name: str, command: list[str]) -> None:
        log_path = self.log_dir / f"{name}.log"
        process = _popen(command, log_path)
        self.children.append(Child(name, process, log_path, command))
        self.stdout.write(f"Started {name} (pid {process.pid}), log in {log_path}")

    def _check_children(self) -> None:
        """While starting: a child that exits means the demo cannot come up."""
        for child in self.children:
            code = child.process.poll()
            if code is not None:
                raise CommandError(f"{child.name} stopped with exit code {code}:\n{_tail(child)}")

    def _restart_dead_children(self) -> None:
        """Once up: start a child that exited again, unless it keeps dying."""
        for child in self.children:
            code = child.process.poll()
            if code is None:
                continue
            now = time.monotonic()
            child.restarts = [at for at in child.restarts if now - at < RESTART_WINDOW_SECONDS]
            if len(child.restarts) >= MAX_RESTARTS:
                raise CommandError(
                    f"{child.name} stopped {MAX_RESTARTS} times within "
                    f"{RESTART_WINDOW_SECONDS:.0f} s (exit code {code}):\n{_tail(child)}"
                )
            child.restarts.append(now)
            child.process = _popen(child.command, child.log_path)
            self.stderr.write(
                f"{child.name} stopped with exit code {code}; started it again "
                f"(pid {child.process.pid}), log in {child.log_path}"
            )

    def _wait_for_port(self, url: str) -> None:
        parsed = httpx.URL(url)
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            self._check_children()
            try:
                with socket.create_connection((parsed.host, parsed.port or 80), timeout=1):
                    return
            except OSError:
                time.sleep(0.2)
        raise CommandError(f"Nothing answers on {url} after {START_TIMEOUT_SECONDS} s.")

    def _wait_for_health(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            self._check_children()
            try:
                if httpx.get(f"http://{HOST}:{PORT}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise CommandError(
            f"The web server did not answer /healthz within {START_TIMEOUT_SECONDS} s."
        )

    def _send_batches(self) -> None:
        """A fresh batch to each of the demo's own integrations; a refusal is reported.

        Integrations someone added (in the admin, say: disabled, not connected) are
        not the demo's to send to, and a batch one of ours refuses must not keep the
        portal from coming up.
        """
        if "erp_send" not in get_commands():
            self.stderr.write("erp_send is not available yet: no fresh runs were sent.")
            return
        for integration in demo_integrations():
            try:
                call_command(
                    "erp_send",
                    integration=integration.pk,
                    url=f"http://{HOST}:{PORT}",
                    stdout=self.stdout,
                )
            except CommandError as exc:
                self.stderr.write(f"No fresh batch for {integration}: {exc}")
        connections.close_all()

    def _wait(self) -> None:
        while True:
            self._restart_dead_children()
            time.sleep(0.5)

    def _stop_all(self) -> None:
        # TERM to each leader only: Celery then stops its own pool and beat cleanly
        # (a TERM to the whole group would kill the pool under it).
        for child in reversed(self.children):
            if child.process.poll() is None:
                child.process.terminate()
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for child in reversed(self.children):
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            # Whatever is left in the group (a stuck pool process) does not outlive us.
            _signal_group(child.process, signal.SIGKILL)
            child.process.wait()
        if self.children:
            self.stdout.write("Stopped " + ", ".join(child.name for child in self.children) + ".")


def demo_integrations() -> list[Integration]:
    """The integrations ``seed_demo`` made and keeps, one per demo company."""
    found = []
    for demo in demo_companies():
        integration = (
            Integration.objects.filter(company__slug=demo.slug, connector=demo.connector)
            .order_by("pk")
            .first()
        )
        if integration is not None:
            found.append(integration)
    return found


def _popen(command: list[str], log_path: Path) -> subprocess.Popen[bytes]:
    log: IO[bytes] = log_path.open("ab")
    try:
        return subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
            command,
            cwd=settings.BASE_DIR,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent,  # no threads run yet, so preexec_fn is safe
        )
    finally:
        log.close()


def _tail(child: Child) -> str:
    return "\n".join(child.log_path.read_text(errors="replace").splitlines()[-20:])


def _signal_group(process: subprocess.Popen[bytes], signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signum)


def _refuse_busy_port(port: int) -> None:
    with socket.socket() as probe:
        if probe.connect_ex((HOST, port)) == 0:
            raise CommandError(f"Port {port} on {HOST} is in use; stop what runs there first.")
