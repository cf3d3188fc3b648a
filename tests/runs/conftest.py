"""Fixtures for runs: a simulator, an integration connected to it, a real Celery worker."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.utils import timezone

from integrations import limits
from integrations.canonical import example_record
from integrations.models import Integration
from integrations.simulators.testing import run_simulator
from tests.runs.engine_settings import FAST_ENGINE

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def fast_engine(settings):
    for name, value in FAST_ENGINE.items():
        setattr(settings, name, value)
    return settings


@pytest.fixture
def shared_state(transactional_db):
    """No rate-limit or breaker state left by another test."""
    cache.clear()
    limits.forget_local_state()
    if settings.REDIS_URL:
        client = limits._redis()
        for pattern in ("portal:ratelimit:*", "portal:errors:*"):
            for key in client.scan_iter(pattern):
                client.delete(key)
    yield
    limits.forget_local_state()


@pytest.fixture
def eager():
    """Tasks run inline when queued (after the commit), as the service tests want."""
    from portal.celery import app

    app.conf.task_always_eager = True
    yield app
    app.conf.task_always_eager = False


@pytest.fixture
def multivers():
    with run_simulator("multivers", seed=7) as sim:
        yield sim


@pytest.fixture
def exact():
    with run_simulator("exact", seed=7) as sim:
        yield sim


def record(kind: str, n: int, connector: str = "multivers") -> dict:
    """``example_record`` as Reflex sends it to a company on ``connector``."""
    return example_record(kind, n, package=connector)


def connect(integration: Integration, sim) -> Integration:
    """Log in at the simulator as the consultant would, and keep the tokens."""
    tokens = sim.login()
    integration.base_url = sim.base_url
    integration.credentials = {
        "client_id": sim.client_id,
        "client_secret": sim.client_secret,
        "access_token": tokens["access_token"],
        "refresh_token": tokens["refresh_token"],
        "expires_at": time.time() + float(tokens["expires_in"]),
    }
    integration.connection_error = ""
    integration.connected_at = integration.token_refreshed_at = timezone.now()
    integration.save()
    return integration


@pytest.fixture
def connected(integration, multivers, shared_state) -> Integration:
    return connect(integration, multivers)


# --- a real worker ------------------------------------------------------------------------


def _test_database_name() -> str:
    return str(connection.settings_dict["NAME"])


def _broker_reachable() -> bool:
    from portal.celery import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
    except Exception:
        return False
    return True


def _use_configured_broker(app) -> None:
    """Talk to the broker the worker uses, even after a test pointed the app elsewhere.

    The app caches its producer pool on first use; a test that switched to
    ``memory://`` would otherwise leave our tasks in this process's memory.
    """
    app.conf.broker_url = settings.CELERY_BROKER_URL
    app._pool = None
    app.amqp._producer_pool = None


class Worker:
    """``celery -A portal worker`` in a subprocess, on the test database."""

    def __init__(self, env: dict[str, str], log: Path, pool: str) -> None:
        self.env, self.log, self.pool = env, log, pool
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        args = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "portal",
            "worker",
            "--loglevel=INFO",
            "--without-heartbeat",
            "--without-mingle",
            "--without-gossip",
        ]
        args += ["-P", "solo"] if self.pool == "solo" else ["-P", "prefork", "-c", "2"]
        handle = self.log.open("ab")
        # A session of its own, so kill() reaches the pool's children too.
        self.process = subprocess.Popen(
            args,
            cwd=ROOT,
            env=self.env,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def kill(self) -> None:
        """``kill -9`` the worker and every child: nothing gets to clean up."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-5000:]


@pytest.fixture
def worker_factory(transactional_db, shared_state, fast_engine, tmp_path):
    """Start real workers against the test database and the configured broker."""
    from portal.celery import app
    from tests.conftest import require_service

    _use_configured_broker(app)
    require_service(
        "The Celery broker", _broker_reachable(), f"start it or fix {settings.CELERY_BROKER_URL}"
    )
    app.control.purge()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.runs.worker_settings",
        "WORKER_TEST_DATABASE": _test_database_name(),
        "PYTHONPATH": str(ROOT),
    }
    workers: list[Worker] = []

    def start(pool: str = "prefork", connector_limits: dict | None = None) -> Worker:
        """``connector_limits``: the engine's ``CONNECTOR_LIMITS`` in that worker."""
        extra = {"WORKER_CONNECTOR_LIMITS": json.dumps(connector_limits or {})}
        worker = Worker({**env, **extra}, tmp_path / f"worker-{len(workers)}.log", pool)
        worker.start()
        workers.append(worker)
        return worker

    yield start
    for worker in workers:
        worker.stop()
    app.control.purge()
