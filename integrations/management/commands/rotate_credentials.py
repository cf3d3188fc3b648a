"""Re-encrypt every integration's credentials with the first FIELD_ENCRYPTION_KEY.

Rotation: prepend a new key to FIELD_ENCRYPTION_KEY, restart, run this command, then
drop the old key. Every row is rewritten in its own short transaction under a row
lock, so workers refreshing tokens meanwhile are neither blocked long nor overwritten.
"""

from __future__ import annotations

from typing import Any

from cryptography.fernet import InvalidToken
from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand
from django.db import connection, transaction

from integrations.fields import fernet
from integrations.models import Integration


class Command(BaseCommand):
    help = "Re-encrypt integration credentials with the first key of FIELD_ENCRYPTION_KEY."

    def handle(self, *args: Any, **options: Any) -> None:
        table = connection.ops.quote_name(Integration._meta.db_table)
        field = Integration._meta.get_field("credentials")
        assert field.column is not None  # a concrete field always has a column
        column = connection.ops.quote_name(field.column)
        rotated = 0
        for pk in Integration.objects.order_by("pk").values_list("pk", flat=True).iterator():
            with transaction.atomic():
                # Raw token, not the field: MultiFernet.rotate keeps the plaintext's
                # bytes untouched and fails loudly (InvalidToken) on an unknown key.
                with connection.cursor() as cursor:
                    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
                    cursor.execute(f"SELECT {column} FROM {table} WHERE id = %s{lock}", [pk])  # noqa: S608
                    row = cursor.fetchone()
                    if row is None or not row[0]:
                        continue
                    token = _rotate(row[0])
                    cursor.execute(f"UPDATE {table} SET {column} = %s WHERE id = %s", [token, pk])  # noqa: S608
                rotated += 1
        self.stdout.write(f"Re-encrypted the credentials of {rotated} integration(s).")


def _rotate(token: str) -> str:
    try:
        return fernet().rotate(token.encode()).decode()
    except InvalidToken:
        raise ImproperlyConfigured(
            "Stored credentials cannot be decrypted with any key in FIELD_ENCRYPTION_KEY; "
            "put the old key back (after the new one) and run rotate_credentials again."
        ) from None
