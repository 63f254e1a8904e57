from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest
from django.urls import get_script_prefix, get_urlconf, reverse

from core import access
from core.cycles import all_cycles, current_cycle
from throughline.two_factor import held_chrome

# The navigation's links, reversed once per process (per URLconf and prefix) rather than
# with a {% url %} each on every page: keyed by the URL's name, ":" written "_".
_NAV = (
    "home",
    "cycles",
    "goals:list",
    "journeys:list",
    "squads:list",
    "board:board",
    "board:graph",
    "timeline",
    "findings",
    "notifications",
    "calendar",
    "people",
    "functions",
    "segments",
    "webhooks:list",
    "search",
    "cycle_select",
    "removed",
    "account",
    "logout",
)
_nav_urls: dict[tuple, dict[str, str]] = {}


def nav_urls() -> dict[str, str]:
    where = (settings.ROOT_URLCONF, get_urlconf(), get_script_prefix())
    urls = _nav_urls.get(where)
    if urls is None:
        urls = _nav_urls[where] = {name.replace(":", "_"): reverse(name) for name in _NAV}
    return urls


def throughline(request: HttpRequest) -> dict:
    """The navigation bar's needs: who is signed in, their unread notifications, the cycles
    to choose from and the one chosen, and where its links lead."""
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    if held_chrome(request):
        # Password given, code not yet: the page (a 404, say) shows nobody signed in.
        return {"user": AnonymousUser()}

    def actor():
        return access.actor_for(request)  # once a request, however often asked

    # Each read when a template shows it (the full pages' navigation), not for the
    # fragments htmx asks for, which need not load the person's relations at all.
    return {
        "whoami": lambda: actor().display_name or request.user.get_username(),
        "unread_notifications": lambda: actor().unread_notifications,
        # The set-up pages (functions, segments) in the navigation: for those who change them.
        "can_set_up": lambda: (
            access.can_edit_capacity(actor()) or access.can_edit_segments(actor())
        ),
        "can_webhooks": lambda: access.can_open_webhooks(actor()),
        "current_cycle": lambda: current_cycle(request),
        "all_cycles": lambda: all_cycles(request),
        "nav_urls": nav_urls(),
    }
