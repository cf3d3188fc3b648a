"""The busiest screens under gunicorn against a bare view behind the same framework.

    .venv/bin/python bench/pages.py [--size 100000] [--lines 10000] [--load-seconds 10]

Data: ``--size`` runs of one integration (one INSERT … SELECT) and one run of ``--lines``
lines, every second one failed (COPY). ``gunicorn portal.wsgi -w 2`` serves the portal
with one URL more (``bench.pages_settings``): ``/bench/bare/``, a view that answers "ok"
behind the same middleware, session and login. Requests/s of History's first page, run
details with Show only failed and a failed line's page, each for ``--load-seconds`` from
8 threads of keep-alive httpx clients in this process, against the bare view's rate
(measured before and after the pages; the mean counts). Ratio = page / bare; 1.0 would
be a page that costs nothing beyond the framework. The load generator's own CPU share
is printed: well below one core, it is not what limits the rate. ``tenancy_floor`` is
measured the same way: a view that only looks up the membership and the integration, as
every integration page does first (``bench/pages_urls.py``), so a page's ratio reads
against what no page of the portal can go below.
Also checked in process (Django's test client): the deepest History page against the
first, and that the query count does not depend on the amount of data (a small
integration and a small run answer with as many queries).
"""

from __future__ import annotations

import os
import re
import statistics
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness

DEPTH_TARGET = 2.0
# A page's requests/s under gunicorn against a bare view behind the same middleware.
FRAMEWORK_TARGET = 0.6
LOAD_THREADS = 8


@dataclass
class Timing:
    page: float  # fastest seconds per request, in process
    queries: int


def _time(call: Callable[[], object]) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def measure(client, url: str, repeat: int) -> Timing:  # type: ignore[no-untyped-def]
    """In-process time of ``url`` (fastest of ``repeat``) and the queries it makes."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def get() -> None:
        response = client.get(url)
        if response.status_code != 200:
            raise RuntimeError(f"{url} answered {response.status_code}")

    get()  # warm: templates compiled, plans cached, pages in shared buffers
    with CaptureQueriesContext(connection) as captured:
        get()
    statements = [
        q["sql"]
        for q in captured.captured_queries
        if not re.match(
            r"\s*(SAVEPOINT|RELEASE SAVEPOINT|ROLLBACK TO|BEGIN|COMMIT)", q["sql"], re.I
        )
    ]
    return Timing(page=min(_time(get) for _ in range(repeat)), queries=len(statements))


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def check_queries(name: str, timing: Timing, *, small_queries: int) -> None:
    """The same page over a little data must make as many queries as over a lot."""
    if timing.queries != small_queries:
        raise RuntimeError(
            f"{name}: {timing.queries} queries, {small_queries} on small data: not constant"
        )
    harness.note(f"{name}: {_ms(timing.page)} in process, {timing.queries} queries (constant)")


class Server:
    """``gunicorn portal.wsgi -w 2`` with the bare view added (bench.pages_settings)."""

    def __init__(self) -> None:
        port = harness.free_port()
        self.process = harness.Process(
            "gunicorn",
            [
                harness.PYTHON,
                "-m",
                "gunicorn",
                "portal.wsgi",
                *("-w", "2", "-b", f"127.0.0.1:{port}", "--log-level", "warning"),
            ],
            env={"DJANGO_SETTINGS_MODULE": "bench.pages_settings"},
        )
        self.base = f"http://127.0.0.1:{port}"
        harness.wait_http(f"{self.base}/healthz")

    def cpu_seconds(self) -> float:
        import psutil

        main = psutil.Process(self.process.pid)
        total = 0.0
        for process in (main, *main.children(recursive=True)):
            times = process.cpu_times()
            total += times.user + times.system
        return total

    def stop(self) -> None:
        self.process.stop()


@dataclass
class Load:
    per_second: float
    client_cpu: float  # the load generator's CPU share (1.0 = one core)
    server_cpu: float  # gunicorn's, all workers


def load(server: Server, url: str, cookie: str, seconds: float) -> Load:
    """Requests/s of ``url`` from 8 threads with keep-alive httpx clients, for ``seconds``.

    Every answer must be a 200. The generator's own CPU share is returned: far below
    a core, it is not what limits the rate.
    """
    import httpx

    headers = {"Cookie": f"sessionid={cookie}"}
    first = httpx.get(server.base + url, headers=headers)
    if first.status_code != 200:
        raise RuntimeError(f"gunicorn answered {first.status_code} for {url}")
    deadline = time.monotonic() + seconds

    def hammer() -> int:
        done = 0
        with httpx.Client(headers=headers) as client:
            while time.monotonic() < deadline:
                response = client.get(server.base + url)
                if response.status_code != 200:
                    raise RuntimeError(f"{url} answered {response.status_code} under load")
                done += 1
        return done

    server_cpu = server.cpu_seconds()
    with harness.CpuShare(os.getpid()) as client_cpu:
        started = time.monotonic()
        with ThreadPoolExecutor(LOAD_THREADS) as pool:
            total = sum(pool.map(lambda _: hammer(), range(LOAD_THREADS)))
        elapsed = time.monotonic() - started
    return Load(
        per_second=total / elapsed,
        client_cpu=client_cpu.share,
        server_cpu=(server.cpu_seconds() - server_cpu) / elapsed,
    )


def report_load(name: str, page: Load, bare: list[Load], seconds: float) -> None:
    """A page's rate against the bare view's (measured before and after it, the mean counts)."""
    bare_rate = statistics.mean(b.per_second for b in bare)
    ratio = page.per_second / bare_rate
    harness.report(
        f"pages.{name}",
        f"gunicorn -w 2 {page.per_second:.0f} req/s",
        f"bare view behind the same middleware and login {bare_rate:.0f} req/s "
        f"({' / '.join(f'{b.per_second:.0f}' for b in bare)})",
        ratio,
        f"≥ {FRAMEWORK_TARGET}",
        ratio >= FRAMEWORK_TARGET,
        load=f"'httpx, {LOAD_THREADS} threads, {seconds:g} s'",
        loadgen_cpu=f"{page.client_cpu:.0%}/{max(b.client_cpu for b in bare):.0%}",
        gunicorn_cpu=f"{page.server_cpu:.0%}",
    )


def main() -> None:
    args = harness.parser(__doc__.splitlines()[0], size=100_000)
    args.add_argument(
        "--lines", type=int, default=10_000, help="lines of the big run (default 10000)"
    )
    args.add_argument(
        "--repeat", type=int, default=20, help="requests per page (the fastest counts)"
    )
    args.add_argument(
        "--load-seconds", type=float, default=10, help="seconds of load per page (0: none)"
    )
    options = args.parse_args()
    harness.setup("pages", keep=options.keep_db)

    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.urls import reverse

    from bench import data
    from runs.selectors import HISTORY_PAGE_SIZE

    harness.note(f"{options.size} runs and a run of {options.lines} lines")
    integration = data.tenant()
    small_integration = data.tenant_integration(integration.company, "Small")
    with harness.stopwatch() as elapsed:
        data.bulk_runs(integration, options.size)
        data.bulk_runs(small_integration, 60)
        big = data.big_run(integration, options.lines)
        small = data.big_run(small_integration, 10)
    harness.note(f"data in {elapsed():.1f} s")

    client = Client()
    user = get_user_model().objects.get(username=data.USERNAME)
    client.force_login(user)
    slug = integration.company.slug

    def history(of, before: int | None = None) -> str:  # type: ignore[no-untyped-def]
        url = reverse("run_history", kwargs={"company_slug": slug, "integration_id": of.pk})
        return f"{url}?before={before}" if before else url

    def run_detail(run) -> str:  # type: ignore[no-untyped-def]
        return reverse("run_detail", kwargs={"company_slug": slug, "run_id": run.pk}) + "?failed=1"

    def line_detail(run) -> str:  # type: ignore[no-untyped-def]
        line = run.lines.filter(status="failed").order_by("-position").first()
        return reverse("line_detail", kwargs={"company_slug": slug, "line_id": line.pk})

    repeat = options.repeat
    small_history = measure(client, history(small_integration), 3)
    first = measure(client, history(integration), repeat)
    # The oldest full page: runs page_size … 1.
    deepest = measure(client, history(integration, before=HISTORY_PAGE_SIZE + 1), repeat)
    check_queries("history_first", first, small_queries=small_history.queries)
    check_queries("history_deepest", deepest, small_queries=small_history.queries)
    depth = deepest.page / first.page
    harness.report(
        "pages.history_depth",
        f"deepest page {_ms(deepest.page)}",
        f"first page {_ms(first.page)}",
        depth,
        f"≤ {DEPTH_TARGET:.0f}",
        depth <= DEPTH_TARGET,
        runs=options.size,
    )
    pages = {
        "history_first": history(integration),
        "run_detail_failed": run_detail(big),
        "line_detail": line_detail(big),
    }
    smalls = {"run_detail_failed": run_detail(small), "line_detail": line_detail(small)}
    for name, url in smalls.items():
        check_queries(
            name,
            measure(client, pages[name], repeat),
            small_queries=measure(client, url, 3).queries,
        )

    if options.load_seconds:
        cookie = client.cookies["sessionid"].value
        server = Server()
        try:
            seconds = options.load_seconds
            floor = f"/bench/{slug}/tenancy/{integration.pk}/"
            bare = [load(server, "/bench/bare/", cookie, seconds)]
            rates = {name: load(server, url, cookie, seconds) for name, url in pages.items()}
            rates["tenancy_floor"] = load(server, floor, cookie, seconds)
            bare.append(load(server, "/bench/bare/", cookie, seconds))
        finally:
            server.stop()
        for name, rate in rates.items():
            report_load(name, rate, bare, seconds)
    harness.finish(options.strict)


if __name__ == "__main__":
    main()
