"""The Notifications page, an integration's mail page, the test mail and the mail log."""

from __future__ import annotations

import pytest
from django.urls import reverse

from notifications.models import (
    ExtraRecipient,
    Frequency,
    Mail,
    MailKind,
    MailPreference,
    Subscription,
)

pytestmark = pytest.mark.django_db


def _mail_url(integration) -> str:
    return reverse(
        "integration_mail",
        kwargs={"company_slug": integration.company.slug, "integration_id": integration.pk},
    )


def test_a_user_sees_the_default_of_their_role_and_changes_it(client, viewer, company):
    client.force_login(viewer)
    page = client.get(reverse("notification_settings"))
    assert page.status_code == 200
    field = f"company_{company.pk}"
    assert page.context["form"][field].value() == Frequency.DAILY

    response = client.post(
        reverse("notification_settings"), {"language": "nl", field: Frequency.EACH_RUN}
    )
    assert response.status_code == 302
    assert Subscription.objects.get(user=viewer, company=company).frequency == Frequency.EACH_RUN
    assert MailPreference.objects.get(user=viewer).language == "nl"


def test_a_bad_choice_is_refused_and_nothing_is_stored(client, editor, company):
    client.force_login(editor)
    response = client.post(
        reverse("notification_settings"), {"language": "fr", f"company_{company.pk}": "hourly"}
    )
    assert response.status_code == 200
    assert response.context["form"].errors.keys() == {"language", f"company_{company.pk}"}
    assert not Subscription.objects.exists() and not MailPreference.objects.exists()


def test_a_consultant_adds_and_removes_an_extra_address(client, consultant, integration):
    client.force_login(consultant)
    url = _mail_url(integration)
    response = client.post(
        url, {"action": "add", "email": "boekhouding@example.com", "language": "nl"}
    )
    assert response.status_code == 302
    extra = ExtraRecipient.objects.get(integration=integration)
    assert (extra.email, extra.language) == ("boekhouding@example.com", "nl")

    again = client.post(
        url, {"action": "add", "email": "Boekhouding@example.com", "language": "nl"}
    )
    assert again.status_code == 200
    assert "already gets these mails" in str(again.context["form"].errors)
    bad = client.post(url, {"action": "add", "email": "not an address", "language": "nl"})
    assert "email" in bad.context["form"].errors

    client.post(url, {"action": "remove", "recipient": str(extra.pk)})
    assert not ExtraRecipient.objects.exists()


def test_editors_cannot_open_the_mail_settings(client, editor, integration):
    client.force_login(editor)
    assert client.get(_mail_url(integration)).status_code == 403


def test_send_a_test_mail_writes_it_to_the_log(client, consultant, integration, mailoutbox, eager):
    consultant.email = "c@example.com"
    consultant.save()
    client.force_login(consultant)
    test_url = reverse(
        "integration_mail_test",
        kwargs={"company_slug": integration.company.slug, "integration_id": integration.pk},
    )
    with_commit = client.post(test_url, follow=True)
    assert with_commit.status_code == 200
    mail = Mail.objects.get(kind=MailKind.TEST)
    assert mail.to_address == "c@example.com" and mail.integration == integration
    assert list(with_commit.context["mails"]) == [mail]
    assert "c@example.com" in with_commit.content.decode()


def test_a_test_mail_without_an_address_says_so(client, consultant, integration):
    client.force_login(consultant)
    test_url = reverse(
        "integration_mail_test",
        kwargs={"company_slug": integration.company.slug, "integration_id": integration.pk},
    )
    page = client.post(test_url, follow=True)
    assert "no e-mail address" in page.content.decode()
    assert not Mail.objects.exists()


def test_choosing_nothing_cancels_the_digest_still_gathering(client, editor, integration):
    from django.utils import timezone

    from notifications.models import MailState

    digest = Mail.objects.create(
        company=integration.company,
        integration=integration,
        kind=MailKind.FAILURES,
        user=editor,
        to_address="e@example.com",
        due_at=timezone.now(),
    )
    client.force_login(editor)
    client.post(
        reverse("notification_settings"),
        {"language": "en", f"company_{integration.company_id}": Frequency.NOTHING},
    )
    digest.refresh_from_db()
    assert digest.state == MailState.CANCELLED
