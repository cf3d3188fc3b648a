"""How many simple POSTs a second a simulator serves (a measurement, not a test).

    python -m integrations.connectors.exact.simulator.loadcheck [--requests 20000] [--clients 3]

Starts ``python -m integrations.simulators exact`` with limits out of the way, posts
accounts from ``--clients`` processes, each a sync httpx client on one connection, and prints the wall-clock rate
and the rate per CPU-second the simulator process used (the figure for "one core", which
does not depend on how fast the client machine is).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import socket
import subprocess
import sys
import time

import httpx

from integrations.connectors.exact.connector import ExactConnector
from integrations.simulators.testing import REDIRECT_URI

CLIENT = {"client_id": "cloud-portal-demo", "client_secret": "demo-secret"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _token(base: str) -> str:
    assert ExactConnector.simulator is not None
    auth, token = ExactConnector.simulator.oauth_paths
    query = {**CLIENT, "redirect_uri": REDIRECT_URI, "response_type": "code"}
    location = httpx.get(base + auth, params=query).headers["location"]
    code = httpx.URL(location).params["code"]
    form = {
        **CLIENT,
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT_URI,
    }
    return httpx.post(base + token, data=form).json()["access_token"]


def _client(job: tuple[str, str, int, int]) -> int:
    """Post ``count`` accounts one after another on one keep-alive connection."""
    base, token, first, count = job
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    with httpx.Client(base_url=base, headers=headers) as client:
        return sum(
            client.post(
                "/api/v1/123456/crm/Accounts", json={"Code": f"L{n}", "Name": f"Load {n}"}
            ).status_code
            == 201
            for n in range(first, first + count)
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=20000)
    parser.add_argument("--clients", type=int, default=3)
    args = parser.parse_args()
    port = _free_port()
    command = [sys.executable, "-m", "integrations.simulators", "exact", "--port", str(port)]
    command += ["--rate-limit-per-minute", "1000000000", "--rate-limit-per-day", "1000000000"]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL)  # noqa: S603 - our own interpreter
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                token = _token(base)
                break
            except httpx.TransportError:
                time.sleep(0.05)
        share = args.requests // args.clients
        jobs = [(base, token, i * share, share) for i in range(args.clients)]
        cpu_before, started = _cpu_seconds(server.pid), time.perf_counter()
        with multiprocessing.Pool(args.clients) as pool:
            created = sum(pool.map(_client, jobs))
        elapsed, cpu = time.perf_counter() - started, _cpu_seconds(server.pid) - cpu_before
        print(
            f"{created} accounts created in {elapsed:.2f} s: {created / elapsed:,.0f} requests/s wall clock"
        )
        print(
            f"simulator used {cpu:.2f} CPU-s: {created / cpu:,.0f} requests per CPU-second (one core)"
        )
    finally:
        server.terminate()
        server.wait(5)


if __name__ == "__main__":
    main()
