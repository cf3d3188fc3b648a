"""Soak: many companies posting at random for minutes, workers killed, nothing lost or doubled.

    .venv/bin/python bench/soak.py [--minutes 10] [--integrations 50] [--workers 3]

Not part of CI (it runs for minutes). On one Multivers simulator (``--latency-ms`` per
call): ``--integrations`` companies, each with one integration and an intake token;
``gunicorn portal.wsgi -w 2`` (the two web processes), ``celery beat`` (the sweeper every
15 s, as in production) and ``--workers`` Celery workers of one process each. For
``--minutes``, batches of 1 … ``--max-batch`` records are POSTed to ``/api/v1/runs`` of
a random integration at random moments (``--batches-per-second`` on average), a
consultant's History page is requested twice a second, and every ``--kill-every``
seconds one worker gets ``kill -9`` (its process group) and a new one starts, as a
supervisor would. Then the posting stops and every run is waited for until final.

Printed: duplicates (records booked more than once in the simulator's ledger) and lost
lines (posted, but not booked once, or a run not finished with every line succeeded),
both must be 0; History's p95 under that load against its p95 on the same server before
the load (the ratio line).
"""

from __future__ import annotations

import os
import random
import signal
import statistics
import sys
import threading
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[-1] if len(samples) >= 2 else samples[0]


class HistoryProbe(threading.Thread):
    """Requests one History page every ``interval`` s; keeps the response times."""

    def __init__(self, url: str, cookie: str, interval: float) -> None:
        super().__init__(daemon=True)
        import httpx

        self.client = httpx.Client(headers={"Cookie": f"sessionid={cookie}"}, timeout=30)
        self.url, self.interval = url, interval
        self.seconds: list[float] = []
        self.errors: list[str] = []
        self.halt = threading.Event()

    def once(self) -> None:
        started = time.perf_counter()
        answer = self.client.get(self.url)
        self.seconds.append(time.perf_counter() - started)
        if answer.status_code != 200:
            self.errors.append(f"{answer.status_code}")

    def run(self) -> None:
        while not self.halt.wait(self.interval):
            self.once()


def start_web() -> tuple[str, harness.Process]:
    port = harness.free_port()
    server = harness.Process(
        "soak-gunicorn",
        [harness.PYTHON, "-m", "gunicorn", "portal.wsgi", "-w", "2", "-b", f"127.0.0.1:{port}"],
    )
    base = f"http://127.0.0.1:{port}"
    harness.wait_http(f"{base}/healthz")
    return base, server


def main() -> None:
    args = harness.parser(__doc__.splitlines()[0], size=0)
    args.add_argument("--minutes", type=float, default=10)
    args.add_argument("--integrations", type=int, default=50)
    args.add_argument("--workers", type=int, default=3)
    args.add_argument("--kill-every", type=float, default=120, help="seconds between kill -9s")
    args.add_argument("--latency-ms", type=int, default=20, help="simulator latency per call")
    args.add_argument("--max-batch", type=int, default=200)
    args.add_argument("--batches-per-second", type=float, default=0.5)
    args.add_argument("--seed", type=int, default=15)
    options = args.parse_args()
    harness.setup("soak", keep=options.keep_db)
    harness.flush_redis()

    import httpx
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.urls import reverse

    from bench import data
    from integrations.canonical import identifier_of
    from runs.models import Run, RunStatus

    chance = random.Random(options.seed)
    simulator = harness.start_simulator(data.default_package(), latency_ms=options.latency_ms)
    consultant = data.tenant()  # whose History is watched
    data.connect(consultant, simulator)
    data.seed_relations(consultant)  # the relations every invoice names, booked once
    seeded = len(simulator.ledger())
    integrations = [consultant, *data.companies(options.integrations - 1, simulator)]
    tokens = {i.pk: i.issue_intake_token() for i in integrations}

    client = Client()
    client.force_login(get_user_model().objects.get(username=data.USERNAME))
    cookie = client.cookies["sessionid"].value
    history = reverse(
        "run_history",
        kwargs={"company_slug": consultant.company.slug, "integration_id": consultant.pk},
    )
    base, _web = start_web()
    beat = harness.Process(
        "soak-beat",
        [
            harness.PYTHON,
            "-m",
            "celery",
            "-A",
            "portal",
            "beat",
            "-l",
            "info",
            "-s",
            str(harness.LOG_DIR / "soak-beat-schedule"),
        ],
    )
    started_workers = 0

    def new_worker() -> harness.Worker:
        nonlocal started_workers
        started_workers += 1
        return harness.Worker(f"soak-worker-{started_workers}")

    workers = [new_worker() for _ in range(options.workers)]

    probe = HistoryProbe(base + history, cookie, 0.5)
    for _ in range(25):  # the first few warm up both web processes; they do not count
        probe.once()
    idle = probe.seconds[5:]
    probe.seconds.clear()
    probe.start()

    harness.note(
        f"{options.minutes} min: {len(integrations)} integrations, {options.workers} workers, "
        f"kill -9 every {options.kill_every:.0f} s"
    )
    posted: list[tuple[int, int]] = []  # (run id, lines)
    offset, kills = 0, 0
    poster = httpx.Client(base_url=base, timeout=60)
    end = time.monotonic() + options.minutes * 60
    next_kill = time.monotonic() + options.kill_every
    while time.monotonic() < end:
        time.sleep(chance.expovariate(options.batches_per_second))
        integration = chance.choice(integrations)
        size = chance.randint(1, options.max_batch)
        records = [
            {"kind": k, "identifier": identifier_of(k, r), "data": r}
            for k, r in data.batch(size, offset=offset)
        ]
        offset += size
        answer = poster.post(
            "/api/v1/runs",
            json={"records": records},
            headers={"Authorization": f"Bearer {tokens[integration.pk]}"},
        )
        if answer.status_code != 201:
            raise SystemExit(f"intake answered {answer.status_code}: {answer.text[:300]}")
        posted.append((answer.json()["id"], size))
        if time.monotonic() >= next_kill:
            victim = workers.pop(chance.randrange(len(workers)))
            os.killpg(victim.process.pid, signal.SIGKILL)
            kills += 1
            harness.note(f"kill -9 {victim.process.name}; {len(posted)} batches so far")
            workers.append(new_worker())
            next_kill += options.kill_every

    harness.note(f"posting stopped: {len(posted)} batches, {offset} lines; waiting for every run")
    ids = [run_id for run_id, _ in posted]
    deadline = time.monotonic() + 900
    while Run.objects.filter(pk__in=ids, status__in=(RunStatus.QUEUED, RunStatus.RUNNING)).exists():
        if time.monotonic() > deadline:
            raise SystemExit("runs still not final 15 minutes after the posting stopped")
        time.sleep(1)
    probe.halt.set()
    probe.join()
    for worker in workers:
        worker.stop()
    beat.stop()

    creates = Counter(
        (b["entity"], str(b["key"])) for b in simulator.ledger()[seeded:] if not b.get("update")
    )
    duplicates = sum(n - 1 for n in creates.values() if n > 1)
    runs = Run.objects.filter(pk__in=ids)
    succeeded = sum(run.succeeded for run in runs)
    unfinished = runs.exclude(status=RunStatus.FINISHED).count()
    lost = offset - len(creates)  # posted records the package never booked
    not_succeeded = offset - succeeded  # lines the portal does not show as booked
    under_load = p95(probe.seconds)
    ratio = under_load / p95(idle)
    harness.report(
        "soak",
        f"History p95 {under_load * 1000:.0f} ms under load",
        f"idle p95 {p95(idle) * 1000:.0f} ms",
        ratio,
        "0 duplicates and 0 lost lines",
        duplicates == 0
        and lost == 0
        and not_succeeded == 0
        and unfinished == 0
        and not probe.errors,
        duplicates=duplicates,
        lost=lost,
        lines_not_succeeded=not_succeeded,
        lines=offset,
        batches=len(posted),
        runs_not_finished=unfinished,
        kills=kills,
        minutes=options.minutes,
        history_requests=len(probe.seconds),
        history_errors=len(probe.errors),
    )
    harness.finish(options.strict)


if __name__ == "__main__":
    main()
