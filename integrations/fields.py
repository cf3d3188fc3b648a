"""Credentials encrypted at rest with a key list of their own.

The keys come from ``settings.FIELD_ENCRYPTION_KEYS`` (Fernet, newest first), never
from SECRET_KEY, so they can be rotated on their own: encrypt with the first, decrypt
with any. A database dump shows only Fernet tokens.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models


@cache
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    try:
        return MultiFernet([Fernet(key.encode()) for key in keys])
    except ValueError:
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEY holds a value that is not a Fernet key "
            "(32 url-safe base64-encoded bytes)."
        ) from None


def fernet() -> MultiFernet:
    return _fernet(tuple(settings.FIELD_ENCRYPTION_KEYS))


def encrypt_json(value: dict[str, Any]) -> str:
    return fernet().encrypt(json.dumps(value, sort_keys=True).encode()).decode()


def decrypt_json(token: str) -> dict[str, Any]:
    try:
        return json.loads(fernet().decrypt(token.encode()))
    except InvalidToken:
        raise ImproperlyConfigured(
            "Stored credentials cannot be decrypted with any key in FIELD_ENCRYPTION_KEY; "
            "was a key dropped before `manage.py rotate_credentials` ran?"
        ) from None


class EncryptedJSONField(models.Field):  # type: ignore[type-arg]
    """A dict stored as one Fernet token in a text column."""

    # What django-stubs reads to type the attribute: a dict in, a dict out.
    _pyi_private_set_type: dict[str, Any]
    _pyi_private_get_type: dict[str, Any]

    def get_internal_type(self) -> str:
        return "TextField"

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> dict[str, Any]:
        if not value:
            return {}
        return decrypt_json(value)

    def to_python(self, value: Any) -> dict[str, Any]:
        if isinstance(value, dict):
            return value
        if not value:
            return {}
        return decrypt_json(value)

    def get_prep_value(self, value: Any) -> str:
        return encrypt_json(value or {})
