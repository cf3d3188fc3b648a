"""Property-based tests of the intake API against its own OpenAPI document (schemathesis).

Every operation in ``/api/v1/openapi.json`` is called with generated requests, with a
valid intake token: no answer may be a 5xx, and every answer must be one the document
lists, with the body and content type it describes. Bounded for CI by ``FUZZ_EXAMPLES``
examples per operation (default 50); run longer with, e.g.::

    FUZZ_EXAMPLES=2000 bin/test tests/fuzz -p no:cacheprovider
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from portal.wsgi import application

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "50"))
# Not positive_data_acceptance: a body the document allows (any "data" object) may still
# be refused with 422 by the canonical schema, as it should be.
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]

schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)


@pytest.fixture
def token(integration) -> str:
    return integration.issue_intake_token()


@pytest.fixture
def test_connection_kept():
    """As Django's test client does: the WSGI app must not close the test's connection."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.mark.django_db
@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_the_api_answers_as_its_document_says(case, token, test_connection_kept):
    response = case.call(headers={"Authorization": f"Bearer {token}"})
    case.validate_response(response, checks=CHECKS)
