from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from integrations.models import Integration


class Trigger(models.TextChoices):
    INTAKE = "intake", _("Intake")
    MANUAL = "manual", _("Manual")
    RETRY = "retry", _("Retry")
    SCHEDULE = "schedule", _("Schedule")


class RunStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    FINISHED = "finished", _("Finished")
    FAILED = "failed", _("Failed")


class LineStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    DELIVERING = "delivering", _("Delivering")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")
    SKIPPED = "skipped", _("Skipped")
    # Perhaps booked, and the package offers no documented look-up to find out (or the
    # look-ups kept failing until the line ran out of tries): a person checks and decides.
    IN_DOUBT = "in_doubt", _("In doubt")


class Kind(models.TextChoices):
    CUSTOMER = "customer", _("Customer")
    SUPPLIER = "supplier", _("Supplier")
    SALES_INVOICE = "sales_invoice", _("Sales invoice")
    PURCHASE_INVOICE = "purchase_invoice", _("Purchase invoice")
    JOURNAL_ENTRY = "journal_entry", _("Journal entry")


class Run(models.Model):
    integration = models.ForeignKey(Integration, on_delete=models.CASCADE, related_name="runs")
    number = models.PositiveIntegerField(_("number"))
    trigger = models.CharField(_("trigger"), max_length=20, choices=Trigger.choices)
    retry_of = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="retries",
        verbose_name=_("retry of"),
    )
    status = models.CharField(
        _("status"), max_length=20, choices=RunStatus.choices, default=RunStatus.QUEUED
    )
    total = models.PositiveIntegerField(_("lines"), default=0)
    succeeded = models.PositiveIntegerField(_("succeeded"), default=0)
    failed = models.PositiveIntegerField(_("failed"), default=0)
    skipped = models.PositiveIntegerField(_("skipped"), default=0)
    # Database defaults too: bulk loaders (bench/, COPY) that name older columns only.
    in_doubt = models.PositiveIntegerField(_("in doubt"), default=0, db_default=0)
    queued_at = models.DateTimeField(_("queued"), auto_now_add=True, db_index=False)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(_("run error"), blank=True)
    # Why a running run waits, and until when: the package's daily limit, its error
    # limit, shared state that cannot be reached. Empty while lines move.
    paused_reason = models.TextField(_("waiting because"), blank=True, db_default="")
    paused_until = models.DateTimeField(_("waiting until"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Intake: the same key again answers with this run instead of creating another.
    # NULL (not "") for runs without a key, so the unique constraint skips them.
    idempotency_key = models.CharField(max_length=200, null=True, blank=True)  # noqa: DJ001
    body_hash = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-number"]
        verbose_name = _("run")
        verbose_name_plural = _("runs")
        constraints = [
            models.UniqueConstraint(
                fields=["integration", "number"], name="run_number_unique_per_integration"
            ),
            models.UniqueConstraint(
                fields=["integration", "idempotency_key"],
                condition=models.Q(idempotency_key__isnull=False),
                name="run_idempotency_key_unique",
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=RunStatus.values), name="run_status_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(trigger__in=Trigger.values), name="run_trigger_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(retry_of__isnull=True) | models.Q(trigger=Trigger.RETRY),
                name="run_retry_of_only_for_retries",
            ),
        ]
        indexes = [
            # History: newest first per integration, filtered by status or date.
            models.Index(fields=["integration", "status", "-number"], name="run_history_status"),
            models.Index(fields=["integration", "-queued_at"], name="run_history_queued"),
            # The sweeper: runs that should be moving.
            models.Index(fields=["status", "heartbeat_at"], name="run_sweep"),
        ]

    def __str__(self) -> str:
        return f"#{self.number} {self.integration}"

    @property
    def done(self) -> int:
        return self.succeeded + self.failed + self.skipped + self.in_doubt

    @property
    def is_active(self) -> bool:
        return self.status in (RunStatus.QUEUED, RunStatus.RUNNING)

    @property
    def duration(self):  # type: ignore[no-untyped-def]
        if self.started_at and self.finished_at:
            return self.finished_at - self.started_at
        return None


class RunLineQuerySet(models.QuerySet["RunLine"]):
    def open_failures(self, *, integration: Any = None) -> RunLineQuerySet:
        """Failed lines nobody re-offered or resolved yet: what still needs a person.

        The one definition of "open", served by the ``line_open_failures`` partial index
        (which leads with the integration); every screen, count and mail uses it.
        ``integration``: an Integration, its pk or an ``OuterRef`` to one.
        """
        lines = self.filter(
            status=LineStatus.FAILED, reoffered_in__isnull=True, resolved_at__isnull=True
        )
        return lines if integration is None else lines.filter(integration=integration)


class RunLine(models.Model):
    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="lines")
    # Denormalised from run so "the same record in other runs" is one index seek.
    integration = models.ForeignKey(Integration, on_delete=models.CASCADE, related_name="+")
    position = models.PositiveIntegerField(_("position"))
    kind = models.CharField(_("kind"), max_length=30, choices=Kind.choices)
    identifier = models.CharField(_("identifier"), max_length=100)
    # Exactly what was offered. Never changed afterwards: corrections go to `correction`.
    payload = models.JSONField(_("offered data"))
    status = models.CharField(
        _("status"), max_length=20, choices=LineStatus.choices, default=LineStatus.PENDING
    )
    message = models.TextField(_("message"), blank=True)
    field_errors = models.JSONField(_("field errors"), default=dict, blank=True)
    external_id = models.CharField(_("id in the package"), max_length=100, blank=True)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    lease_until = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # An earlier offer may have booked it: no POST until a look-up answers "not there".
    in_doubt = models.BooleanField(default=False, db_default=False)
    finished_at = models.DateTimeField(null=True, blank=True)
    # The line of an earlier run this one re-offers (retry runs).
    source_line = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="reoffers"
    )
    correction = models.JSONField(_("correction"), null=True, blank=True)
    reoffer = models.BooleanField(_("re-offer"), default=False)
    reoffered_in = models.ForeignKey(
        Run,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="reoffered_lines",
        verbose_name=_("re-offered in"),
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    resolution = models.TextField(_("resolution"), blank=True)
    edited_at = models.DateTimeField(null=True, blank=True)
    edited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Optimistic locking: every change bumps it; an edit made on an older one is refused.
    version = models.PositiveIntegerField(default=1)
    # Who is to fix this failure: a member of the company or one of its consultants.
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_lines",
        verbose_name=_("assigned to"),
    )

    objects = RunLineQuerySet.as_manager()

    class Meta:
        ordering = ["position"]
        verbose_name = _("run line")
        verbose_name_plural = _("run lines")
        constraints = [
            models.UniqueConstraint(
                fields=["run", "kind", "identifier"], name="line_unique_in_run"
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=LineStatus.values), name="line_status_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(kind__in=Kind.values), name="line_kind_valid"
            ),
        ]
        indexes = [
            # Run details: a run's lines in order, or only its failed ones.
            models.Index(fields=["run", "status", "position"], name="line_run_status"),
            models.Index(fields=["run", "position"], name="line_run_position"),
            # Identity across runs: timeline, "already booked", record search. Pattern
            # operator classes let PostgreSQL seek on `identifier LIKE 'VF2025%'` under any
            # collation (a plain index serves prefixes only under "C"); equality works too.
            models.Index(
                fields=["integration", "kind", "identifier"],
                name="line_identity",
                opclasses=["int8_ops", "varchar_pattern_ops", "varchar_pattern_ops"],
            ),
            models.Index(
                fields=["integration", "status"],
                condition=models.Q(
                    status="failed", reoffered_in__isnull=True, resolved_at__isnull=True
                ),
                name="line_open_failures",
            ),
            # "Assigned to me" across companies: the assignee's open failures.
            models.Index(
                fields=["assigned_to", "integration"],
                condition=models.Q(
                    status="failed", reoffered_in__isnull=True, resolved_at__isnull=True
                ),
                name="line_open_assigned",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.identifier}"

    @property
    def data(self) -> dict:
        """What the next offer would send: the correction if there is one."""
        return self.correction if self.correction is not None else self.payload

    @property
    def is_open_failure(self) -> bool:
        return (
            self.status == LineStatus.FAILED
            and self.reoffered_in_id is None
            and self.resolved_at is None
        )


class DeliveryAttempt(models.Model):
    """One try to deliver a line, with what went over the wire (redacted)."""

    class Outcome(models.TextChoices):
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")
        TRANSIENT = "transient", _("Package unavailable")
        IN_DOUBT = "in_doubt", _("In doubt")
        SKIPPED = "skipped", _("Skipped")

    line = models.ForeignKey(RunLine, on_delete=models.CASCADE, related_name="delivery_attempts")
    number = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField(default=0)
    outcome = models.CharField(max_length=20, choices=Outcome.choices)
    message = models.TextField(blank=True)
    # [{method, url, request_body, status, response_body, duration_ms, started_at}]
    exchanges = models.JSONField(default=list)

    class Meta:
        ordering = ["line", "number"]
        indexes = [models.Index(fields=["line", "number"], name="attempt_line_number")]

    def __str__(self) -> str:
        return f"{self.line} attempt {self.number}: {self.outcome}"


class LineEdit(models.Model):
    """The audit trail: who changed what on a line, from what to what, when."""

    class Action(models.TextChoices):
        EDIT = "edit", _("Edited")
        REOFFER = "reoffer", _("Marked for re-offer")
        UNREOFFER = "unreoffer", _("Unmarked for re-offer")
        RESOLVE = "resolve", _("Resolved")
        ASSIGN = "assign", _("Assigned")
        MARK_BOOKED = "mark_booked", _("Marked as booked")
        OFFER_AGAIN = "offer_again", _("Offered again")

    line = models.ForeignKey(RunLine, on_delete=models.CASCADE, related_name="edits")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    at = models.DateTimeField(auto_now_add=True)
    action = models.CharField(max_length=20, choices=Action.choices, default=Action.EDIT)
    field = models.CharField(max_length=200, blank=True)
    old_value = models.JSONField(null=True, blank=True)
    new_value = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["line", "-at"], name="edit_line_at")]

    def __str__(self) -> str:
        return f"{self.line} {self.action} {self.field}".rstrip()
