"""The deployment files point at things that exist in this project.

docker-compose cannot run here (no Docker engine), so these tests check what would
break first: a service command naming a module, app or variable that is not there.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
# Variables that docker-compose itself or the containers' images read, not the settings.
NOT_SETTINGS = {"POSTGRES_PASSWORD", "POSTGRES_DB", "POSTGRES_USER"}


def _command(service: str) -> list[str]:
    command = SERVICES[service]["command"]
    return command if isinstance(command, list) else command.split()


def _settings_variables() -> set[str]:
    source = (ROOT / "portal" / "settings.py").read_text()
    return set(re.findall(r'env_(?:str|bool|int|float|list|mailer)\(\s*"([A-Z0-9_]+)"', source))


def test_compose_has_every_service_with_its_health_conditions():
    assert set(SERVICES) >= {"postgres", "redis", "web", "worker", "beat", "simulators"}
    assert SERVICES["postgres"]["healthcheck"]["test"][-1].startswith("pg_isready")
    assert "ping" in SERVICES["redis"]["healthcheck"]["test"]
    assert "/healthz" in " ".join(SERVICES["web"]["healthcheck"]["test"])
    for service in ("web", "worker", "beat"):
        depends = SERVICES[service]["depends_on"]
        assert all(rule["condition"] == "service_healthy" for rule in depends.values()), service


def test_web_serves_the_wsgi_application_after_migrating():
    command = " ".join(_command("web"))
    assert "manage.py migrate" in command
    target = re.search(r"gunicorn (\S+)", command).group(1)
    module, _, attribute = target.partition(":")
    assert callable(getattr(importlib.import_module(module), attribute))


@pytest.mark.parametrize("service", ["worker", "beat"])
def test_celery_services_name_the_portal_app(service):
    command = _command(service)
    assert command[:3] == ["celery", "-A", "portal"]
    from celery import Celery

    # `celery -A portal` looks for portal.celery_app / portal.app / portal.celery.
    assert isinstance(importlib.import_module("portal").celery_app, Celery)
    assert command[3] == service


def test_beat_schedule_names_registered_tasks():
    import portal

    for entry in portal.celery_app.conf.beat_schedule.values():
        # What autodiscovery would import: the tasks module named in the task's name.
        importlib.import_module(entry["task"].rpartition(".")[0])
        assert entry["task"] in portal.celery_app.tasks, entry["task"]


def test_simulators_service_runs_a_module_with_main():
    command = _command("simulators")
    assert command[:3] == ["python", "-m", "integrations.simulators"]
    assert importlib.util.find_spec("integrations.simulators.__main__") is not None


def test_compose_and_env_example_set_only_variables_the_settings_read():
    read = _settings_variables()
    anchor = COMPOSE["x-portal"]["environment"]
    example = ROOT / ".env.example"
    in_example = {
        line.split("=", 1)[0].strip()
        for line in example.read_text().splitlines()
        if "=" in line and not line.lstrip().startswith("#")
    }
    unknown = (set(anchor) | in_example) - read - NOT_SETTINGS
    assert not unknown, f"Set in docker-compose.yml/.env.example but read by no setting: {unknown}"


def test_production_secrets_are_in_env_example():
    example = (ROOT / ".env.example").read_text()
    for name in ("SECRET_KEY", "ALLOWED_HOSTS", "FIELD_ENCRYPTION_KEY"):
        assert re.search(rf"^{name}=", example, re.M), name


def test_readme_documents_every_variable_the_settings_read():
    readme = (ROOT / "README.md").read_text()
    missing = sorted(name for name in _settings_variables() if f"`{name}`" not in readme)
    assert not missing, f"Add these to README.md's Configuration section: {missing}"


def test_dockerfile_runs_as_a_user_and_collects_static_files():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert dockerfile.startswith("# ") and "FROM python:3.12-slim" in dockerfile
    assert re.search(r"^USER (?!root)\w+", dockerfile, re.M)
    assert "collectstatic --noinput" in dockerfile
    assert "pip install ." in dockerfile
