from django.contrib import admin

from core.models import Capacity, CompanyAccount, Cycle, Invitation, Profile, Removal


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


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    """Read only: invitations are sent, sent again and withdrawn on the People page, which
    emails the link (only its digest is stored, so none could be sent from here)."""

    list_display = ["email", "invited_by", "sent_at", "expires_at", "accepted_at", "account"]
    list_select_related = ["invited_by", "account"]
    search_fields = ["email"]
    exclude = ["token_digest"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Removal)
class RemovalAdmin(admin.ModelAdmin):
    """The record of what people removed: read here, restored from Recently removed (the
    restore puts back what the removal changed besides, which editing a row here would not)."""

    list_display = ["label", "kind", "removed_by", "removed_at", "restored_at", "purged_at"]
    list_filter = ["kind"]
    list_select_related = ["removed_by"]
    search_fields = ["label"]
    date_hierarchy = "removed_at"

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(CompanyAccount)
class CompanyAccountAdmin(admin.ModelAdmin):
    """Links made by the first company sign-in (core/single_sign_on.py). Only deleting one is
    offered: the person's next company sign-in then links afresh by verified email."""

    list_display = ["user", "email", "subject", "issuer", "linked_at", "last_sign_in_at"]
    list_select_related = ["user"]
    search_fields = ["user__username", "email", "subject"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
