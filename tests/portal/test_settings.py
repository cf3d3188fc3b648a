"""Settings come from the environment; a bad value stops the start with its name."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GOOD_FERNET_KEY = "cDfAEkHuOEvCuo9B5QIbJUhQuVn0gB3wzcjP0W3TpFE="
PRODUCTION = {
    "PORTAL_ENV": "production",
    "SECRET_KEY": "p" * 20 + "-a-long-and-random-production-secret-key-0123456789",
    "ALLOWED_HOSTS": "portal.example.com",
    "DATABASE_URL": "postgres://portal:secret@db.example.com:5432/portal",
    "FIELD_ENCRYPTION_KEY": GOOD_FERNET_KEY,
}


def _run(args: list[str], env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    # A clean environment: only what the test sets, so the developer's own shell
    # (DATABASE_URL for PostgreSQL, say) cannot change the outcome.
    base = {key: os.environ[key] for key in ("PATH", "HOME", "LANG") if key in os.environ}
    full = {
        **base,
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "PORTAL_VAR_DIR": str(tmp_path),
        **env,
    }
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=full, capture_output=True, text=True, timeout=120
    )


def _setup(env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return _run(["-c", "import django; django.setup()"], env, tmp_path)


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"DEBUG": "maybe"}, "DEBUG"),
        ({"PORTAL_ENV": "staging"}, "PORTAL_ENV"),
        ({"DATABASE_URL": "mysql://root@localhost/portal"}, "DATABASE_URL"),
        ({"REDIS_URL": "http://localhost:6379"}, "REDIS_URL"),
        ({"AXES_FAILURE_LIMIT": "five"}, "AXES_FAILURE_LIMIT"),
        ({"AXES_FAILURE_LIMIT": "0"}, "AXES_FAILURE_LIMIT"),
        ({"CELERY_TASK_TIME_LIMIT": "1.5"}, "CELERY_TASK_TIME_LIMIT"),
        ({"INTAKE_MAX_LINES": "-1"}, "INTAKE_MAX_LINES"),
        ({"EMAIL_URL": "smtp+starttls://mail.example.com"}, "EMAIL_URL"),
        ({"EMAIL_URL": "smtp+tls://mail.example.com:five"}, "EMAIL_URL"),
        ({"EMAIL_URL": "smtp+tls://:587"}, "EMAIL_URL"),
        ({"MAIL_DIGEST_WINDOW_SECONDS": "soon"}, "MAIL_DIGEST_WINDOW_SECONDS"),
        ({**PRODUCTION, "SECRET_KEY": "short"}, "SECRET_KEY"),
        ({**PRODUCTION, "SECRET_KEY": ""}, "SECRET_KEY"),
        ({**PRODUCTION, "ALLOWED_HOSTS": ""}, "ALLOWED_HOSTS"),
        ({**PRODUCTION, "DATABASE_URL": ""}, "DATABASE_URL"),
        ({**PRODUCTION, "FIELD_ENCRYPTION_KEY": ""}, "FIELD_ENCRYPTION_KEY"),
    ],
)
def test_a_bad_value_is_refused_with_the_variables_name(env, named, tmp_path):
    result = _setup(env, tmp_path)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert named in result.stderr.strip().splitlines()[-1], result.stderr[-500:]


def test_no_environment_at_all_gives_the_embedded_defaults(tmp_path):
    result = _run(
        [
            "-c",
            "import django; django.setup(); from django.conf import settings as s; "
            "print(s.DATABASES['default']['ENGINE'], s.CELERY_BROKER_URL)",
        ],
        {},
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["django.db.backends.sqlite3", "filesystem://"]


def test_production_settings_pass_the_deploy_checks(tmp_path):
    result = _run(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"], PRODUCTION, tmp_path
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_two_step_login_is_required_in_production_and_not_on_the_embedded_default(tmp_path):
    code = "from django.conf import settings; print(settings.MFA_REQUIRED)"
    production = _run(["-c", f"import django; django.setup(); {code}"], PRODUCTION, tmp_path)
    embedded = _run(["-c", f"import django; django.setup(); {code}"], {}, tmp_path)
    assert production.stdout.strip() == "True", production.stderr
    assert embedded.stdout.strip() == "False", embedded.stderr
