"""The engine's own words in stored messages (a line's, an attempt's, a run's), shown in
the reader's language through ``integrations.wording.localize``: each is written once, in
English, from a wording here, and every wording registers itself there.

A wording's English text is what the database already holds for older lines: change one
and those lines are shown in English again. Add a new one instead, and keep the old.
"""

from __future__ import annotations

from django.utils.translation import gettext_noop

from integrations.wording import Wording

# --- the engine's words on a line (runs/services/attempts.py, export.py, recording.py) ---
ALREADY_BOOKED_EARLIER = Wording(
    gettext_noop("Already booked in run #%(number)s (id %(external_id)s).")
)
ALREADY_IN_PACKAGE = Wording(
    gettext_noop("Already in %(label)s (id %(external_id)s); not booked again.")
)
FOUND_AFTER_INTERRUPTION = Wording(
    gettext_noop(
        "Found in %(label)s (id %(external_id)s): an earlier, interrupted offer booked it; "
        "not booked again."
    )
)
UPDATED_EXISTING = Wording(gettext_noop("Updated the existing record in %(label)s."))
COULD_NOT_OFFER = Wording(
    gettext_noop("The portal could not offer this line (%(error)s); support has been told.")
)
IN_DOUBT = Wording(
    gettext_noop(
        "In doubt — check in %(label)s: an earlier offer may have booked it, and %(label)s "
        "could not be asked. Mark it as booked (with its id there) or offer it again."
    )
)
IN_DOUBT_OUT_OF_TRIES = Wording(
    gettext_noop(
        "In doubt — check in %(label)s: an earlier offer may have booked it, and %(label)s "
        "could not be asked (%(detail)s) before the tries ran out. Mark it as booked (with "
        "its id there) or offer it again."
    )
)
UNAVAILABLE = Wording(
    gettext_noop(
        "%(label)s was unavailable (%(detail)s); the data was not refused. Re-offer it later."
    )
)
# --- why a line and its run wait (runs/services/attempts.py:hold_message) -------------
WAIT_RATE_LIMIT = Wording(gettext_noop("Waiting for %(label)s's rate limit; goes at %(at)s."))
WAIT_DAILY_LIMIT = Wording(
    gettext_noop("%(label)s's daily limit is used up; continues after %(at)s.")
)
WAIT_ERROR_LIMIT = Wording(gettext_noop("Waiting for %(label)s's error limit; goes at %(at)s."))
WAIT_SHARED_STATE = Wording(
    gettext_noop("Shared state unavailable (Redis); goes on when it is back, from %(at)s.")
)
WAIT_RENEWAL = Wording(
    gettext_noop("Waiting until %(label)s allows a new access token; goes at %(at)s.")
)
# --- a person's decision on a line in doubt (runs/services/in_doubt.py) ---------------
MARKED_BOOKED = Wording(
    gettext_noop("Marked as booked by %(user)s: found in the package (id %(external_id)s).")
)
OFFERED_AGAIN = Wording(gettext_noop("Offered again by %(user)s: not found in the package."))
# --- a failure resolved by a later booking (runs/services/recording.py) ---------------
BOOKED_IN_RUN = Wording(gettext_noop("Booked in run #%(number)s"))
# --- why a run stopped (runs/services/export.py, open_items.py) -----------------------
PACKAGE_DOWN = Wording(
    gettext_noop(
        "%(label)s has been unavailable for more than %(minutes)s minutes; the run stopped. "
        "Resume it later."
    )
)
INTEGRATION_DISABLED_RESUME = Wording(
    gettext_noop("The integration %(name)s is disabled; enable it and resume the run.")
)
INTEGRATION_DISABLED = Wording(gettext_noop("The integration %(name)s is disabled."))
IMPORT_INTERRUPTED = Wording(
    gettext_noop("The worker stopped during the import; the previous open items stay current.")
)
