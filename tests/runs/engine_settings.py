"""Short engine waits for tests, so retries and stalls play out in seconds, not minutes.

Shared by the test process (the ``fast_engine`` fixture) and the worker it starts
(``worker_settings``); imports nothing, so settings can load it.
"""

FAST_ENGINE = {
    "RUN_RETRY_BASE_SECONDS": 0.05,
    "RUN_RETRY_CAP_SECONDS": 0.5,
    "RUN_QUICK_WAIT_MAX_SECONDS": 2.0,
    "RUN_HEARTBEAT_SECONDS": 1.0,
    "RUN_HEARTBEAT_STALE_SECONDS": 4.0,
    "RUN_LINE_LEASE_SECONDS": 4.0,
    "RUN_QUEUED_GRACE_SECONDS": 2.0,
    "CIRCUIT_COOLOFF_SECONDS": 1.0,
    "RUN_SLICE_SECONDS": 0.5,
}
