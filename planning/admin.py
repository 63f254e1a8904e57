from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin

from core.models import Profile
from planning.models import (
    BaselineDependency,
    BaselineInitiative,
    CalendarToken,
    CycleBaseline,
    CycleEvent,
    Finding,
    FindingEvent,
    Notification,
    NotificationPreference,
    OverlapVerdict,
    ReviewRun,
    StagedImport,
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


@admin.register(Finding)
class FindingAdmin(admin.ModelAdmin):
    list_display = ["message", "kind", "rule", "severity", "state", "cycle", "last_seen"]
    list_filter = ["state", "kind", "severity", "rule", "cycle"]
    list_select_related = ["cycle"]
    search_fields = ["message"]
    readonly_fields = ["identity", "first_seen", "last_seen"]


@admin.register(FindingEvent)
class FindingEventAdmin(admin.ModelAdmin):
    list_display = ["finding", "action", "by", "at"]
    list_filter = ["action"]
    list_select_related = ["finding", "by"]
    raw_id_fields = ["finding", "by"]
    date_hierarchy = "at"


@admin.register(OverlapVerdict)
class OverlapVerdictAdmin(admin.ModelAdmin):
    """A verdict deleted here lets the review raise its pair again."""

    list_display = ["first_title", "second_title", "verdict", "by", "at", "cycle"]
    list_filter = ["verdict", "cycle"]
    list_select_related = ["by", "cycle"]
    raw_id_fields = ["first", "second", "finding", "by"]
    search_fields = ["first_title", "second_title", "reason"]


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


@admin.register(StagedImport)
class StagedImportAdmin(admin.ModelAdmin):
    """Previews waiting for confirmation: seen and cleared here, never made or changed (the
    token that confirms one is shown only to its uploader, once)."""

    list_display = ["filename", "user", "created_at", "expires_at"]
    list_select_related = ["user"]
    fields = ["filename", "user", "created_at", "expires_at"]
    readonly_fields = fields

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["recipient", "message", "created_at", "read_at"]
    list_filter = [("read_at", admin.EmptyFieldListFilter), "kind", "finding__cycle"]
    list_select_related = ["recipient", "finding"]
    search_fields = ["message", "recipient__username"]
    raw_id_fields = ["finding", "comment", "dependency"]


@admin.register(CalendarToken)
class CalendarTokenAdmin(admin.ModelAdmin):
    """Who has calendar feeds on, and since when. The secret is never shown; deleting a row
    turns that person's feeds off (they make new links from /calendar/)."""

    list_display = ["user", "created_at"]
    list_select_related = ["user"]
    search_fields = ["user__username"]
    fields = ["user", "created_at"]
    readonly_fields = ["user", "created_at"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(NotificationPreference)
class NotificationPreferenceAdmin(admin.ModelAdmin):
    list_display = ["user", "daily_digest", "immediate_high", "last_digest_on"]
    list_filter = ["daily_digest", "immediate_high"]
    list_select_related = ["user"]
    search_fields = ["user__username", "user__email"]


class _ReadOnly(admin.ModelAdmin):
    """Written by the season's services only (planning/season/): seen here, never made or
    changed, so a cycle's history and baselines say what really happened."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(CycleEvent)
class CycleEventAdmin(_ReadOnly):
    list_display = ["cycle", "action", "from_state", "to_state", "by", "at"]
    list_filter = ["action", "to_state", "cycle"]
    list_select_related = ["cycle", "by"]
    date_hierarchy = "at"


@admin.register(CycleBaseline)
class CycleBaselineAdmin(_ReadOnly):
    list_display = ["cycle", "taken_at", "taken_by"]
    list_filter = ["cycle"]
    list_select_related = ["cycle", "taken_by"]


@admin.register(BaselineInitiative)
class BaselineInitiativeAdmin(_ReadOnly):
    list_display = ["squad_key", "key", "title", "starts", "ends", "status", "baseline"]
    list_filter = ["status"]
    list_select_related = ["baseline__cycle"]
    search_fields = ["squad_key", "key", "title"]


@admin.register(BaselineDependency)
class BaselineDependencyAdmin(_ReadOnly):
    list_display = ["key", "needer", "to_ref", "to_function", "due", "status", "baseline"]
    list_filter = ["status"]
    list_select_related = ["baseline__cycle"]
    search_fields = ["key", "what"]


# The co-writing models (history entries, comments), in a module of their own.
from planning import admin_cowriting  # noqa: E402, F401
