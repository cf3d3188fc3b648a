"""The demo's desk companies: a run whose invoices fail for one shared reason, for real."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from portal.management.commands.seed_demo import DESK_FAILING_INVOICES
from portal.models import Membership
from runs.groups import failure_groups
from runs.models import Run, RunLine, RunStatus
from runs.services.export import run_execute
from tests.runs.conftest import connect

pytestmark = pytest.mark.usefixtures("fast_engine")


def test_the_desk_companies_fail_for_one_reason_the_consultant_can_fix_at_once(
    multivers, shared_state, settings
):
    settings.CELERY_BROKER_URL = "memory://"
    call_command("seed_demo", "--no-connect", stdout=open("/dev/null", "w"))  # noqa: SIM115
    call_command("seed_demo", "--no-connect", stdout=open("/dev/null", "w"))  # noqa: SIM115

    runs = Run.objects.filter(integration__company__slug__in=["pietersen", "visser"])
    assert runs.count() == 2, "seeding twice adds nothing"
    assert Membership.objects.filter(user__username="consultant").count() == 4
    for run in runs:
        connect(run.integration, multivers)
        run_execute(run_id=run.pk)
        run.refresh_from_db()
        assert (run.status, run.failed) == (RunStatus.FINISHED, DESK_FAILING_INVOICES)
        (group,) = failure_groups(
            lines=RunLine.objects.open_failures().filter(run=run),
            catalogue=run.integration.connector_class.known_messages(),
        ).groups
        assert (group.reason, group.count) == ("Btwcode '…' bestaat niet.", DESK_FAILING_INVOICES)
