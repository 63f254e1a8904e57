from django.contrib import admin

from webhooks.models import Attempt, Delivery, Subscription


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    list_display = ["name", "format", "squad", "active", "created_by", "created_at"]
    list_filter = ["format", "active"]
    list_select_related = ["squad", "created_by"]
    search_fields = ["name", "url"]
    readonly_fields = ["secret", "created_at", "updated_at"]


class AttemptInline(admin.TabularInline):
    model = Attempt
    extra = 0
    readonly_fields = [
        "number",
        "started_at",
        "duration_ms",
        "status_code",
        "error",
        "response_excerpt",
    ]


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ["event", "subscription", "state", "attempts", "created_at"]
    list_filter = ["state", "event"]
    list_select_related = ["subscription"]
    readonly_fields = ["uid", "event_id", "event", "summary", "body", "created_at"]
    inlines = [AttemptInline]


@admin.register(Attempt)
class AttemptAdmin(admin.ModelAdmin):
    list_display = ["delivery", "number", "started_at", "status_code", "duration_ms"]
    list_select_related = ["delivery"]
    readonly_fields = AttemptInline.readonly_fields
