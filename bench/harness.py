"""What every benchmark shares: its own database, a simulator, a Celery worker, the result line.

A benchmark imports this module first and calls :func:`setup` before it imports any model:
``setup`` points ``DATABASE_URL`` at a scratch database of its own on the PostgreSQL server
named by ``DATABASE_URL`` (default ``postgres://postgres@127.0.0.1:5432/``), creates and
migrates it, and drops it again at exit, so a benchmark never touches demo or test data.
Subprocesses (worker, simulator, gunicorn) inherit the same environment.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import hashlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse, urlunparse

import httpx
import psutil

if TYPE_CHECKING:
    from integrations.simulators.testing import RunningSimulator

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
LOG_DIR = ROOT / "var" / "bench"
DEFAULT_SERVER = "postgres://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS = "redis://127.0.0.1:6379"
# Each benchmark has a Redis database of its own (broker, cache, rate-limit state), apart
# from the demo's and the tests', and emptied when it starts.
REDIS_DATABASES = {
    "export": 8,
    "ratelimit1": 9,
    "ratelimit2": 10,
    "memory": 11,
    "intake": 12,
    "pages": 13,
    "retention": 15,
    # fair share, scale-out and the soak: one at a time (a full run is minutes long)
    "fairness": 15,
    "scale_out": 15,
    "soak": 15,
}
SMOKE_REDIS_DATABASE = 14

# Scratch databases carry a tag of the checkout, so benchmarks (and the smoke tests of
# suites) running in two clones on one PostgreSQL server never drop each other's database.
CHECKOUT = hashlib.blake2s(str(ROOT).encode(), digest_size=3).hexdigest()

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


# --- arguments and the result line -------------------------------------------------------
def parser(description: str, *, size: int) -> argparse.ArgumentParser:
    """An argument parser with the options every benchmark takes."""
    args = argparse.ArgumentParser(description=description)
    args.add_argument("--size", type=int, default=size, help=f"lines or rows (default {size})")
    args.add_argument("--keep-db", action="store_true", help="do not drop the scratch database")
    args.add_argument(
        "--package", help="connector key of the package to run against (default: see bench/data.py)"
    )
    args.add_argument(
        "--strict", action="store_true", help="exit 1 when a target is missed (default: exit 0)"
    )
    return args


@contextlib.contextmanager
def profiled(name: str, enabled: bool) -> Iterator[None]:
    """Profile the block with pyinstrument when ``enabled``; the report goes to var/bench/."""
    if not enabled:
        yield
        return
    from pyinstrument import Profiler

    profiler = Profiler(interval=0.001)
    profiler.start()
    try:
        yield
    finally:
        profiler.stop()
        path = LOG_DIR / f"{name}-profile.txt"
        path.write_text(profiler.output_text(unicode=True, show_all=False))
        note(f"profile in {path.relative_to(ROOT)}")


@dataclass
class Verdict:
    met: bool
    text: str


_verdicts: list[Verdict] = []


def report(
    name: str, subject: str, reference: str, ratio: float, target: str, met: bool, **extra: Any
) -> None:
    """Print the one comparable line of a benchmark (flushed, so a pipe sees it at once)."""
    details = "".join(f" {key}={value}" for key, value in extra.items())
    line = (
        f"{name}: {subject} vs {reference} → ratio {ratio:.2f} (target {target}) "
        f"{'met' if met else 'MISSED'}{details} cores={os.cpu_count()}"
    )
    _verdicts.append(Verdict(met, line))
    print(line, flush=True)


def finish(strict: bool) -> None:
    if strict and not all(v.met for v in _verdicts):
        sys.exit(1)


def note(text: str) -> None:
    """Progress for the person watching, on stderr so stdout stays the result lines."""
    print(f"  · {text}", file=sys.stderr, flush=True)


@contextlib.contextmanager
def stopwatch() -> Iterator[Callable[[], float]]:
    """``with stopwatch() as elapsed: …`` then ``elapsed()`` is the seconds inside."""
    started = time.perf_counter()
    ended: list[float] = []
    yield lambda: (ended[0] if ended else time.perf_counter()) - started
    ended.append(time.perf_counter())


# --- the scratch database --------------------------------------------------------------------
def _server_url() -> str:
    url = os.environ.get("BENCH_DATABASE_URL") or os.environ.get("DATABASE_URL") or DEFAULT_SERVER
    if urlparse(url).scheme not in ("postgres", "postgresql"):
        sys.exit("The benchmarks need PostgreSQL: set DATABASE_URL=postgres://user@host:port/db.")
    return url


def _with_database(url: str, name: str) -> str:
    return urlunparse(urlparse(url)._replace(path=f"/{name}"))


def _admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(_with_database(_server_url(), "postgres"), autocommit=True) as conn:
        conn.execute(sql)


def setup(name: str, *, keep: bool = False) -> str:
    """Create, migrate and select the scratch database ``portal_bench_<name>``; set up Django.

    Returns the database URL. The database is dropped at exit unless ``keep``.
    """
    # The smoke test's runs keep to a database and a Redis database of their own, so
    # they never drop or flush a full benchmark running at the same time.
    smoke = bool(os.environ.get("BENCH_SMOKE"))
    database = f"portal_bench_{name}{'_smoke' if smoke else ''}_{CHECKOUT}"
    url = _with_database(_server_url(), database)
    note(f"scratch database {database}")
    _admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    _admin(f'CREATE DATABASE "{database}"')
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ["DEBUG"] = "false"
    server = urlparse(os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS))
    number = SMOKE_REDIS_DATABASE if smoke else REDIS_DATABASES[name]
    redis_url = urlunparse(server._replace(path=f"/{number}"))
    os.environ["REDIS_URL"] = redis_url
    os.environ["CELERY_BROKER_URL"] = redis_url
    global LOG_DIR  # chosen once, before any subprocess starts
    if smoke:
        LOG_DIR = LOG_DIR / "smoke"
    if not keep:
        atexit.register(_drop, database)
    # A plain SIGTERM skips atexit: turn it into an exit, so children and database go too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    LOG_DIR.mkdir(parents=True, exist_ok=True)

    import django
    from django.core.management import call_command

    # The benchmarks serve no static files; whitenoise's note about STATIC_ROOT is noise here.
    warnings.filterwarnings("ignore", message="No directory at", category=UserWarning)

    django.setup()
    call_command("migrate", verbosity=0, interactive=False)
    return url


def _drop(database: str) -> None:
    from django.db import connections

    connections.close_all()
    with contextlib.suppress(Exception):
        _admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def flush_redis() -> None:
    """Empty the benchmarks' own Redis database (queued tasks and limiter state of earlier runs)."""
    from django.core.cache import cache

    cache.clear()
    url = os.environ["CELERY_BROKER_URL"]
    if url.startswith("redis"):
        import redis

        redis.Redis.from_url(url).flushdb()


# --- subprocesses ---------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Process:
    """A child process with its output in ``var/bench/<name>.log``, stopped at exit."""

    def __init__(
        self, name: str, argv: Sequence[str], *, env: dict[str, str] | None = None
    ) -> None:
        self.name = name
        self.log_path = LOG_DIR / f"{name}.log"
        self._log = self.log_path.open("wb")
        self.popen = subprocess.Popen(
            list(argv),
            cwd=ROOT,
            env={**os.environ, **(env or {})},
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        atexit.register(self.stop)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_for_log(self, text: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.log():
            if self.popen.poll() is not None:
                raise RuntimeError(
                    f"{self.name} exited ({self.popen.returncode}):\n{self.log()[-3000:]}"
                )
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"{self.name} did not say {text!r} in {timeout}s:\n{self.log()[-3000:]}"
                )
            time.sleep(0.05)

    def stop(self, timeout: float = 15) -> None:
        if self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait()
        self._log.close()


def wait_http(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def start_simulator(package: str, **knobs: Any) -> RunningSimulator:
    """A simulator of one package in a process of its own (so it never shares our GIL).

    Answers the tests' :class:`RunningSimulator` (control API, ``login()``); the process
    is stopped at exit.
    """
    from integrations.simulators.testing import RunningSimulator

    port = free_port()
    process = Process(
        f"simulator-{package}",
        [PYTHON, "-m", "integrations.simulators", package, "--port", str(port)],
    )
    root = f"http://127.0.0.1:{port}"
    wait_http(f"{root}/_sim/stats")
    simulator = RunningSimulator(package, root)
    simulator.pid = process.pid  # type: ignore[attr-defined]
    if knobs:
        simulator.set_faults(**knobs)
    return simulator


class CpuShare:
    """How busy a process was during the block: CPU seconds / wall seconds (1.0 = one core).

    Tells whether a stand-in (the simulator) was the bottleneck of a measurement.
    """

    def __init__(self, pid: int) -> None:
        self._process = psutil.Process(pid)
        self.share = 0.0

    def _cpu(self) -> float:
        times = self._process.cpu_times()
        return float(times.user + times.system)

    def __enter__(self) -> CpuShare:
        self._started = (time.perf_counter(), self._cpu())
        return self

    def __exit__(self, *exc: object) -> None:
        wall, cpu = self._started
        self.share = (self._cpu() - cpu) / max(time.perf_counter() - wall, 1e-9)


class Worker:
    """A real Celery worker on the benchmarks' Redis, as in production (prefork pool)."""

    def __init__(
        self,
        name: str = "worker",
        *,
        concurrency: int = 1,
        extra: Sequence[str] = (),
        env: dict[str, str] | None = None,
    ) -> None:
        self.process = Process(
            name,
            [
                *_celery_command(),
                "-A",
                "portal",
                "worker",
                "-l",
                "info",
                "-c",
                str(concurrency),
                "-n",
                f"{name}@%h",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                *extra,
            ],
            env=env,
        )
        self.process.wait_for_log(" ready.", timeout=60)

    def processes(self) -> list[psutil.Process]:
        try:
            main = psutil.Process(self.process.pid)
            return [main, *main.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def stop(self) -> None:
        self.process.stop()


def _celery_command() -> list[str]:
    """``python -m celery``; with BENCH_WORKER_PRELOAD=module, that module is imported first.

    The preload is for trying a change in the worker (a patch, a probe) without editing
    the code under test; its figures are an experiment, never the published ones.
    """
    preload = os.environ.get("BENCH_WORKER_PRELOAD")
    if not preload:
        return [PYTHON, "-m", "celery"]
    return [PYTHON, "-c", f"import {preload}; from celery.__main__ import main; main()"]


class PeakRss:
    """Samples the RSS of a process tree every ``interval`` s; ``peak`` is the largest single process."""

    def __init__(
        self, processes: Callable[[], list[psutil.Process]], interval: float = 0.02
    ) -> None:
        self.peak = 0
        self.baseline = 0
        self._processes = processes
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _rss(self) -> int:
        largest = 0
        for process in self._processes():
            with contextlib.suppress(psutil.Error):
                largest = max(largest, process.memory_info().rss)
        return largest

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._rss())
            self._stop.wait(self._interval)

    def __enter__(self) -> PeakRss:
        self.baseline = self._rss()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def mib(n: float) -> str:
    return f"{n / 2**20:.0f} MiB"


def rate(count: float, seconds: float) -> float:
    return count / seconds if seconds > 0 else float("inf")
