"""Every benchmark still runs: each at a tiny size, in seconds, must exit 0 with its ratio line.

No timing is asserted here (figures on a busy CI machine mean nothing); the benchmarks
themselves print the figures and whether their targets are met. See docs/benchmarks.md.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlparse

import pytest

from tests.conftest import require_service

ROOT = Path(__file__).resolve().parents[2]
RATIO_LINE = re.compile(
    r"^[\w.]+: .+ vs .+ → ratio [\d.]+(?:e\+\d+)? \(target .+\) (met|MISSED).* cores=\d+$", re.M
)

SMOKE_RUNS = {
    "export_throughput": ["--size", "200"],
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
def services() -> dict[str, str]:
    import psycopg
    import redis

    server = _postgres_url()
    redis_url = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379")
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
    script = ROOT / "bench" / f"{name.removesuffix('_2workers')}.py"
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
