"""Column names for the raw SQL (``UPDATE … FROM``, ``COPY``) that bypasses the ORM."""

from __future__ import annotations

from typing import Any

from django.db.models import Field, Model


def concrete_field(model: type[Model], name: str) -> Field[Any, Any]:
    """``model``'s field ``name``, which must be a concrete field with a column.

    ``Options.get_field`` may also return a reverse relation, which has no column: the
    raw SQL only ever names concrete fields, so anything else is a programming error.
    """
    field = model._meta.get_field(name)
    assert isinstance(field, Field), f"{model.__name__}.{name} is not a concrete field"
    assert field.column is not None, f"{model.__name__}.{name} has no column"
    return field


def column(model: type[Model], name: str) -> str:
    """The database column of ``model``'s concrete field ``name``."""
    field = concrete_field(model, name)
    assert field.column is not None  # checked by concrete_field; narrows for mypy
    return field.column
