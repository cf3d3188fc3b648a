"""The models and the migrations agree."""

from __future__ import annotations

import pytest
from django.core.management import call_command


@pytest.mark.django_db
def test_no_model_change_lacks_a_migration():
    # Raises SystemExit(1) and lists the changes when a migration is missing.
    call_command("makemigrations", "--check", "--dry-run", verbosity=1)
