"""Each package's own tests (``integrations/connectors/<key>/tests/``) get the fixtures the
shared tests have: a company and its people, and the connector tests' simulators."""

from tests.conftest import *  # noqa: F403
from tests.integrations.connectors.conftest import *  # noqa: F403
