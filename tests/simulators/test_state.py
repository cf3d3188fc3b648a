"""A simulator started with a state folder keeps its books and grants across restarts."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import httpx
import pytest

from integrations.connectors.exact.tests.test_exact_simulator import DIV, create_account
from integrations.simulators.testing import run_simulator


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("name", ["exact", "multivers"])
def test_bookings_and_grants_survive_a_restart_on_the_same_port(tmp_path, name):
    port = free_port()
    with run_simulator(name, state_dir=tmp_path, port=port) as sim:
        tokens = sim.login()
        headers = {
            "Authorization": f"Bearer {tokens['access_token']}",
            "Accept": "application/json",
        }
        if name == "exact":
            with httpx.Client(base_url=sim.base_url, headers=headers) as api:
                create_account(api, "C0001")
        else:
            body = {"customerId": "C1", "shortName": "A", "name": "A", "creditSqueezeId": "0"}
            httpx.post(sim.base_url + "/api/MVL00001/Customer", json=body, headers=headers)
        before = sim.ledger()

    with run_simulator(name, state_dir=tmp_path, port=port) as again:
        assert again.base_url == sim.base_url
        assert again.ledger() == before and len(before) == 1
        path = f"{DIV}/crm/Accounts" if name == "exact" else "/api/MVL00001/Customer/C1"
        answer = httpx.get(again.base_url + path, headers=headers)
        assert answer.status_code == 200, answer.text  # the old access token still opens it
        if name == "exact":
            assert [r["Code"].strip() for r in answer.json()["d"]["results"]] == ["C0001"]


def test_a_simulator_killed_with_minus_nine_comes_back_with_its_books(tmp_path):
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "integrations.simulators",
        "exact",
        "--port",
        str(port),
        "--state",
        str(tmp_path),
    ]
    root = f"http://127.0.0.1:{port}"

    def start() -> subprocess.Popen[bytes]:
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                httpx.get(root + "/_sim/stats", timeout=0.5)
                return process
            except httpx.TransportError:
                time.sleep(0.1)
        process.kill()
        raise AssertionError("the simulator did not start")

    process = start()
    try:
        from integrations.simulators.testing import RunningSimulator

        sim = RunningSimulator("exact", root)
        headers = {
            "Authorization": f"Bearer {sim.login()['access_token']}",
            "Accept": "application/json",
        }
        with httpx.Client(base_url=root, headers=headers) as api:
            for n in range(50):
                create_account(api, f"K{n}")
        os.kill(process.pid, signal.SIGKILL)
        process.wait(10)
        process = start()
        assert len(sim.ledger()) == 50
        found = httpx.get(root + f"{DIV}/crm/Accounts", headers=headers).json()["d"]["results"]
        assert len(found) == 50
        sim.close()
    finally:
        process.kill()
        process.wait(10)
