"""``python -m integrations.simulators <package key>|all [--port N] [--host H] [--state DIR] [knobs]``.

With ``--state DIR`` each simulator keeps its bookings, records and grants in DIR and
finds them again when started anew (also after kill -9).
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import Any

import uvicorn

from integrations.simulators.registry import (
    create_app,
    http_implementation,
    simulator_names,
    spec_of,
)


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m integrations.simulators", description=__doc__)
    parser.add_argument("name", choices=[*simulator_names(), "all"])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument(
        "--port", type=int, help="port of a single simulator (default: its connector's)"
    )
    for name in simulator_names():
        parser.add_argument(
            f"--{name}-port",
            type=int,
            default=spec_of(name).port,
            help=f"port of {name} with 'all'",
        )
    parser.add_argument("--state", type=Path, help="folder where the simulators keep their state")
    parser.add_argument("--latency-ms", type=int)
    parser.add_argument("--rate-limit-per-minute", type=int)
    parser.add_argument("--rate-limit-per-day", type=int)
    parser.add_argument("--token-ttl", type=int)
    parser.add_argument("--error-rate", type=float)
    parser.add_argument("--seed", type=int)
    parser.add_argument("--error-limit", type=int)
    parser.add_argument("--error-window-seconds", type=float)
    parser.add_argument("--token-min-interval", type=float)
    parser.add_argument("--day-seconds", type=float)
    parser.add_argument(
        "--accept-duplicates",
        action="store_true",
        default=None,
        help="book a duplicate key as a second copy instead of refusing it",
    )
    return parser.parse_args()


def _knobs(args: argparse.Namespace) -> dict[str, Any]:
    names = (
        "latency_ms",
        "rate_limit_per_minute",
        "rate_limit_per_day",
        "token_ttl",
        "error_rate",
        "seed",
        "error_limit",
        "error_window_seconds",
        "token_min_interval",
        "day_seconds",
        "accept_duplicates",
    )
    return {name: getattr(args, name) for name in names if getattr(args, name) is not None}


def _server(
    name: str, host: str, port: int, knobs: dict[str, Any], state: Path | None
) -> uvicorn.Server:
    config = uvicorn.Config(
        create_app(name, state_dir=state, **knobs),
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="off",
        http=http_implementation(),
    )
    return uvicorn.Server(config)


async def _serve(servers: list[uvicorn.Server]) -> None:
    await asyncio.gather(*(server.serve() for server in servers))


def main() -> None:
    args = _arguments()
    names = simulator_names() if args.name == "all" else [args.name]
    knobs = _knobs(args)
    servers = []
    for name in names:
        port = args.port if args.port and args.name != "all" else getattr(args, f"{name}_port")
        servers.append(_server(name, args.host, port, knobs, args.state))
        print(f"{name} simulator on http://{args.host}:{port}{spec_of(name).prefix}", flush=True)
    asyncio.run(_serve(servers))


if __name__ == "__main__":
    main()
