"""Every benchmark still runs: each at a tiny size, in seconds, must exit 0 with its ratio line.

No timing is asserted here (figures on a busy CI machine mean nothing); the benchmarks
themselves print the figures and whether their targets are met. See docs/benchmarks.md.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from importlib.util import find_spec
from pathlib import Path
from urllib.parse import urlparse

import pytest

from integrations.simulators.registry import simulator_names, spec_of
from tests.conftest import require_service

ROOT = Path(__file__).resolve().parents[2]
RATIO_LINE = re.compile(
    r"^[\w.]+: .+ vs .+ → ratio [\d.]+(?:e\+\d+)? \(target .+\) (met|MISSED).* cores=\d+$", re.M
)


def _packages_with_a_reference() -> list[str]:
    """Packages whose simulator has the export benchmark's raw reference (simulator/bench.py)."""
    return [
        key
        for key in simulator_names()
        if find_spec(spec_of(key).app.partition(":")[0].rpartition(".")[0] + ".bench")
    ]


# The export benchmark once per package that brings its reference; the name says which.
EXPORT_RUNS = {f"export_throughput_{key}": key for key in _packages_with_a_reference()}

SMOKE_RUNS = {
    **{name: ["--size", "200", "--package", key] for name, key in EXPORT_RUNS.items()},
    "rate_limited_export": ["--size", "40", "--no-align", "--run-seconds", "4"],
    "rate_limited_export_2workers": [
        *("--size", "40", "--no-align", "--run-seconds", "4", "--workers", "2"),
    ],
    "intake": ["--size", "300", "--repeat", "1"],
    "pages": ["--size", "500", "--lines", "200", "--repeat", "2", "--load-seconds", "1"],
    "memory": ["--size", "200", "--intake-size", "400"],
    "retention": ["--size", "2000", "--requests", "3"],
    "fairness": ["--size", "400", "--repeat", "1", "--latency-ms", "5"],
    "scale_out": ["--size", "200", "--counts", "1,2", "--latency-ms", "5"],
    "soak": [
        *("--minutes", "0.3", "--integrations", "3", "--workers", "2", "--kill-every", "8"),
        *("--max-batch", "20", "--batches-per-second", "2", "--latency-ms", "5"),
    ],
}


def _script_of(name: str) -> str:
    return "export_throughput" if name in EXPORT_RUNS else name.removesuffix("_2workers")


def _postgres_url() -> str:
    for name in ("BENCH_DATABASE_URL", "DATABASE_URL"):
        url = os.environ.get(name, "")
        if urlparse(url).scheme in ("postgres", "postgresql"):
            return url
    return "postgres://postgres@127.0.0.1:5432/postgres"


def _reachable(check) -> bool:  # type: ignore[no-untyped-def]
    try:
        check()
    except Exception:
        return False
    return True


@pytest.fixture(scope="module")
def private_redis() -> Iterator[str | None]:
    """A Redis server of this module's own, when the machine has `redis-server`.

    The scripts flush their Redis database when they start; on a private server a suite
    running in another clone of the repository keeps its broker and cache.
    """
    binary = shutil.which("redis-server")
    if binary is None or "BENCH_REDIS_URL" in os.environ:
        yield None
        return
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}"
    try:
        import redis

        for _ in range(100):
            if _reachable(lambda: redis.Redis.from_url(url, socket_timeout=1).ping()):
                break
            time.sleep(0.05)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.fixture(scope="module")
def services(private_redis: str | None) -> dict[str, str]:
    import psycopg
    import redis

    server = _postgres_url()
    redis_url = private_redis or os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379")
    require_service(
        "PostgreSQL",
        _reachable(lambda: psycopg.connect(server, connect_timeout=3).close()),
        f"the benchmarks create their own database on {server} (set BENCH_DATABASE_URL)",
    )
    require_service(
        "Redis",
        _reachable(lambda: redis.Redis.from_url(redis_url, socket_timeout=3).ping()),
        f"the benchmarks' worker needs {redis_url} (set BENCH_REDIS_URL)",
    )
    return {"BENCH_DATABASE_URL": server, "BENCH_REDIS_URL": redis_url, "BENCH_SMOKE": "1"}


@pytest.mark.worker
@pytest.mark.timeout(600)
@pytest.mark.parametrize("name", SMOKE_RUNS)
def test_the_benchmark_runs_and_prints_its_ratio(name: str, services: dict[str, str]) -> None:
    script = ROOT / "bench" / f"{_script_of(name)}.py"
    env = {**os.environ, **services}
    done = subprocess.run(
        [sys.executable, str(script), *SMOKE_RUNS[name]],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=540,
        check=False,
    )
    assert done.returncode == 0, (
        f"{script.name} exited {done.returncode}:\n{done.stdout}\n{done.stderr[-4000:]}"
    )
    assert RATIO_LINE.search(done.stdout), f"no ratio line from {script.name}:\n{done.stdout}"
