"""Every URL of the project, walked as an anonymous visitor, an outsider and a viewer.

The URL list is read from the resolver, so a URL added later is covered without
editing this file. Its keyword arguments are filled with ids of rows that belong to the
company under attack; a keyword this file does not know makes the test fail and asks
for it to be added to ``_ids`` — never silently skipped.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RoutePattern
from django.utils import timezone

from portal.models import Membership, Role
from runs.groups import group_key
from runs.models import DeliveryAttempt, LineEdit, LineStatus, Run, RunLine, RunStatus, Trigger
from runs.reasons import reason_of

# Left out on purpose, each with its reason.
SKIPPED_PREFIXES = {
    "admin/": "Django's admin: superusers only, its own permission checks and tests",
    "static/": "static files in DEBUG: public by nature",
}
SKIPPED_NAMES = {
    "api-root": "django-ninja's index of the API: no company data, answers 404 without docs",
    "openapi-json": "the API's OpenAPI document: public by design, holds no company data",
    "openapi-view": "the API's documentation page: public by design, holds no company data",
}
# Answer anonymous visitors by design; still must not write anything.
# ``unsubscribe``: the mail's signed link works without login; a made-up token is refused.
PUBLIC_NAMES = {"login", "logout", "healthz", "set_language", "favicon", "unsubscribe"}
FORM_DATA = {
    "version": "1",
    "reoffer": "on",
    "action": "reoffer",
    "lines": ["1", "2"],
    "identifier": "X",
    "name": "Changed",
    "resolution": "Changed",
}
_PARAMETER = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<name>\w+)>")


@dataclass(frozen=True)
class Endpoint:
    route: str
    name: str
    callback: Any

    @property
    def kwargs(self) -> list[str]:
        return [match["name"] for match in _PARAMETER.finditer(self.route)]

    @property
    def is_api(self) -> bool:
        return self.route.startswith("api/")

    @property
    def is_company(self) -> bool:
        return "company_slug" in self.kwargs

    @property
    def required_role(self) -> str:
        return getattr(self.callback, "required_role", "viewer")

    def url(self, values: dict[str, Any]) -> str:
        def fill(match: re.Match[str]) -> str:
            name = match["name"]
            if name not in values:
                pytest.fail(
                    f"URL {self.route!r} ({self.name}) takes {name!r}, which the tenancy test "
                    "cannot fill yet: add it to _ids() in tests/portal/test_tenancy_all_urls.py."
                )
            return str(values[name])

        return "/" + _PARAMETER.sub(fill, self.route)


def _walk(patterns: list[Any], prefix: str = "", namespace: str = "") -> Iterator[Endpoint]:
    for entry in patterns:
        pattern = entry.pattern
        if not isinstance(pattern, RoutePattern):
            route = prefix + str(pattern)
            if any(route.lstrip("^").startswith(skip) for skip in SKIPPED_PREFIXES):
                continue
            pytest.fail(
                f"{route!r} is a regular expression; use path() so the tenancy test can fill it."
            )
        route = prefix + str(pattern)
        if any(route.startswith(skip) for skip in SKIPPED_PREFIXES):
            continue
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from _walk(entry.url_patterns, route, inner)
        elif isinstance(entry, URLPattern):
            if (entry.name or "") in SKIPPED_NAMES:
                continue
            yield Endpoint(route, f"{namespace}{entry.name or entry.lookup_str}", entry.callback)


def all_endpoints() -> list[Endpoint]:
    return list(_walk(get_resolver().url_patterns))


def _rows(integration: Any, user: Any) -> dict[str, Any]:
    """A run with a failed line, an attempt and an edit: one of everything a URL can name."""
    run = Run.objects.create(
        integration=integration,
        number=integration.last_run_number + 1,
        trigger=Trigger.INTAKE,
        status=RunStatus.FINISHED,
        total=1,
        failed=1,
    )
    integration.last_run_number = run.number
    integration.save(update_fields=["last_run_number"])
    line = RunLine.objects.create(
        run=run,
        integration=integration,
        position=1,
        kind="customer",
        identifier="10001",
        payload={"code": "10001", "name": "Bakkerij Smit"},
        status=LineStatus.FAILED,
        message="Naam is verplicht.",
    )
    attempt = DeliveryAttempt.objects.create(
        line=line, number=1, started_at=timezone.now(), outcome=DeliveryAttempt.Outcome.FAILED
    )
    edit = LineEdit.objects.create(line=line, user=user, field="name", old_value="a", new_value="b")
    return {"run": run, "line": line, "attempt": attempt, "edit": edit}


def _ids(company: Any, integration: Any, rows: dict[str, Any]) -> dict[str, Any]:
    """URL keyword → the value naming that company's row. Add new keywords here."""
    return {
        "company_slug": company.slug,
        "integration_id": integration.pk,
        "run_id": rows["run"].pk,
        "line_id": rows["line"].pk,
        "attempt_id": rows["attempt"].pk,
        "edit_id": rows["edit"].pk,
        # Unsigned: every visitor must be refused (a valid token is tested in tests/notifications).
        "token": "not-a-signed-token",
        # The reason group of the company's failed line (a key names a reason, not a row).
        "group_key": group_key(rows["line"].kind, reason_of(rows["line"].message)),
    }


def _snapshot() -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the portal's own tables: any write shows up as a difference."""
    models = [get_user_model()]
    for label in ("portal", "integrations", "runs", "notifications"):
        models.extend(apps.get_app_config(label).get_models())
    return {
        model._meta.label: [
            tuple(map(repr, row)) for row in model.objects.order_by("pk").values_list()
        ]
        for model in models
    }


@pytest.fixture
def world(company, other_company, integration, other_integration, viewer, outsider):
    target = _ids(company, integration, _rows(integration, viewer))
    foreign_token = other_integration.issue_intake_token()
    _rows(other_integration, outsider)
    return {"target": target, "own_slug": other_company.slug, "foreign_token": foreign_token}


def _request(client: Any, method: str, url: str, **extra: Any) -> Any:
    if method == "get":
        return client.get(url, **extra)
    return client.post(url, FORM_DATA, **extra)


def _assert_nothing_written(before: dict[str, Any], endpoint: Endpoint, who: str) -> None:
    after = _snapshot()
    changed = [label for label in before if before[label] != after[label]]
    assert not changed, f"POST {endpoint.route} ({endpoint.name}) as {who} changed {changed}"


def test_the_walk_finds_the_project_urls():
    names = {endpoint.name for endpoint in all_endpoints()}
    assert {"home", "my_company", "login", "healthz", "run_detail", "line_detail"} <= names


@pytest.mark.django_db
def test_anonymous_visitors_are_sent_to_log_in_and_write_nothing(client, world):
    for endpoint in all_endpoints():
        url = endpoint.url(world["target"])
        for method in ("get", "post"):
            before = _snapshot()
            response = _request(client, method, url)
            where = f"{method.upper()} {url} ({endpoint.name})"
            if endpoint.name in PUBLIC_NAMES:
                assert response.status_code < 500, where
            elif endpoint.is_api:
                assert response.status_code in {401, 403, 405}, f"{where}: {response.status_code}"
            else:
                assert response.status_code in {302, 405}, f"{where}: {response.status_code}"
                if response.status_code == 302:
                    assert response["Location"].startswith("/accounts/login/"), where
            if method == "post":
                _assert_nothing_written(before, endpoint, "anonymous")


@pytest.mark.django_db
def test_outsiders_get_404_for_another_companys_urls(client, world, outsider):
    client.force_login(outsider)
    for endpoint in (e for e in all_endpoints() if e.is_company):
        url = endpoint.url(world["target"])
        for method in ("get", "post"):
            before = _snapshot()
            response = _request(client, method, url)
            assert response.status_code in {404, 405}, (
                f"{method.upper()} {url}: {response.status_code}"
            )
            if method == "post":
                _assert_nothing_written(before, endpoint, "outsider")


@pytest.mark.django_db
def test_outsiders_get_404_for_foreign_ids_under_their_own_company(client, world, outsider):
    # The highest role in their own company, so only tenancy (not the role) can stop them.
    Membership.objects.filter(user=outsider).update(role=Role.CONSULTANT)
    client.force_login(outsider)
    values = {**world["target"], "company_slug": world["own_slug"]}
    for endpoint in (e for e in all_endpoints() if e.is_company and len(e.kwargs) > 1):
        url = endpoint.url(values)
        for method in ("get", "post"):
            before = _snapshot()
            response = _request(client, method, url)
            assert response.status_code in {404, 405}, (
                f"{method.upper()} {url}: {response.status_code}"
            )
            if method == "post":
                _assert_nothing_written(before, endpoint, "outsider under its own slug")


@pytest.mark.django_db
def test_another_integrations_api_token_finds_no_foreign_run(client, world):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {world['foreign_token']}"}
    for endpoint in (e for e in all_endpoints() if e.is_api and e.kwargs):
        url = endpoint.url(world["target"])
        for method in ("get", "post"):
            before = _snapshot()
            response = _request(client, method, url, **headers)
            assert response.status_code in {404, 405}, (
                f"{method.upper()} {url}: {response.status_code}"
            )
            if method == "post":
                _assert_nothing_written(before, endpoint, "another integration's token")


@pytest.mark.django_db
def test_viewers_read_their_company_but_every_post_is_refused(client, world, viewer):
    client.force_login(viewer)
    for endpoint in (e for e in all_endpoints() if e.is_company):
        url = endpoint.url(world["target"])
        response = client.get(url)
        # 286: htmx "stop polling" (a finished run's progress fragment).
        allowed = {200, 204, 286, 302, 405} if endpoint.required_role == "viewer" else {403, 405}
        assert response.status_code in allowed, (
            f"GET {url} ({endpoint.name}): {response.status_code}"
        )
        before = _snapshot()
        response = client.post(url, FORM_DATA, HTTP_HX_REQUEST="true")
        assert response.status_code in {403, 405}, (
            f"POST {url} ({endpoint.name}): {response.status_code}"
        )
        _assert_nothing_written(before, endpoint, "viewer")
