"""Spooling a request body: read in pieces, hashed and counted on the way.

A request body is read in pieces of ``CHUNK`` bytes and kept in memory up to
``SPOOL_MEMORY`` (beyond that in an unnamed temporary file), so a 50,000-record batch is
never held whole, and the Idempotency-Key can be checked before any record is read.
"""

from __future__ import annotations

import hashlib
import tempfile
from typing import IO, Protocol

from runs.intake.problems import check_size

CHUNK = 64 * 1024
SPOOL_MEMORY = 1024 * 1024


def body_hash(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


class Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


def body_spool(stream: Readable, declared_length: int) -> tuple[IO[bytes], str]:
    """The request body copied from ``stream`` into a temporary file, and its SHA-256.

    Read in pieces, hashed and counted on the way (413 as soon as it is too long, also
    when the client declared less), so the body is never a single 23 MB bytes object
    and the Idempotency-Key can be checked before any record is read. Close the file.
    """
    check_size(declared_length)
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY)  # noqa: SIM115 - returned
    digest = hashlib.sha256()
    size = 0
    try:
        while chunk := stream.read(CHUNK):
            size += len(chunk)
            check_size(size)
            digest.update(chunk)
            spool.write(chunk)
        spool.seek(0)
    except BaseException:
        spool.close()
        raise
    return spool, digest.hexdigest()
