"""Settings for Cloud Portal, read from the environment.

Without any environment the portal runs on embedded defaults (SQLite in ``var/``,
Celery on kombu's filesystem transport), which is what the README's run command uses.
``PORTAL_ENV=production`` makes every secret mandatory and turns on the deploy checks.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

import dj_database_url
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP
from django.utils.translation import gettext_lazy as _

from integrations.connectors.registry import package_folders
from portal.env import (
    env_bool,
    env_float,
    env_int,
    env_list,
    env_mailer,
    env_pairs,
    env_str,
)

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("PORTAL_VAR_DIR", str(BASE_DIR / "var")))

PORTAL_ENV = env_str("PORTAL_ENV", "development")
if PORTAL_ENV not in {"development", "production", "test"}:
    raise ImproperlyConfigured(
        f"PORTAL_ENV must be development, production or test, not {PORTAL_ENV!r}."
    )
PRODUCTION = PORTAL_ENV == "production"

DEBUG = env_bool("DEBUG", default=not PRODUCTION)
if PRODUCTION:
    SECRET_KEY = env_str("SECRET_KEY")
    if len(SECRET_KEY) < 50:
        raise ImproperlyConfigured("SECRET_KEY must be at least 50 characters long.")
else:
    SECRET_KEY = env_str("SECRET_KEY", "dev-only-insecure-secret-key-" + "x" * 40)

ALLOWED_HOSTS = env_list(
    "ALLOWED_HOSTS", [] if PRODUCTION else ["localhost", "127.0.0.1", "[::1]", "testserver"]
)
if PRODUCTION and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("Set ALLOWED_HOSTS to the host names the portal answers on.")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    # OpClass in index expressions (runs.models.PatternIndex) needs its app registered.
    "django.contrib.postgres",
    "django_htmx",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "portal",
    "integrations",
    "runs",
    "notifications",
    "audit",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "portal.mfa.MfaMiddleware",
    "portal.middleware.AuditContextMiddleware",
    "portal.middleware.SessionActivityMiddleware",
    "portal.middleware.NoStoreMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "portal.middleware.DatabaseBusyMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, so a locked-out login is answered before the view runs.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "portal.context_processors.portal",
            ],
        },
    },
]

# --- database -----------------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL", "")
if DATABASE_URL:
    scheme = urlparse(DATABASE_URL).scheme
    if scheme not in {"postgres", "postgresql", "sqlite"}:
        raise ImproperlyConfigured(
            f"DATABASE_URL must start with postgres:// or sqlite://, not {scheme}://."
        )
    DATABASES = {
        "default": dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True)
    }
else:
    if PRODUCTION:
        raise ImproperlyConfigured("Set DATABASE_URL (postgres://…) for production.")
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(VAR_DIR / "portal.sqlite3"),
            "OPTIONS": {
                # WAL lets the web process read while the worker writes; IMMEDIATE takes
                # the write lock at BEGIN so two writers queue instead of deadlocking,
                # and the timeout makes them wait rather than fail with "locked".
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
            },
            "TEST": {"NAME": str(VAR_DIR / "test.sqlite3")},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- cache (shared rate limits, circuit breakers, token locks need a shared one) ----------
REDIS_URL = env_str("REDIS_URL", "")
if REDIS_URL:
    if urlparse(REDIS_URL).scheme not in {"redis", "rediss"}:
        raise ImproperlyConfigured("REDIS_URL must start with redis:// or rediss://.")
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
else:
    # Files under var/ are shared by the web process and the worker on this machine,
    # and need no table to be created first.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }

# --- celery ---------------------------------------------------------------------------
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", REDIS_URL or "filesystem://")
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object]
if CELERY_BROKER_URL.startswith("filesystem://"):
    broker_dir = VAR_DIR / "broker"
    for sub in ("in", "processed", "control"):
        (broker_dir / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(broker_dir / "in"),
        "data_folder_out": str(broker_dir / "in"),
        "processed_folder": str(broker_dir / "processed"),
        # Broadcast (remote control) messages; kombu's default is ./control.
        "control_folder": str(broker_dir / "control"),
        "store_processed": False,
    }
elif urlparse(CELERY_BROKER_URL).scheme in {"amqp", "amqps", "pyamqp"}:
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        # RabbitMQ confirms each published task: a wake-up it could not take raises in
        # the caller (logged; the sweeper re-queues) instead of vanishing.
        "confirm_publish": True,
    }
    # RabbitMQ has no visibility timeout: an unacknowledged task comes back when its
    # worker's connection closes (kill -9 included). Its consumer_timeout (30 min by
    # default) closes a channel whose task stays unacknowledged longer: a run's slice
    # (RUN_SLICE_MAX_SECONDS) and the longest countdown stay far below it.
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        # A task not acknowledged within this time is given to another worker. Every
        # time limit below stays under it, so a healthy task is never run twice.
        "visibility_timeout": 3600,
    }
if urlparse(CELERY_BROKER_URL).scheme in {"redis", "rediss"}:
    # kombu's Redis transport, surviving a Redis outage (see portal/celery.py).
    CELERY_BROKER_TRANSPORT = "portal.celery:RedisTransport"
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
# Screens read progress from the Run row; nothing reads task results.
CELERY_TASK_IGNORE_RESULT = True
# Acknowledge after the task ran, so a killed worker's task is delivered again;
# the rows in the database make the second delivery harmless.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# One task at a time per process: a run holds its worker for minutes.
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 1500, minimum=10)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 1800, minimum=10)
# A lost broker connection must not touch the running task: the rows are the truth,
# and a cancelled run only waits for the sweeper.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = False
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Reconnect after a broker outage, however long: a worker that gives up needs a person.
CELERY_BROKER_CONNECTION_RETRY = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
# Every 15 s: with the 30 s stale limit a killed worker's run moves again within a minute.
CELERY_BEAT_SCHEDULE = {
    "sweep-stalled-runs": {"task": "runs.tasks.sweep", "schedule": 15.0},
    # Mails whose digest window closed, whose retry is due, or whose worker died.
    "send-due-mails": {"task": "notifications.tasks.sweep", "schedule": 30.0},
    # Starts the open items imports that are due (each integration has its own interval).
    "open-items-schedule": {
        "task": "runs.tasks.open_items_schedule",
        "schedule": env_float("OPEN_ITEMS_TICK_SECONDS", 60.0, minimum=1),
    },
    "daily-mail-summaries": {
        "task": "notifications.tasks.daily",
        "schedule": crontab(hour=env_int("MAIL_DAILY_HOUR", 7, minimum=0), minute=0),
    },
    # Details of booked lines older than RETENTION_DAYS; at night, when History is quiet.
    "prune-line-details": {
        "task": "runs.tasks.prune",
        "schedule": crontab(hour=env_int("RETENTION_HOUR", 3, minimum=0), minute=30),
    },
}

# Retention: the offered data, attempts and exchanges of lines booked longer ago than
# this are removed (runs, counters and each booking's fact stay; failures never go).
RETENTION_DAYS = env_int("RETENTION_DAYS", 180, minimum=1)
# Booked lines pruned per short transaction (one statement) of a pruning pass.
RETENTION_BATCH_SIZE = env_int("RETENTION_BATCH_SIZE", 2000, minimum=1)

# --- accounting packages ----------------------------------------------------------------
# Comma-separated Fernet keys, newest first. Credentials are encrypted with the first and
# can be read with any, so a key is rotated by prepending a new one and running
# `manage.py rotate_credentials`, then dropping the old one.
_dev_key = "cDfAEkHuOEvCuo9B5QIbJUhQuVn0gB3wzcjP0W3TpFE="  # development only
FIELD_ENCRYPTION_KEYS = env_list("FIELD_ENCRYPTION_KEY", [] if PRODUCTION else [_dev_key])
if not FIELD_ENCRYPTION_KEYS:
    raise ImproperlyConfigured(
        "Set FIELD_ENCRYPTION_KEY to one or more Fernet keys (comma-separated, newest first)."
    )
# Lets an integration point at the local simulators (127.0.0.1/localhost); never in production.
CONNECTOR_ALLOW_LOCAL_HOSTS = env_bool("CONNECTOR_ALLOW_LOCAL_HOSTS", not PRODUCTION)
# Where the demo's simulators answer: on SIMULATOR_HOST at each connector's declared port,
# unless SIMULATOR_URLS names a package's API base outright ("exact=http://sims:8102,…").
SIMULATOR_HOST = env_str("SIMULATOR_HOST", "127.0.0.1")
SIMULATOR_URLS = env_pairs("SIMULATOR_URLS")
# How often a live page (History, a run's progress) asks the server again while a run works.
LIVE_POLL_SECONDS = env_int("LIVE_POLL_SECONDS", 2, minimum=1)
# Public URL of the portal, used in OAuth redirect URIs.
PORTAL_BASE_URL = env_str("PORTAL_BASE_URL", "http://127.0.0.1:8000")

# --- auth -------------------------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Two-step login (portal/mfa.py): required of consultants and admins in production, so
# the demo and the browser tests log in with a password alone. Customers may turn it on.
MFA_REQUIRED = env_bool("MFA_REQUIRED", PRODUCTION)
OTP_TOTP_ISSUER = "Cloud Portal"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
# Lock a username+address pair after 5 failures for 15 minutes: long enough to stop
# guessing, short enough that nobody can lock a colleague out for good.
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = env_int("AXES_COOLOFF_MINUTES", 15, minimum=1) / 60
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
# The proxies in front of the portal that append to X-Forwarded-For (the documented TLS
# proxy is one). The lockout and the audit log read the client's address through exactly
# this many; 0 ignores the header, which a client could otherwise forge.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0, minimum=0)
AXES_CLIENT_IP_CALLABLE = "portal.clients.client_address"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"

# --- i18n -------------------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("nl", _("Dutch"))]
# Each package's own translations (its forms' labels, help texts) live in its folder.
LOCALE_PATHS = [
    BASE_DIR / "locale",
    *(folder / "locale" for folder in package_folders() if (folder / "locale").is_dir()),
]
TIME_ZONE = env_str("TIME_ZONE", "Europe/Amsterdam")
USE_I18N = True
FORMAT_MODULE_PATH = ["portal.formats"]
USE_TZ = True

# --- static -----------------------------------------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
if not PRODUCTION:
    # Outside production whitenoise serves straight from the finders (static/), so
    # nothing needs collecting; the empty folder only keeps it from warning.
    WHITENOISE_USE_FINDERS = True
    WHITENOISE_AUTOREFRESH = DEBUG
    STATIC_ROOT.mkdir(exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# --- security ---------------------------------------------------------------------------
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "form-action": [CSP.SELF, *env_list("CSP_FORM_ACTION_EXTRA", [])],
    "frame-ancestors": [CSP.NONE],
    "base-uri": [CSP.SELF],
}
SESSION_COOKIE_HTTPONLY = True
# A session ends after a working day without a request (renewed while used, see
# portal.middleware.SessionActivityMiddleware), and at browser close unless the person
# ticked "Keep me logged in".
SESSION_COOKIE_AGE = env_int("SESSION_IDLE_HOURS", 9, minimum=1) * 3600
CSRF_COOKIE_HTTPONLY = False  # htmx reads no cookie; the token travels in hx-headers
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if PRODUCTION:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31_536_000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

# --- the run engine (docs/delivery.md) ---------------------------------------------------
# Lines claimed and written back per step; progress is written once per chunk.
RUN_CHUNK_SIZE = env_int("RUN_CHUNK_SIZE", 100, minimum=1)
# Lines in flight at once per run (HTTP only; the database is written by one thread).
RUN_CONCURRENCY = env_int("RUN_CONCURRENCY", 8, minimum=1)
# A line `delivering` longer than this is in doubt: looked up before it is offered again.
# (A backstop: the run's heartbeat is the lease that counts. A worker that takes over a
# run whose heartbeat went stale looks its delivering lines up at once.)
RUN_LINE_LEASE_SECONDS = env_float("RUN_LINE_LEASE_SECONDS", 300, minimum=1)
RUN_HEARTBEAT_SECONDS = env_float("RUN_HEARTBEAT_SECONDS", 10, minimum=0.1)
# A running run whose heartbeat is older than this has lost its worker: the sweeper re-queues it.
RUN_HEARTBEAT_STALE_SECONDS = env_float("RUN_HEARTBEAT_STALE_SECONDS", 30, minimum=1)
RUN_QUEUED_GRACE_SECONDS = env_float("RUN_QUEUED_GRACE_SECONDS", 60, minimum=1)
# Longest Celery countdown; well below the broker's visibility timeout (3600 s).
RUN_MAX_COUNTDOWN_SECONDS = env_float("RUN_MAX_COUNTDOWN_SECONDS", 600, minimum=1)
# Fair share (docs/delivery.md, "Fair share"): a run that has held its worker this long
# hands it to a run of another company that waits for one, and queues itself behind it…
RUN_SLICE_SECONDS = env_float("RUN_SLICE_SECONDS", 5.0, minimum=0.1)
# …and after this long it queues itself behind the others anyway, so no task keeps its
# broker message unacknowledged near RabbitMQ's consumer_timeout or the time limits.
RUN_SLICE_MAX_SECONDS = env_float("RUN_SLICE_MAX_SECONDS", 600, minimum=1)
# How often a running run asks whether another company waits (one indexed query).
RUN_YIELD_CHECK_SECONDS = env_float("RUN_YIELD_CHECK_SECONDS", 0.2, minimum=0.01)
# Transient faults: quick tries inside the task, then waits stored on the line.
RUN_QUICK_TRIES = env_int("RUN_QUICK_TRIES", 3, minimum=1)
RUN_QUICK_WAIT_MAX_SECONDS = env_float("RUN_QUICK_WAIT_MAX_SECONDS", 5.0)
RUN_RETRY_BASE_SECONDS = env_float("RUN_RETRY_BASE_SECONDS", 0.5)
RUN_RETRY_CAP_SECONDS = env_float("RUN_RETRY_CAP_SECONDS", 300.0)
RUN_MAX_ATTEMPTS = env_int("RUN_MAX_ATTEMPTS", 8, minimum=1)
# A 429's Retry-After is honoured up to this long per answer (a 429 spends no attempt).
RUN_RETRY_AFTER_MAX_SECONDS = env_float("RUN_RETRY_AFTER_MAX_SECONDS", 600.0, minimum=1)
# Circuit breaker per integration: open after this many transient faults in a row.
CIRCUIT_FAILURES = env_int("CIRCUIT_FAILURES", 10, minimum=1)
CIRCUIT_COOLOFF_SECONDS = env_float("CIRCUIT_COOLOFF_SECONDS", 30.0)
# The package down this long: stop the run (resumable) instead of waiting on.
CIRCUIT_RUN_STOP_SECONDS = env_float("CIRCUIT_RUN_STOP_SECONDS", 600.0)
# A package's limits as the engine keeps them (rate, token cadence, error budget) come
# from its connector class, from the package's documentation. Only tests and benchmarks
# against a simulator whose limits are shortened change them here, per connector key:
# {"exact": {"rate_limit": (600, 60), "token_min_interval": 4}}. Never set in production.
CONNECTOR_LIMITS: dict[str, dict[str, object]] = {}

# An open items import that meets a fault the package calls passing (5xx, 429, a
# connection error) starts its read again this many times before it fails.
OPEN_ITEMS_TRIES = env_int("OPEN_ITEMS_TRIES", 3, minimum=1)
# The demo shortens every integration's interval to this many minutes (0: as set).
DEMO_OPEN_ITEMS_INTERVAL = env_int("DEMO_OPEN_ITEMS_INTERVAL", 2, minimum=0)

# Longest a worker blocks for the shared rate limit before it re-queues the run.
LIMITER_MAX_WAIT_SECONDS = env_float("LIMITER_MAX_WAIT_SECONDS", 30.0)
# Stop offering to an endpoint once this many of the package's error answers are in its
# window (0: the connector's own ``ErrorBudget.stop_at``, 8 for Exact Online's 10).
LIMITER_ERROR_STOP_AT = env_int("LIMITER_ERROR_STOP_AT", 0, minimum=0)
# Redis (the shared limiter, error counts) unreachable: lines wait this long, then try again.
LIMITER_SHARED_STATE_RETRY_SECONDS = env_float(
    "LIMITER_SHARED_STATE_RETRY_SECONDS", 5.0, minimum=0.1
)

# --- mail (notifications/, docs/operations.md "Mail") ------------------------------------
# Unset: every mail is written as an .eml file under var/mail/ (the demo, a laptop).
# EMAIL_TIMEOUT: a slow mail server holds a worker process at most this long per try.
MAILERS = {
    "default": env_mailer(
        "EMAIL_URL",
        default_dir=str(VAR_DIR / "mail"),
        timeout=env_int("EMAIL_TIMEOUT", 10, minimum=1),
    )
}
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Cloud Portal <portal@localhost>")
# At most one failure mail per integration per recipient in this window; what fails
# meanwhile is gathered into that one digest, sent when the window closes.
MAIL_DIGEST_WINDOW_SECONDS = env_int("MAIL_DIGEST_WINDOW_SECONDS", 30 * 60, minimum=0)
# A mail claimed for sending longer than this lost its worker and is sent again.
MAIL_SEND_LEASE_SECONDS = env_float("MAIL_SEND_LEASE_SECONDS", 120, minimum=1)
# A refusal for now (SMTP 4xx, no connection): tries, and the backoff between them.
MAIL_MAX_ATTEMPTS = env_int("MAIL_MAX_ATTEMPTS", 8, minimum=1)
MAIL_RETRY_BASE_SECONDS = env_float("MAIL_RETRY_BASE_SECONDS", 30.0)
MAIL_RETRY_CAP_SECONDS = env_float("MAIL_RETRY_CAP_SECONDS", 3600.0)

# --- intake -----------------------------------------------------------------------------
INTAKE_MAX_LINES = env_int("INTAKE_MAX_LINES", 50_000, minimum=1)
INTAKE_MAX_BYTES = env_int("INTAKE_MAX_BYTES", 64 * 1024 * 1024, minimum=1024)
# Every form and query string is small; only the intake takes large bodies, and it reads
# them as a stream (``request.read``) or as an uploaded file, which this limit does not
# count. A larger value let an anonymous login post write megabytes into the database.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 1024 * 1024, minimum=1024)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    # httpcore's DEBUG trace prints whole response headers (a Location with an OAuth
    # code, a Set-Cookie), so it stays quiet even under LOG_LEVEL=DEBUG.
    "loggers": {
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
        "axes": {"level": "WARNING"},
    },
}
