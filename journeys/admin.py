from django.contrib import admin

from journeys.models import (
    Journey,
    JourneySegment,
    Milestone,
    MilestoneReading,
    Moment,
    Segment,
    Stage,
    Touchpoint,
)


@admin.register(Segment)
class SegmentAdmin(admin.ModelAdmin):
    list_display = ["key", "name", "priority"]
    search_fields = ["key", "name", "description"]


class JourneySegmentInline(admin.TabularInline):
    model = JourneySegment
    extra = 0


class StageInline(admin.TabularInline):
    model = Stage
    extra = 0
    fields = ["position", "key", "name", "emotion_today", "emotion_target"]
    show_change_link = True


@admin.register(Journey)
class JourneyAdmin(admin.ModelAdmin):
    list_display = ["key", "name"]
    search_fields = ["key", "name", "description"]
    inlines = [JourneySegmentInline, StageInline]


class MomentInline(admin.TabularInline):
    model = Moment
    extra = 0
    fields = ["when", "offset_days", "today", "tomorrow"]


@admin.register(Stage)
class StageAdmin(admin.ModelAdmin):
    list_display = ["name", "journey", "position", "emotion_today", "emotion_target"]
    list_filter = ["journey", "emotion_today", "emotion_target"]
    list_select_related = ["journey"]
    search_fields = ["key", "name", "customer_goal", "today", "tomorrow"]
    inlines = [MomentInline]


@admin.register(JourneySegment)
class JourneySegmentAdmin(admin.ModelAdmin):
    list_display = ["journey", "segment"]
    list_filter = ["journey", "segment"]
    list_select_related = ["journey", "segment"]


@admin.register(Moment)
class MomentAdmin(admin.ModelAdmin):
    list_display = ["when", "stage", "offset_days", "tomorrow"]
    list_filter = ["stage__journey", "stage"]
    list_select_related = ["stage__journey"]


@admin.register(Milestone)
class MilestoneAdmin(admin.ModelAdmin):
    list_display = ["name", "segment", "expected_day", "success", "moment"]
    list_filter = ["segment", "success"]
    list_select_related = ["segment", "moment"]
    search_fields = ["key", "name", "description"]


@admin.register(MilestoneReading)
class MilestoneReadingAdmin(admin.ModelAdmin):
    list_display = ["milestone", "measured_on", "actual_days", "completion_rate", "source"]
    list_filter = ["source", "milestone__segment"]
    list_select_related = ["milestone__segment"]
    date_hierarchy = "measured_on"


@admin.register(Touchpoint)
class TouchpointAdmin(admin.ModelAdmin):
    list_display = ["moment", "channel", "function", "squad", "segment"]
    list_filter = ["channel"]
    list_select_related = ["moment__stage__journey", "squad", "segment"]
    search_fields = ["function", "message"]
