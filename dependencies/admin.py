from django.contrib import admin

from dependencies.models import Dependency


@admin.register(Dependency)
class DependencyAdmin(admin.ModelAdmin):
    list_display = [
        "key",
        "what",
        "from_squad",
        "from_initiative",
        "to_squad",
        "to_initiative",
        "to_function",
        "due",
        "blocking",
        "status",
        "owner",
    ]
    list_filter = ["status", "blocking", "to_function", "to_squad", "from_squad"]
    list_select_related = [
        "from_squad",
        "from_initiative",
        "to_squad",
        "to_initiative",
        "owner",
    ]
    search_fields = ["key", "what", "note"]
    date_hierarchy = "due"
