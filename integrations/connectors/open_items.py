"""Reading a package's list of open items: one rule for every connector.

A page is checked whole before any of it is used: a row that lacks a field the
package documents, or carries one of the wrong type, makes the page unreadable
(``UnreadableAnswer`` naming the row and the field), so an import never stores half a
list it misread.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pydantic

from integrations.connectors.base import UnreadableAnswer

if TYPE_CHECKING:
    from collections.abc import Sequence


def rows_of[Row: pydantic.BaseModel](model: type[Row], found: Any, *, where: str) -> list[Row]:
    """The page's rows read as ``model``; ``where`` names the list in the message."""
    if not isinstance(found, list):
        raise UnreadableAnswer(f"{where}: the answer holds no list of items.")
    rows = []
    for number, raw in enumerate(found, start=1):
        try:
            rows.append(model.model_validate(raw))
        except pydantic.ValidationError as exc:
            raise UnreadableAnswer(f"{where}, item {number}: {_problems(exc.errors())}") from None
    return rows


def _problems(errors: Sequence[Any]) -> str:
    parts = []
    for error in errors[:3]:
        field = ".".join(str(part) for part in error.get("loc", ())) or "item"
        if error.get("type") == "missing":
            parts.append(f"{field} is missing")
        else:
            parts.append(f"{field} has the wrong type ({error.get('msg', '')})")
    return "; ".join(parts)
