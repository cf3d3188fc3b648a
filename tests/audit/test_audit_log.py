"""The audit log: who did what, when, from where; kept when the objects are gone."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.models import Action, AuditEvent
from portal.models import Membership, Role
from runs.models import Run, RunLine
from runs.services.corrections import line_set_reoffer, lines_resolve, run_retry
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"


def _events(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("id"))


def test_logins_and_failed_logins_are_recorded_with_the_address(client, editor):
    client.post(LOGIN, {"username": "editor", "password": "wrong"}, REMOTE_ADDR="198.51.100.4")
    client.post(LOGIN, {"username": "editor", "password": PASSWORD}, REMOTE_ADDR="198.51.100.4")
    (failed,) = _events(Action.LOGIN_FAILED)
    (logged_in,) = _events(Action.LOGIN)
    assert (failed.actor_name, failed.address) == ("editor", "198.51.100.4")
    assert (logged_in.actor_id, logged_in.address) == (editor.pk, "198.51.100.4")
    assert "wrong" not in str(failed.details) and PASSWORD not in str(logged_in.details)


def test_setting_up_two_step_login_is_recorded(client, editor):
    client.force_login(editor)
    client.get(reverse("mfa_setup"))
    device = TOTPDevice.objects.get()
    code = f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"
    client.post(reverse("mfa_setup"), {"code": code}, REMOTE_ADDR="198.51.100.5")
    (event,) = _events(Action.MFA_SET_UP)
    assert (event.actor_name, event.address) == ("editor", "198.51.100.5")


def test_intake_tokens_and_disconnecting_are_recorded_for_the_company(
    client, consultant, integration
):
    client.force_login(consultant)
    args = [integration.company.slug, integration.pk]
    client.post(reverse("intake_token_issue", args=args))
    client.post(reverse("intake_token_revoke", args=args))
    client.post(reverse("integration_disconnect", args=args))
    for action in (
        Action.INTAKE_TOKEN_ISSUED,
        Action.INTAKE_TOKEN_REVOKED,
        Action.INTEGRATION_DISCONNECTED,
    ):
        (event,) = _events(action)
        assert (event.actor_name, event.company_id) == ("consultant", integration.company_id)
        assert integration.name in event.target


def test_role_changes_name_who_changed_them(client, company, django_user_model):
    root = django_user_model.objects.create_superuser("root", password=PASSWORD)
    client.force_login(root)
    member = get_user_model().objects.create_user("newcomer", password=PASSWORD)
    membership = Membership.objects.create(user=member, company=company, role=Role.VIEWER)
    url = reverse("admin:portal_membership_change", args=[membership.pk])
    changed = client.post(url, {"user": member.pk, "company": company.pk, "role": Role.EDITOR})
    assert changed.status_code in (200, 302)
    events = _events(Action.ROLE_CHANGED)
    assert events[0].details == {"role": "viewer"}
    if changed.status_code == 302:
        assert (events[-1].details, events[-1].actor_name) == ({"role": "editor"}, "root")


def test_resolve_and_retry_are_recorded_and_kept_after_the_run_is_deleted(
    editor,
    failed_run,
    customer_line,
    invoice_line,
):
    lines_resolve(run=failed_run, line_ids=[customer_line.pk], user=editor, reason="Booked by hand")
    line_set_reoffer(line=invoice_line, user=editor, reoffer=True)
    run_retry(run=failed_run, user=editor)
    integration = failed_run.integration
    RunLine.objects.filter(integration=integration).delete()
    for run in Run.objects.filter(integration=integration).order_by("-number"):
        run.delete()  # the retry first: it protects the run it retried
    integration.delete()
    editor.delete()
    (resolve,) = _events(Action.RESOLVE)
    (retry,) = _events(Action.RETRY)
    assert resolve.details["reason"] == "Booked by hand" and resolve.details["lines"] == 1
    assert retry.details["run"] == failed_run.number and retry.actor_name == "editor"


def test_a_consultant_reads_the_log_of_their_company_only(
    client, consultant, integration, other_integration
):
    client.force_login(consultant)
    client.post(reverse("intake_token_issue", args=[integration.company.slug, integration.pk]))
    page = client.get(reverse("audit_log", args=[integration.company.slug]))
    assert page.status_code == 200
    assert "Intake token issued" in page.text and integration.name in page.text
    other = client.get(reverse("audit_log", args=[other_integration.company.slug]))
    assert "Intake token issued" not in other.text


def test_customers_do_not_read_the_log(client, editor, company):
    client.force_login(editor)
    assert client.get(reverse("audit_log", args=[company.slug])).status_code == 403


def test_the_admin_shows_the_log_and_allows_no_edits(client, django_user_model, editor):
    client.force_login(django_user_model.objects.create_superuser("root", password=PASSWORD))
    event = AuditEvent.objects.create(action=Action.LOGIN, actor_name="editor")
    assert client.get(reverse("admin:audit_auditevent_changelist")).status_code == 200
    assert (
        client.post(
            reverse("admin:audit_auditevent_delete", args=[event.pk]), {"post": "yes"}
        ).status_code
        == 403
    )
    assert AuditEvent.objects.filter(pk=event.pk).exists()
