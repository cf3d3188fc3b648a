"""The whole audit log, for admins: read-only, nothing can be added, changed or deleted."""

from __future__ import annotations

from typing import Any

from django.contrib import admin

from audit.models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ["at", "actor_name", "action", "company_name", "target", "address"]
    list_filter = ["action"]
    search_fields = ["actor_name", "company_name", "target", "address"]
    date_hierarchy = "at"

    def has_add_permission(self, request: Any) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False
