"""Intake: a batch from Reflex 3000 becomes one queued Run, or is refused whole.

The batch is checked completely (shape, kinds, identifiers, duplicates, the canonical
schema) before anything is committed, so a refusal names every bad line and field and
leaves nothing behind. Records are checked and written one at a time inside the run's
transaction, which a refusal rolls back: a large batch is never held whole. Two forms
arrive: JSON (``{"records": [...]}``, read as a stream) and the ERP's CSV export (one row
per invoice line; see docs/intake.md).

One module per job: ``spooling`` (the request body), ``json_stream`` and ``csv_rows``
(reading records), ``files`` (an uploaded file), ``checking`` (every record, the batch),
``accepting`` (the run), and ``problems`` (the refusal they all raise).
"""

from runs.intake.accepting import IntakeResult, intake_accept
from runs.intake.csv_rows import LINE_PREFIX, records_from_csv
from runs.intake.files import records_from_file
from runs.intake.json_stream import records_from_json, records_from_json_stream
from runs.intake.problems import IntakeError, check_size
from runs.intake.spooling import body_hash, body_spool

__all__ = [
    "LINE_PREFIX",
    "IntakeError",
    "IntakeResult",
    "body_hash",
    "body_spool",
    "check_size",
    "intake_accept",
    "records_from_csv",
    "records_from_file",
    "records_from_json",
    "records_from_json_stream",
]
