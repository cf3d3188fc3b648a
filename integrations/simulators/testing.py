"""Run a simulator on a free port in a background thread, for tests and benchmarks.

    with run_simulator(key, rate_limit_per_minute=600) as sim:
        httpx.get(f"{sim.base_url}/api/v1/current/Me", headers=sim.auth_headers())
        assert len(sim.ledger()) == 0

``base_url`` is the API's base: the simulator's root plus its connector's
``SimulatorSpec.prefix`` (a version path such as ``/V22``, or nothing). The control API lives at ``root_url + "/_sim/…"``.

"The package is down for a minute": run it with a ``state_dir`` and a fixed ``port``, leave
the block, and start it again with the same two; its books and grants are still there.

"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import httpx
import uvicorn

from integrations.simulators.oauth import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET
from integrations.simulators.registry import create_app, http_implementation, spec_of

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

REDIRECT_URI = "http://localhost/callback"
START_TIMEOUT = 10.0


class RunningSimulator:
    """A started simulator and its control API."""

    def __init__(self, name: str, root_url: str) -> None:
        self.name = name
        self.root_url = root_url
        self.spec = spec_of(name)
        self.base_url = root_url + self.spec.prefix
        self.client_id = DEMO_CLIENT_ID
        self.client_secret = DEMO_CLIENT_SECRET
        self._control = httpx.Client(base_url=root_url, timeout=10.0)

    @property
    def port(self) -> int:
        """Where it listens, so a restarted simulator can answer at the same address."""
        return int(self.root_url.rsplit(":", 1)[1])

    def ledger(self) -> list[dict[str, Any]]:
        """Every booking so far (creates, and updates marked ``"update": true``)."""
        return self._control.get("/_sim/ledger").raise_for_status().json()["bookings"]

    def refused_duplicates(self) -> list[dict[str, Any]]:
        return self._control.get("/_sim/ledger").raise_for_status().json()["refused_duplicates"]

    def stats(self) -> dict[str, Any]:
        return self._control.get("/_sim/stats").raise_for_status().json()

    def reset(self) -> None:
        self._control.post("/_sim/reset").raise_for_status()

    def set_faults(self, **knobs: Any) -> dict[str, Any]:
        return self._control.post("/_sim/faults", json=knobs).raise_for_status().json()

    def authorize_url(self, state: str = "", redirect_uri: str = REDIRECT_URI) -> str:
        query = httpx.QueryParams(
            client_id=self.client_id, redirect_uri=redirect_uri, response_type="code", state=state
        )
        return f"{self.base_url}{self.spec.oauth_paths[0]}?{query}"

    @property
    def token_url(self) -> str:
        return self.base_url + self.spec.oauth_paths[1]

    def login(self) -> dict[str, Any]:
        """Run the authorization-code flow with the demo client; answer the token JSON."""
        answer = self._control.get(self.authorize_url(state="test"))
        code = parse_qs(urlsplit(answer.headers["location"]).query)["code"][0]
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "client_id": self.client_id,
            "client_secret": self.client_secret,
        }
        return self._control.post(self.token_url, data=form).raise_for_status().json()

    def auth_headers(self) -> dict[str, str]:
        """Headers of a fresh login: bearer token and JSON."""
        return {
            "Authorization": f"Bearer {self.login()['access_token']}",
            "Accept": "application/json",
        }

    def close(self) -> None:
        self._control.close()


def api_client(sim: RunningSimulator, **kwargs: Any) -> httpx.Client:
    """A client logged in with the demo client, like a connector would be."""
    return httpx.Client(base_url=sim.base_url, headers=sim.auth_headers(), timeout=5.0, **kwargs)


@contextlib.contextmanager
def run_simulator(
    name: str,
    *,
    host: str = "127.0.0.1",
    state_dir: Path | None = None,
    port: int | None = None,
    **knobs: Any,
) -> Iterator[RunningSimulator]:
    """Start simulator ``name`` with ``knobs`` as its defaults; stop it when the block ends.

    ``state_dir`` keeps its state across runs; ``port`` (default: a free one) lets a
    restarted simulator answer at the same address.
    """
    app = create_app(name, state_dir=state_dir, **knobs)
    # proto IPPROTO_TCP, so asyncio sets TCP_NODELAY on accepted connections (else Nagle and
    # delayed ACKs add 40 ms to every answer).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port or 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        lifespan="off",
        http=http_implementation(),
        timeout_graceful_shutdown=1,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name=f"simulator-{name}", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + START_TIMEOUT
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            sock.close()
            raise RuntimeError(f"simulator {name!r} did not start on {host}:{port}")
        time.sleep(0.005)
    running = RunningSimulator(name, f"http://{host}:{port}")
    try:
        yield running
    finally:
        running.close()
        server.should_exit = True
        thread.join(START_TIMEOUT)
        sock.close()
