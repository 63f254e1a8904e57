from django.contrib import admin

from squads.models import (
    OKR,
    CheckIn,
    Goal,
    Initiative,
    InitiativeMilestone,
    KeyResult,
    Membership,
    ObjectiveGoal,
    Plan,
    Squad,
    SquadStage,
)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["person"]


class SquadStageInline(admin.TabularInline):
    model = SquadStage
    extra = 0


@admin.register(Squad)
class SquadAdmin(admin.ModelAdmin):
    list_display = ["key", "name", "cycle", "dri"]
    list_filter = ["cycle"]
    list_select_related = ["cycle", "dri"]
    search_fields = ["key", "name"]
    inlines = [MembershipInline, SquadStageInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["person", "squad", "function"]
    list_filter = ["function", "squad__cycle", "squad"]
    list_select_related = ["person", "squad"]
    search_fields = ["person__username", "squad__name"]


class KeyResultInline(admin.TabularInline):
    model = KeyResult
    extra = 0


@admin.register(OKR)
class OKRAdmin(admin.ModelAdmin):
    list_display = ["objective", "squad", "cycle"]
    list_filter = ["cycle"]
    list_select_related = ["squad", "cycle"]
    search_fields = ["objective", "squad__name"]
    inlines = [KeyResultInline]


@admin.register(KeyResult)
class KeyResultAdmin(admin.ModelAdmin):
    list_display = ["name", "okr", "unit", "baseline", "current", "target", "direction"]
    list_filter = ["direction", "okr__cycle", "okr__squad"]
    list_select_related = ["okr"]
    search_fields = ["key", "name"]


@admin.register(CheckIn)
class CheckInAdmin(admin.ModelAdmin):
    list_display = ["key_result", "value", "confidence", "author", "created_at"]
    list_filter = ["confidence", "key_result__okr__squad"]
    list_select_related = ["key_result", "author"]
    date_hierarchy = "created_at"


@admin.register(SquadStage)
class SquadStageAdmin(admin.ModelAdmin):
    list_display = ["squad", "stage"]
    list_filter = ["squad__cycle", "stage__journey", "stage"]
    list_select_related = ["squad", "stage__journey"]


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


@admin.register(Goal)
class GoalAdmin(admin.ModelAdmin):
    list_display = ["key", "name", "starts_year", "ends_year", "owner"]
    search_fields = ["key", "name", "description", "customer_success"]
    list_select_related = ["owner"]


@admin.register(ObjectiveGoal)
class ObjectiveGoalAdmin(admin.ModelAdmin):
    list_display = ["okr", "goal"]
    list_select_related = ["okr__squad", "goal"]


@admin.register(InitiativeMilestone)
class InitiativeMilestoneAdmin(admin.ModelAdmin):
    list_display = ["initiative", "milestone"]
    list_select_related = ["initiative__squad", "milestone__segment"]
