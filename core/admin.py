from django.contrib import admin

from core.models import Capacity, Cycle, Profile


@admin.register(Profile)
class ProfileAdmin(admin.ModelAdmin):
    list_display = ["display_name", "user", "title", "function"]
    list_filter = ["function"]
    list_select_related = ["user"]
    search_fields = ["display_name", "title", "user__username", "user__email"]


@admin.register(Cycle)
class CycleAdmin(admin.ModelAdmin):
    """A cycle's state moves on the season page (/cycles/<key>/), which checks each move and
    records it: here it is only shown."""

    list_display = ["key", "name", "state", "starts", "ends"]
    list_filter = ["state"]
    readonly_fields = ["state"]
    search_fields = ["key", "name"]
    date_hierarchy = "starts"


@admin.register(Capacity)
class CapacityAdmin(admin.ModelAdmin):
    list_display = ["function", "cycle", "headcount"]
    list_filter = ["cycle", "function"]
    list_select_related = ["cycle"]
