from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin

from planning.models import (
    Capacity,
    Cycle,
    Finding,
    Initiative,
    Notification,
    Plan,
    Profile,
    ReviewRun,
)

User = get_user_model()


class ProfileInline(admin.StackedInline):
    model = Profile
    can_delete = False


admin.site.unregister(User)


@admin.register(User)
class PersonAdmin(UserAdmin):
    inlines = [ProfileInline]
    list_display = ["username", "display_name", "title", "function", "email", "is_staff"]
    list_filter = ["profile__function", "is_staff", "is_superuser", "is_active"]
    list_select_related = ["profile"]
    search_fields = ["username", "email", "profile__display_name", "profile__title"]

    @admin.display(ordering="profile__display_name")
    def display_name(self, user):
        return getattr(getattr(user, "profile", None), "display_name", "")

    @admin.display(ordering="profile__title")
    def title(self, user):
        return getattr(getattr(user, "profile", None), "title", "")

    @admin.display(ordering="profile__function")
    def function(self, user):
        return getattr(getattr(user, "profile", None), "function", "")


@admin.register(Profile)
class ProfileAdmin(admin.ModelAdmin):
    list_display = ["display_name", "user", "title", "function"]
    list_filter = ["function"]
    list_select_related = ["user"]
    search_fields = ["display_name", "title", "user__username", "user__email"]


@admin.register(Cycle)
class CycleAdmin(admin.ModelAdmin):
    list_display = ["key", "name", "starts", "ends"]
    search_fields = ["key", "name"]
    date_hierarchy = "starts"


@admin.register(Capacity)
class CapacityAdmin(admin.ModelAdmin):
    list_display = ["function", "cycle", "headcount"]
    list_filter = ["cycle", "function"]
    list_select_related = ["cycle"]


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    list_display = ["squad", "updated_at"]
    list_filter = ["squad__cycle"]
    list_select_related = ["squad"]
    search_fields = ["squad__name", "current_experience", "desired_experience"]


@admin.register(Initiative)
class InitiativeAdmin(admin.ModelAdmin):
    list_display = [
        "title",
        "squad",
        "function",
        "stage",
        "segment",
        "starts",
        "ends",
        "headcount",
        "status",
    ]
    list_filter = ["status", "function", "squad__cycle", "squad", "stage", "segment"]
    list_select_related = ["squad", "stage__journey", "segment"]
    search_fields = ["key", "title", "description"]
    date_hierarchy = "starts"


@admin.register(Finding)
class FindingAdmin(admin.ModelAdmin):
    list_display = ["message", "kind", "rule", "severity", "state", "cycle", "last_seen"]
    list_filter = ["state", "kind", "severity", "rule", "cycle"]
    list_select_related = ["cycle"]
    search_fields = ["message"]
    readonly_fields = ["identity", "first_seen", "last_seen"]


@admin.register(ReviewRun)
class ReviewRunAdmin(admin.ModelAdmin):
    list_display = [
        "cycle",
        "trigger",
        "today",
        "status",
        "started_at",
        "finished_at",
        "findings_open",
    ]
    list_filter = ["status", "trigger", "cycle"]
    list_select_related = ["cycle"]


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["recipient", "message", "created_at", "read_at"]
    list_filter = [("read_at", admin.EmptyFieldListFilter), "finding__cycle"]
    list_select_related = ["recipient", "finding"]
    search_fields = ["message", "recipient__username"]
    raw_id_fields = ["finding"]
