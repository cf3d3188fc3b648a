"""Read-only admin for runs and lines: the portal's screens are where they change.

Built for 100,000 rows: no full COUNT(*) on every page, related rows joined in the
changelist query, raw ids instead of <select>s of every run.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from runs.models import DeliveryAttempt, LineEdit, Run, RunLine


class ReadOnlyAdmin(admin.ModelAdmin):
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Run)
class RunAdmin(ReadOnlyAdmin):
    list_display = [
        "number",
        "integration",
        "trigger",
        "status",
        "total",
        "succeeded",
        "failed",
        "skipped",
        "queued_at",
        "finished_at",
    ]
    list_filter = ["status", "trigger", "integration__connector"]
    list_select_related = ["integration__company"]
    raw_id_fields = ["integration", "retry_of", "created_by"]
    search_fields = ["=number", "integration__name", "integration__company__name"]
    date_hierarchy = "queued_at"


@admin.register(RunLine)
class RunLineAdmin(ReadOnlyAdmin):
    list_display = ["identifier", "kind", "status", "run", "attempts", "external_id", "finished_at"]
    list_filter = ["status", "kind", "reoffer"]
    list_select_related = ["run__integration__company"]
    raw_id_fields = [
        "run",
        "integration",
        "source_line",
        "reoffered_in",
        "resolved_by",
        "edited_by",
    ]
    # Exact or prefix match only, so the identity index can serve it.
    search_fields = ["=identifier", "external_id"]


@admin.register(DeliveryAttempt)
class DeliveryAttemptAdmin(ReadOnlyAdmin):
    list_display = ["line", "number", "outcome", "started_at", "duration_ms"]
    list_filter = ["outcome"]
    list_select_related = ["line"]
    raw_id_fields = ["line"]
    search_fields = ["=line__identifier"]


@admin.register(LineEdit)
class LineEditAdmin(ReadOnlyAdmin):
    list_display = ["line", "action", "field", "user", "at"]
    list_filter = ["action"]
    list_select_related = ["line", "user"]
    raw_id_fields = ["line", "user"]
    search_fields = ["=line__identifier", "user__username"]
