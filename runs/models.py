from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.postgres.indexes import OpClass
from django.db import models
from django.db.models import F
from django.db.models.functions import Cast, Upper
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


class PatternIndex(models.Index):
    """An index whose ``OpClass`` expressions are PostgreSQL's alone.

    Pattern operator classes let PostgreSQL seek on a ``LIKE 'prefix%'`` under any
    collation; SQLite (the demo's database) knows no operator classes, so there the index
    is made on the bare expressions.
    """

    def create_sql(self, model: Any, schema_editor: Any, using: str = "", **kwargs: Any) -> Any:
        if schema_editor.connection.vendor == "postgresql":
            return super().create_sql(model, schema_editor, using, **kwargs)
        bare = [
            e.get_source_expressions()[0] if isinstance(e, OpClass) else e for e in self.expressions
        ]
        plain = models.Index(*bare, name=self.name, condition=self.condition)
        return plain.create_sql(model, schema_editor, using, **kwargs)


class LineStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    DELIVERING = "delivering", _("Delivering")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")
    SKIPPED = "skipped", _("Skipped")
    # Perhaps booked, and the package offers no documented look-up to find out (or the
    # look-ups kept failing until the line ran out of tries): a person checks and decides.
    IN_DOUBT = "in_doubt", _("In doubt")


class RunKind(models.TextChoices):
    """What a run does: records to the package, or the package's open items back."""

    EXPORT = "export", _("Export")
    OPEN_ITEMS = "open_items", _("Open items import")


class Kind(models.TextChoices):
    CUSTOMER = "customer", _("Customer")
    SUPPLIER = "supplier", _("Supplier")
    SALES_INVOICE = "sales_invoice", _("Sales invoice")
    PURCHASE_INVOICE = "purchase_invoice", _("Purchase invoice")
    JOURNAL_ENTRY = "journal_entry", _("Journal entry")


class Run(models.Model):
    integration = models.ForeignKey(Integration, on_delete=models.CASCADE, related_name="runs")
    number = models.PositiveIntegerField(_("number"))
    kind = models.CharField(
        _("run kind"),
        max_length=20,
        choices=RunKind.choices,
        default=RunKind.EXPORT,
        db_default=RunKind.EXPORT,
    )
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
    # Open items imports: what the package listed, and how the snapshot moved.
    items_read = models.PositiveIntegerField(_("items read"), default=0, db_default=0)
    items_changed = models.PositiveIntegerField(_("items changed"), default=0, db_default=0)
    items_closed = models.PositiveIntegerField(_("items closed"), default=0, db_default=0)
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
            models.CheckConstraint(
                condition=models.Q(kind__in=RunKind.values), name="run_kind_valid"
            ),
            # One open items import at a time per integration, whoever starts it.
            models.UniqueConstraint(
                fields=["integration"],
                condition=models.Q(
                    kind="open_items", status__in=[RunStatus.QUEUED, RunStatus.RUNNING]
                ),
                name="run_one_active_import",
            ),
        ]
        indexes = [
            # History: newest first per integration, filtered by status or date.
            models.Index(fields=["integration", "status", "-number"], name="run_history_status"),
            models.Index(fields=["integration", "-queued_at"], name="run_history_queued"),
            # The sweeper: runs that should be moving.
            models.Index(fields=["status", "heartbeat_at"], name="run_sweep"),
            # Lines in doubt per integration (Overview, Integrations): the few runs that
            # have any, without reading every run of the integration.
            models.Index(
                fields=["integration"], condition=models.Q(in_doubt__gt=0), name="run_in_doubt"
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.number} {self.integration}"

    @property
    def is_import(self) -> bool:
        return self.kind == RunKind.OPEN_ITEMS

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

    def in_doubt(self, *, integration: Any = None) -> RunLineQuerySet:
        """Lines the package may or may not have booked, undecided: a person has to look
        in the package. What the screens and the mails list beside the open failures.
        ``integration``: an Integration or its pk."""
        lines = self.filter(status=LineStatus.IN_DOUBT)
        return lines if integration is None else lines.filter(integration=integration)

    def awaiting_a_person(self, *, integration: Any = None) -> RunLineQuerySet:
        """Open failures and lines in doubt: what can be assigned to someone.
        ``integration``: an Integration, its pk or an ``OuterRef`` to one."""
        return self.open_failures(integration=integration) | self.in_doubt(integration=integration)


class RunLine(models.Model):
    # Every line is written two or three times by the engine (claimed, then booked or
    # failed), and a status change updates every index of the table: so no index that
    # another one already leads with (run: line_run_position; integration: line_identity),
    # and the other foreign keys, almost always empty, only where set (Meta.indexes).
    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="lines", db_index=False)
    # Denormalised from run so "the same record in other runs" is one index seek.
    integration = models.ForeignKey(
        Integration, on_delete=models.CASCADE, related_name="+", db_index=False
    )
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
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="reoffers",
        db_index=False,
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
        db_index=False,
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    resolution = models.TextField(_("resolution"), blank=True)
    edited_at = models.DateTimeField(null=True, blank=True)
    edited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
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
        db_index=False,
    )
    # Retention: when the offered data, the correction and the delivery attempts (with
    # their exchanges) of this booked line were removed. The line itself stays.
    pruned_at = models.DateTimeField(_("details pruned"), null=True, blank=True)

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
            # Record search ignores case (people type "vf2025" for VF2025-000123): the same
            # seek on the upper-cased identifier, the expression `istartswith` compiles to.
            PatternIndex(
                F("integration"),
                F("kind"),
                OpClass(Upper(Cast("identifier", models.TextField())), name="text_pattern_ops"),
                name="line_identity_folded",
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
            # The other foreign keys: for "re-offered in", "re-offers of" and a user's
            # deletion. Lines with none set (nearly all) are in none of these.
            *(
                models.Index(
                    fields=[name],
                    condition=models.Q(**{f"{name}__isnull": False}),
                    name=f"line_{name}",
                )
                for name in (
                    "source_line",
                    "reoffered_in",
                    "resolved_by",
                    "edited_by",
                    "assigned_to",
                )
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

    @property
    def awaits_a_person(self) -> bool:
        """Fixed, or checked in the package, by someone: it can be assigned."""
        return self.is_open_failure or self.status == LineStatus.IN_DOUBT


class DeliveryAttempt(models.Model):
    """One try to deliver a line, with what went over the wire (redacted)."""

    class Outcome(models.TextChoices):
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")
        TRANSIENT = "transient", _("Package unavailable")
        IN_DOUBT = "in_doubt", _("In doubt")
        SKIPPED = "skipped", _("Skipped")

    # Indexed by attempt_line_number, which leads with it.
    line = models.ForeignKey(
        RunLine, on_delete=models.CASCADE, related_name="delivery_attempts", db_index=False
    )
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


class Pruning(models.Model):
    """One retention pass over one integration: how many booked lines lost their details.

    Written in the same transaction as the lines it counts, so it never says less or
    more than what was removed.
    """

    integration = models.ForeignKey(Integration, on_delete=models.CASCADE, related_name="+")
    # When the pass started; all its batches add to the same row.
    pruned_at = models.DateTimeField(_("pruned on"))
    # Lines that finished before this lost their details.
    before = models.DateTimeField(_("finished before"))
    lines = models.PositiveIntegerField(_("lines"), default=0)

    class Meta:
        ordering = ["-pruned_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["integration", "pruned_at"], name="pruning_unique_per_pass"
            )
        ]

    def __str__(self) -> str:
        return f"{self.integration}: {self.lines} lines before {self.before:%Y-%m-%d}"


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

    # Indexed by edit_line_at, which leads with it.
    line = models.ForeignKey(
        RunLine, on_delete=models.CASCADE, related_name="edits", db_index=False
    )
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


class OpenItemSide(models.TextChoices):
    RECEIVABLE = "receivable", _("Receivable")
    PAYABLE = "payable", _("Payable")


class OpenItemQuerySet(models.QuerySet["OpenItem"]):
    def still_open(self) -> OpenItemQuerySet:
        return self.filter(closed_at__isnull=True)


class OpenItem(models.Model):
    """One outstanding item as the package listed it at the last import that saw it.

    Rows are never deleted: an item the package no longer lists is closed, so the ERP
    can ask what changed since its last look (``change`` is the number of the import
    run that last changed the row).
    """

    integration = models.ForeignKey(Integration, on_delete=models.CASCADE, related_name="+")
    side = models.CharField(_("side"), max_length=20, choices=OpenItemSide.choices)
    package_id = models.CharField(_("id in the package"), max_length=100)
    relation_code = models.CharField(_("relation"), max_length=100)
    invoice_number = models.CharField(_("invoice number"), max_length=100, blank=True)
    invoice_date = models.DateField(_("invoice date"), null=True, blank=True)
    due_date = models.DateField(_("due date"), null=True, blank=True)
    # Not every package lists the original amount beside the open one (Exact does not).
    original_amount = models.DecimalField(
        _("original amount"), max_digits=18, decimal_places=2, null=True, blank=True
    )
    open_amount = models.DecimalField(_("open amount"), max_digits=18, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3)
    first_seen_at = models.DateTimeField(_("first seen"))
    changed_at = models.DateTimeField(_("changed"))
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    change = models.PositiveIntegerField(_("changed in import"))

    objects = OpenItemQuerySet.as_manager()

    class Meta:
        ordering = ["due_date", "id"]
        verbose_name = _("open item")
        verbose_name_plural = _("open items")
        constraints = [
            models.UniqueConstraint(
                fields=["integration", "side", "package_id"], name="open_item_unique"
            ),
            models.CheckConstraint(
                condition=models.Q(side__in=OpenItemSide.values), name="open_item_side_valid"
            ),
        ]
        indexes = [
            # The ERP's keyset pages, and ``changed_since``.
            models.Index(fields=["integration", "change", "id"], name="open_item_changes"),
            # The screen: still open, overdue first.
            models.Index(
                fields=["integration", "due_date", "id"],
                condition=models.Q(closed_at__isnull=True),
                name="open_item_open_by_due",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.relation_code} {self.invoice_number} {self.open_amount} {self.currency}"
