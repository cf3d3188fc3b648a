"""Settings of the Celery worker that tests/runs starts: the test database, short waits."""

import json
import os

from portal.settings import *  # noqa: F403
from portal.settings import DATABASES
from tests.runs.engine_settings import FAST_ENGINE

DATABASES["default"]["NAME"] = os.environ["WORKER_TEST_DATABASE"]
globals().update(FAST_ENGINE)
# A test that shortens a simulator's limits shortens the engine's to match.
CONNECTOR_LIMITS = json.loads(os.environ.get("WORKER_CONNECTOR_LIMITS", "{}"))
