"""What the engine announces, for apps above it (notifications) to act on.

Each signal is sent inside the transaction that records the fact, so a receiver that
writes rows (an outbox mail) commits or rolls back together with it. Receivers must be
quick and must not do I/O beyond the database: they run in the engine's thread.
"""

from __future__ import annotations

from django.dispatch import Signal

# The run finished: every line is final (some may have failed). Keyword: run.
run_finished = Signal()
# The run stopped on a run-level fault (credentials refused, package down, disabled
# integration); its pending lines wait for a resume. Keywords: run, reason.
run_stopped = Signal()
# The package itself stopped the run for a while (its daily limit is used up, or one more
# error answer would block an endpoint); it goes on by itself. Sent once when such a wait
# begins. Keywords: run, reason.
run_paused = Signal()
# Open failed lines were given to a person other than the one who assigned them (never
# sent for an unassignment or for taking lines yourself). Keywords: integration, assignee,
# by (who assigned), line_ids (the lines that changed hands).
lines_assigned = Signal()
