from __future__ import annotations

from django.http import HttpRequest

from core import access
from core.cycles import all_cycles, current_cycle


def throughline(request: HttpRequest) -> dict:
    """The navigation bar's needs: who is signed in, their unread notifications, the cycles
    to choose from and the one chosen."""
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    actor = access.actor_for(request)
    return {
        "whoami": actor.display_name or request.user.get_username(),
        "unread_notifications": actor.unread_notifications,
        # The set-up pages (functions, segments) in the navigation: for those who change them.
        "can_set_up": access.can_edit_capacity(actor) or access.can_edit_segments(actor),
        # Read when a template shows them (the full pages), not for the fragments htmx asks.
        "current_cycle": lambda: current_cycle(request),
        "all_cycles": lambda: all_cycles(request),
    }
