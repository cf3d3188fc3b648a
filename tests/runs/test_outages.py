"""Outages of what the engine leans on: Redis (broker and shared state) and the worker itself.

A real ``celery worker`` subprocess, a real simulator and a Redis of the test's own (on
a port of its own), so stopping it touches nobody else. The test calls the sweeper the
way beat does.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import connection

from runs.models import LineStatus, RunStatus, Trigger
from runs.services.export import runs_sweep
from runs.services.runs import run_create
from tests.runs.conftest import ROOT, Worker, _use_configured_broker, connect
from tests.runs.test_worker import assert_booked_once, lines, progress, wait_for

pytestmark = [pytest.mark.worker, pytest.mark.timeout(300)]

OWN_REDIS_PORT = 16411


class OwnRedis:
    """A throw-away ``redis-server`` without persistence: a restart starts it empty."""

    def __init__(self, port: int, workdir: Path) -> None:
        self.port, self.workdir = port, workdir
        self.url = f"redis://127.0.0.1:{port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        program = shutil.which("redis-server") or "redis-server"
        args = ["--port", str(self.port), "--save", "", "--appendonly", "no"]
        self.process = subprocess.Popen(
            [program, *args, "--dir", str(self.workdir)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"redis-server did not start on port {self.port}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)


@pytest.fixture
def own_redis(tmp_path) -> Iterator[OwnRedis]:
    if not shutil.which("redis-server"):
        pytest.skip("redis-server is not installed")
    redis = OwnRedis(OWN_REDIS_PORT, tmp_path)
    redis.start()
    yield redis
    redis.stop()


def _worker_env(**extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.runs.worker_settings",
        "WORKER_TEST_DATABASE": str(connection.settings_dict["NAME"]),
        "PYTHONPATH": str(ROOT),
        **extra,
    }


@pytest.fixture
def broker_on(transactional_db, shared_state, fast_engine, settings):
    """Point this process's Celery app at ``url`` (the worker gets it in its env)."""
    from portal.celery import app

    def point(url: str) -> None:
        settings.CELERY_BROKER_URL = url
        _use_configured_broker(app)

    yield point
    settings.CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", settings.CELERY_BROKER_URL)
    _use_configured_broker(app)


def test_a_redis_outage_mid_run_fails_no_line_and_the_worker_lives(
    own_redis, broker_on, integration, multivers, tmp_path
):
    broker_on(own_redis.url)
    connected = connect(integration, multivers)
    multivers.set_faults(latency_ms=20)
    env = _worker_env(REDIS_URL=own_redis.url, CELERY_BROKER_URL=own_redis.url)
    worker = Worker(env, tmp_path / "worker.log", "prefork")
    worker.start()
    try:
        run = run_create(integration=connected, trigger=Trigger.INTAKE, lines=lines(600))
        wait_for(run, lambda r: progress(r) >= 100, timeout=60, worker=worker, sweep=False)

        own_redis.stop()
        time.sleep(30)
        assert worker.process is not None and worker.process.poll() is None, worker.output()
        own_redis.start()  # empty: the queued wake-ups are gone, as in a real outage

        run = wait_for(run, lambda r: r.status == RunStatus.FINISHED, timeout=120, worker=worker)
        assert worker.process.poll() is None, worker.output()
        assert (run.succeeded, run.failed) == (600, 0)
        assert_booked_once(multivers, run)
        assert "Unrecoverable error" not in worker.output()
    finally:
        worker.stop()


def test_a_killed_worker_s_run_moves_again_within_a_minute(
    worker_factory, integration, multivers, tmp_path, settings
):
    """Production pace (heartbeat 10 s, stale after 30 s, beat sweeping every 15 s)."""
    connected = connect(integration, multivers)
    multivers.set_faults(latency_ms=10)
    env = _worker_env(
        DJANGO_SETTINGS_MODULE="tests.runs.worker_settings_production_pace",
        CELERY_BROKER_URL=settings.CELERY_BROKER_URL,
    )
    worker = Worker(env, tmp_path / "killed.log", "solo")
    worker.start()
    run = run_create(integration=connected, trigger=Trigger.INTAKE, lines=lines(3000))
    wait_for(run, lambda r: progress(r) >= 300, timeout=60, worker=worker, sweep=False)
    worker.kill()
    killed_at = time.monotonic()
    in_flight = list(run.lines.filter(status=LineStatus.DELIVERING).values_list("pk", flat=True))
    assert in_flight
    replacement = Worker(env, tmp_path / "replacement.log", "solo")
    replacement.start()
    try:
        settings.RUN_HEARTBEAT_STALE_SECONDS = 30  # the sweeper here judges as production's
        moved_at = None
        next_sweep = killed_at
        while time.monotonic() - killed_at < 90:
            if time.monotonic() >= next_sweep:
                runs_sweep()
                next_sweep += 15
            settled = run.lines.filter(pk__in=in_flight).exclude(status=LineStatus.DELIVERING)
            if settled.filter(status=LineStatus.SUCCEEDED).count() == len(in_flight):
                moved_at = time.monotonic()
                break
            time.sleep(0.5)
        assert moved_at is not None, replacement.output()
        recovery = moved_at - killed_at
        print(f"recovery after kill -9: {recovery:.1f} s")  # measured for docs/delivery.md
        assert recovery < 60
        run = wait_for(
            run, lambda r: r.status == RunStatus.FINISHED, timeout=180, worker=replacement
        )
        assert (run.succeeded, run.failed) == (3000, 0)
        assert_booked_once(multivers, run)
    finally:
        replacement.stop()
