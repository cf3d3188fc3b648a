"""Reading settings from the environment, refusing bad values by name."""

from __future__ import annotations

import os
from urllib.parse import unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured


def env_str(name: str, default: str | None = None) -> str:
    value = os.environ.get(name)
    if value is None or value == "":
        if default is None:
            raise ImproperlyConfigured(f"Set the environment variable {name}.")
        return default
    return value


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {value!r}.")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {value!r}.") from None
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, not {number}.")
    return number


def env_float(name: str, default: float, *, minimum: float = 0.0) -> float:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        number = float(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, not {value!r}.") from None
    if number < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, not {number}.")
    return number


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


def env_pairs(name: str) -> dict[str, str]:
    """``key=value,key=value`` as a dict; a pair without ``=`` stops start-up."""
    pairs = {}
    for item in env_list(name, []):
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise ImproperlyConfigured(f"{name}: {item!r} is not key=value.")
        pairs[key.strip()] = value.strip()
    return pairs


# EMAIL_URL scheme → (use STARTTLS, use implicit TLS).
_SMTP_SCHEMES = {
    "smtp": (False, False),
    "smtp+tls": (True, False),
    "smtp+ssl": (False, True),
    "smtps": (False, True),
}


def env_mailer(name: str, *, default_dir: str, timeout: int) -> dict[str, object]:
    """Django's default mailer (a ``MAILERS`` entry) from a URL in ``name``.

    ``smtp+tls://user:pass@host:587`` (STARTTLS), ``smtp+ssl://…:465`` or ``smtps://``
    (TLS from the start), ``smtp://host:25`` (plain), ``file:///path`` (one ``.eml`` file
    per message in that folder), ``console://`` (printed). Unset: ``.eml`` files in
    ``default_dir``. User and password are percent-decoded, so a password may hold
    ``@`` or ``:`` written as ``%40``, ``%3A``.
    """
    eml = "notifications.backends.EmlFileBackend"
    value = os.environ.get(name, "").strip()
    if not value:
        return {"BACKEND": eml, "OPTIONS": {"file_path": default_dir}}
    parsed = urlsplit(value)
    if parsed.scheme == "file":
        if not parsed.path:
            raise ImproperlyConfigured(f"{name} must name a folder: file:///path/to/mail.")
        return {"BACKEND": eml, "OPTIONS": {"file_path": unquote(parsed.path)}}
    if parsed.scheme == "console":
        return {"BACKEND": "django.core.mail.backends.console.EmailBackend"}
    if parsed.scheme not in _SMTP_SCHEMES:
        raise ImproperlyConfigured(
            f"{name} must start with smtp://, smtp+tls://, smtp+ssl://, smtps://, file:// "
            f"or console://, not {parsed.scheme or value!r}."
        )
    try:
        port = parsed.port
    except ValueError:
        raise ImproperlyConfigured(f"{name} has a port that is not a number.") from None
    if not parsed.hostname:
        raise ImproperlyConfigured(f"{name} must name the mail server's host.")
    use_tls, use_ssl = _SMTP_SCHEMES[parsed.scheme]
    return {
        "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "OPTIONS": {
            "host": parsed.hostname,
            "port": port,  # None: 25, 587 or 465 by the scheme
            "username": unquote(parsed.username or ""),
            "password": unquote(parsed.password or ""),
            "use_tls": use_tls,
            "use_ssl": use_ssl,
            "timeout": timeout,
        },
    }
