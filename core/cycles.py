"""Which planning cycle a person is looking at."""

from __future__ import annotations

import copy

from django.db import DEFAULT_DB_ALIAS, router
from django.http import HttpRequest
from django.utils import timezone

from core import access
from core.models import Cycle

SESSION_KEY = "throughline_cycle"


# The cycles as of one revision of the directory (core.pagecache), which every change
# to a cycle moves: (revision, cycles).
_KNOWN: tuple[int, list[Cycle]] | None = None


def all_cycles(request: HttpRequest) -> list[Cycle]:
    """Every cycle, newest first: read once per request (a company has a handful), or not
    at all when the request has read the directory's revision (with the page cache's
    revisions, or with the signed-in person's relations) and it has not moved."""
    global _KNOWN
    cycles = getattr(request, "_throughline_cycles", None)
    if cycles is not None:
        return cycles
    directory = getattr(request, "_throughline_directory", None)
    if (
        directory is None
        and getattr(request, "user", None) is not None
        and request.user.is_authenticated
        and router.db_for_read(Cycle) == DEFAULT_DB_ALIAS
    ):
        # Every signed-in page reads the person's relations (the navigation needs them), and
        # the directory's revision with them: the cycles come from this process while it
        # has not moved, one query fewer a page. Only when the cycles are read from the
        # primary too, so a replica behind it never leaves old cycles under a new revision.
        directory = access.actor_for(request).directory
    known = _KNOWN
    if directory is not None and known is not None and known[0] == directory:
        cycles = [copy.copy(cycle) for cycle in known[1]]
    else:
        cycles = list(Cycle.objects.order_by("-starts", "key"))
        if directory is not None:
            _KNOWN = (directory, [copy.copy(cycle) for cycle in cycles])
    request._throughline_cycles = cycles
    return cycles


def _default_of(cycles: list[Cycle]) -> Cycle | None:
    """The cycle running today, else the next to start, else the most recent."""
    today = timezone.localdate()

    def rank(cycle: Cycle) -> tuple:
        running = 0 if cycle.starts <= today <= cycle.ends else 1 if cycle.starts > today else 2
        return (running, cycle.starts, -cycle.ends.toordinal(), cycle.pk)

    return min(cycles, key=rank, default=None)


def current_cycle(request: HttpRequest) -> Cycle | None:
    if hasattr(request, "_throughline_cycle"):
        return request._throughline_cycle
    cycles = all_cycles(request)
    key = request.session.get(SESSION_KEY) if hasattr(request, "session") else None
    cycle = next((c for c in cycles if c.key == key), None) if key else None
    if cycle is None:
        cycle = _default_of(cycles)
    request._throughline_cycle = cycle
    return cycle


def look_at(request: HttpRequest, cycle: Cycle) -> None:
    """Put `cycle` on screen for this person, as choosing it at the top of the page does."""
    if request.session.get(SESSION_KEY) != cycle.key:
        request.session[SESSION_KEY] = cycle.key
    request._throughline_cycle = cycle
