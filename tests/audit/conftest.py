"""Runs with failed lines, as the run screens' tests have them."""

from tests.runs.screens.conftest import (  # noqa: F401
    customer_line,
    failed_run,
    invoice_line,
)
