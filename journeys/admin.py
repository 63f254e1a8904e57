from django.contrib import admin

from journeys.models import Journey, JourneySegment, Moment, Segment, Stage


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
