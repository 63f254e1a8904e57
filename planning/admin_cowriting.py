"""The admin for co-writing: history entries, comments, stamps, page revisions and presences,
read only.

History entries are the record of who changed what; the admin shows them and never edits
them. Restoring an earlier version is done from the plan's history page, as a new change.
"""

from __future__ import annotations

from django.contrib import admin

from core.models import PageRevision
from dependencies.models import Dependency
from journeys.models import Stage
from squads.models import (
    Comment,
    Goal,
    Initiative,
    KeyResult,
    Plan,
    PlanStamp,
    Presence,
    SquadStage,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class HistoryEntryAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "history_type", "history_date", "history_user"]
    list_filter = ["history_type"]
    list_select_related = ["history_user"]
    date_hierarchy = "history_date"


for model in (Plan, Initiative, Dependency, KeyResult, Stage, SquadStage, Goal, Comment):
    admin.site.register(model.history.model, HistoryEntryAdmin)


@admin.register(Comment)
class CommentAdmin(admin.ModelAdmin):
    list_display = ["squad", "section", "initiative", "author", "created_at", "edited_at"]
    list_select_related = ["squad", "initiative", "author"]
    search_fields = ["body", "author__username"]


@admin.register(PlanStamp)
class PlanStampAdmin(ReadOnlyAdmin):
    list_display = ["squad", "revision", "presence_revision", "presence_until"]
    list_select_related = ["squad"]


@admin.register(PageRevision)
class PageRevisionAdmin(ReadOnlyAdmin):
    """Moved by the database's triggers only (core/pagecache.py): never edited here."""

    list_display = ["scope", "value"]
    search_fields = ["scope"]

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Presence)
class PresenceAdmin(ReadOnlyAdmin):
    list_display = ["squad", "person", "label", "expires_at"]
    list_select_related = ["squad", "person"]
