"""The Integrations page: a company's integrations at a glance."""

from __future__ import annotations

import pytest
from django.urls import reverse

from integrations.models import Integration
from runs.models import RunStatus, Trigger
from tests.integrations.screens_support import make_failed_lines, make_runs

pytestmark = pytest.mark.django_db


def _url(company) -> str:
    return reverse("integration_list", kwargs={"company_slug": company.slug})


def test_anonymous_visitors_are_sent_to_log_in(client, company):
    response = client.get(_url(company))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_it_hides_other_companies_integrations(client, company, outsider, integration):
    client.force_login(outsider)
    assert client.get(_url(company)).status_code == 404


@pytest.mark.parametrize("role", ["viewer", "editor", "consultant"])
def test_every_member_sees_the_integrations(client, request, company, integration, role):
    client.force_login(request.getfixturevalue(role))
    response = client.get(_url(company))
    assert response.status_code == 200
    assert "Accounting link — Multivers Online" in response.text
    assert reverse("run_history", args=[company.slug, integration.pk]) in response.text


def test_it_shows_the_last_run_and_the_open_failed_lines(client, company, integration, viewer):
    runs = make_runs(integration, 3)
    last = runs[-1]
    make_failed_lines(last, 4)
    make_failed_lines(last, 2, resolution="Booked by hand")  # still open: not resolved
    make_failed_lines(runs[0], 5, reoffered_in=last)  # taken by a later run: not open
    client.force_login(viewer)
    response = client.get(_url(company))
    summary = response.context["summaries"][0]
    assert summary.last_run == last
    assert summary.open_failures == 6
    assert f"#{last.number}," in response.text
    assert reverse("run_detail", args=[company.slug, last.pk]) in response.text


def test_it_draws_a_bar_with_a_title_for_each_recent_run(client, company, integration, viewer):
    make_runs(integration, 25)
    make_runs(integration, 1, succeeded=7, failed=3)
    client.force_login(viewer)
    response = client.get(_url(company))
    assert response.text.count("<title>Run #") == 20
    assert "Run #26" in response.text
    assert "7 succeeded, 3 failed, 0 skipped of 10 lines" in response.text
    assert "Run #6," not in response.text
    assert 'class="bar-failed"' in response.text


def test_only_consultants_get_a_settings_link(client, company, integration, editor, consultant):
    settings_url = reverse("integration_settings", args=[company.slug, integration.pk])
    client.force_login(editor)
    assert settings_url not in client.get(_url(company)).text
    client.force_login(consultant)
    assert settings_url in client.get(_url(company)).text


def test_it_says_whether_an_integration_is_connected(client, company, integration, viewer):
    client.force_login(viewer)
    assert "Not connected" in client.get(_url(company)).text
    integration.credentials = {**integration.credentials, "refresh_token": "r"}
    integration.enabled = False
    integration.save()
    text = client.get(_url(company)).text
    assert ">Connected<" in text
    assert "Disabled" in text


def test_it_asks_a_fixed_number_of_queries_however_many_integrations_and_runs(
    client, company, integration, viewer, django_assert_max_num_queries
):
    client.force_login(viewer)
    with django_assert_max_num_queries(6):
        client.get(_url(company))
    for n in range(4):
        extra = Integration.objects.create(
            company=company, name=f"Link {n}", connector="exact", base_url="http://127.0.0.1:8102"
        )
        runs = make_runs(extra, 30, failed=1, succeeded=9)
        make_runs(extra, 1, trigger=Trigger.RETRY, retry_of=runs[0], status=RunStatus.RUNNING)
        make_failed_lines(runs[-1], 3)
    with django_assert_max_num_queries(6):
        response = client.get(_url(company))
    assert len(response.context["summaries"]) == 5


def test_lines_in_doubt_show_beside_the_open_failed_lines(client, company, integration, viewer):
    make_runs(integration, 1, succeeded=9, in_doubt=1)
    make_runs(integration, 1)
    make_runs(integration, 1, succeeded=8, in_doubt=2)
    client.force_login(viewer)

    response = client.get(_url(company), HTTP_ACCEPT_LANGUAGE="nl")

    assert response.context["summaries"][0].in_doubt == 3
    open_lines = reverse("open_failures", args=[company.slug, integration.pk])
    text = " ".join(response.text.split())
    assert f'href="{open_lines}#in-doubt-title">3 regels onzeker</a>' in text


def test_it_speaks_dutch_when_asked(client, company, integration, viewer):
    client.force_login(viewer)
    response = client.get(_url(company), HTTP_ACCEPT_LANGUAGE="nl")
    assert "<h1>Integraties</h1>" in response.text
    assert 'lang="nl"' in response.text
