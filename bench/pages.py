"""Server time of the busiest screens against the SQL they need, timed alone.

    .venv/bin/python bench/pages.py [--size 100000] [--lines 10000] [--load-seconds 10]

Data: ``--size`` runs of one integration (one INSERT … SELECT) and one run of ``--lines``
lines, every second one failed (COPY). Each page is requested through Django's test
client (the whole middleware stack, no network) and its queries are captured; those
queries are then run alone on a raw cursor. Ratio = page time / SQL time, each the
fastest of ``--repeat`` (a busy machine only ever adds time, to either side).
Also checked: the deepest History page against the first, and that the query count does
not depend on the amount of data (a small integration and a small run answer with as
many queries). Last, requests/s of the History page under ``gunicorn portal.wsgi -w 2``,
measured with ``wrk`` when installed, else a small httpx thread pool.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness

PAGE_TARGET = 3.0
DEPTH_TARGET = 2.0


@dataclass
class Timing:
    page: float  # fastest seconds per request
    sql: float  # fastest seconds of its queries run alone
    queries: int

    @property
    def ratio(self) -> float:
        return self.page / self.sql if self.sql else float("inf")


def _time(call: Callable[[], object]) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def measure(client, url: str, repeat: int) -> Timing:  # type: ignore[no-untyped-def]
    """Server time of ``url`` and of the SQL it ran, replayed on a raw cursor (fastest of each)."""
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

    def replay() -> None:
        with connection.cursor() as cursor:
            for sql in statements:
                cursor.execute(sql)
                if cursor.description is not None:
                    cursor.fetchall()

    replay()
    # Alternate page and SQL, so a busy moment of the machine falls on both alike.
    page_times, sql_times = [], []
    for _ in range(repeat):
        page_times.append(_time(get))
        sql_times.append(_time(replay))
    page, sql = min(page_times), min(sql_times)
    return Timing(page=page, sql=sql, queries=len(statements))


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def report_page(name: str, timing: Timing, *, small_queries: int) -> None:
    constant = timing.queries == small_queries
    harness.report(
        f"pages.{name}",
        f"page {_ms(timing.page)}",
        f"its SQL alone {_ms(timing.sql)}",
        timing.ratio,
        f"≤ {PAGE_TARGET:.0f}",
        timing.ratio <= PAGE_TARGET and constant,
        queries=f"{timing.queries} (small data {small_queries})",
    )


def load(url: str, cookie: str, seconds: int) -> tuple[float, str]:
    """Requests/s of ``url`` on a gunicorn with 2 workers; answers (rate, the tool used)."""
    port = harness.free_port()
    server = harness.Process(
        "gunicorn",
        [
            harness.PYTHON,
            "-m",
            "gunicorn",
            "portal.wsgi",
            "-w",
            "2",
            "-b",
            f"127.0.0.1:{port}",
            "--access-logfile",
            "-",
            "--log-level",
            "warning",
        ],
    )
    base = f"http://127.0.0.1:{port}"
    harness.wait_http(f"{base}/healthz")
    headers = {"Cookie": f"sessionid={cookie}"}
    import httpx

    first = httpx.get(base + url, headers=headers)
    if first.status_code != 200:
        raise RuntimeError(f"gunicorn answered {first.status_code} for {url}")
    try:
        if shutil.which("wrk"):
            out = subprocess.run(
                [
                    "wrk",
                    "-t",
                    "2",
                    "-c",
                    "8",
                    "-d",
                    f"{seconds}s",
                    "-H",
                    f"Cookie: sessionid={cookie}",
                    base + url,
                ],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
            if non_2xx:
                raise RuntimeError(f"wrk saw {non_2xx.group(1)} failed answers:\n{out}")
            return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)), "wrk -t2 -c8"  # type: ignore[union-attr]
        return _thread_pool_load(base + url, headers, seconds), "httpx, 8 threads"
    finally:
        server.stop()


def _thread_pool_load(url: str, headers: dict[str, str], seconds: int) -> float:
    import httpx

    deadline = time.monotonic() + seconds

    def hammer() -> int:
        done = 0
        with httpx.Client(headers=headers) as client:
            while time.monotonic() < deadline:
                client.get(url).raise_for_status()
                done += 1
        return done

    started = time.monotonic()
    with ThreadPoolExecutor(8) as pool:
        total = sum(pool.map(lambda _: hammer(), range(8)))
    return total / (time.monotonic() - started)


def main() -> None:
    args = harness.parser(__doc__.splitlines()[0], size=100_000)
    args.add_argument(
        "--lines", type=int, default=10_000, help="lines of the big run (default 10000)"
    )
    args.add_argument(
        "--repeat", type=int, default=20, help="requests per page (the fastest counts)"
    )
    args.add_argument(
        "--load-seconds", type=int, default=10, help="0 skips the gunicorn load figure"
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
    report_page("history_first", first, small_queries=small_history.queries)
    report_page("history_deepest", deepest, small_queries=small_history.queries)
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
    small_detail = measure(client, run_detail(small), 3)
    report_page(
        "run_detail_failed",
        measure(client, run_detail(big), repeat),
        small_queries=small_detail.queries,
    )
    small_line = measure(client, line_detail(small), 3)
    report_page(
        "line_detail", measure(client, line_detail(big), repeat), small_queries=small_line.queries
    )

    if options.load_seconds:
        cookie = client.cookies["sessionid"].value
        per_second, tool = load(history(integration), cookie, options.load_seconds)
        harness.report(
            "pages.history_load",
            f"gunicorn -w 2 {per_second:.0f} req/s",
            f"1 / in-process page time {1 / first.page:.0f} req/s",
            per_second * first.page,
            "informational",
            True,
            tool=f"'{tool}'",
        )
    harness.finish(options.strict)


if __name__ == "__main__":
    main()
