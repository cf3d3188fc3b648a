"""The test worker with production's heartbeat pace, for measuring a takeover."""

from tests.runs.worker_settings import *  # noqa: F403

RUN_HEARTBEAT_SECONDS = 10.0
RUN_HEARTBEAT_STALE_SECONDS = 30.0
RUN_LINE_LEASE_SECONDS = 300.0
