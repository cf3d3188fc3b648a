"""A file a consultant uploads: read by its extension with the API's own readers."""

from __future__ import annotations

from pathlib import PurePath
from typing import Any

from django.utils.translation import gettext as _

from runs.intake.csv_rows import records_from_csv
from runs.intake.json_stream import records_from_json
from runs.intake.problems import IntakeError


def records_from_file(*, name: str, content: bytes) -> list[tuple[int, Any]]:
    """The records of an export file, read by its extension: ``.csv`` or ``.json``.

    The same readers as the API's two endpoints; a consultant's upload of a file that
    Reflex 3000 wrote (or a JSON batch) is checked exactly as if the ERP had sent it.
    """
    suffix = PurePath(name).suffix.lower()
    if suffix == ".csv":
        return records_from_csv(content)
    if suffix == ".json":
        return records_from_json(content)
    raise IntakeError(400, _("Upload the export as a .csv or a .json file."))
