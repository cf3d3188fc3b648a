from django.contrib import admin

from notifications.models import ExtraRecipient, Mail, MailPreference, Subscription


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    list_display = ["user", "company", "frequency"]
    list_filter = ["frequency"]


@admin.register(MailPreference)
class MailPreferenceAdmin(admin.ModelAdmin):
    list_display = ["user", "language"]


@admin.register(ExtraRecipient)
class ExtraRecipientAdmin(admin.ModelAdmin):
    list_display = ["email", "integration", "language", "created_at"]


@admin.register(Mail)
class MailAdmin(admin.ModelAdmin):
    list_display = ["created_at", "kind", "to_address", "company", "state", "attempts", "sent_at"]
    list_filter = ["state", "kind"]
    search_fields = ["to_address", "subject"]
    readonly_fields = ["runs"]
