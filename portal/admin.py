"""Admin for companies, users and memberships.

The admin sits behind the same login as the portal (axes' lockout applies to it too,
as axes hooks Django's authentication, not a particular view).
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin

from portal.forms import AdminLoginForm
from portal.models import Company, Membership

User = get_user_model()


class CompanyMembershipInline(admin.TabularInline):
    model = Membership
    fk_name = "company"
    extra = 0
    # A company can have hundreds of users: a raw id instead of a <select> of all users.
    raw_id_fields = ["user"]
    fields = ["user", "role", "created_at"]
    readonly_fields = ["created_at"]


class UserMembershipInline(admin.TabularInline):
    model = Membership
    fk_name = "user"
    extra = 0
    fields = ["company", "role", "created_at"]
    readonly_fields = ["created_at"]


@admin.register(Company)
class CompanyAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "reflex_code", "created_at"]
    search_fields = ["name", "slug", "reflex_code"]
    prepopulated_fields = {"slug": ["name"]}
    readonly_fields = ["created_at"]
    inlines = [CompanyMembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "company", "role", "created_at"]
    list_filter = ["role", "company"]
    search_fields = ["user__username", "user__email", "company__name"]
    list_select_related = ["user", "company"]
    raw_id_fields = ["user"]


# Django's own user admin, with the user's companies on the same page.
admin.site.unregister(User)


@admin.register(User)
class PortalUserAdmin(UserAdmin):
    inlines = [UserMembershipInline]


# The admin's login refuses over-long input like the portal's (portal/forms.py).
admin.site.login_form = AdminLoginForm
