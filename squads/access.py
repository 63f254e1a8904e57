"""Finding a squad for the person asking: 404 when there is none, 403 when they may not.

The rules themselves are in core/access.py, the one rule book; these read the squad (with
what the page needs read alongside) and ask them.
"""

from __future__ import annotations

from collections.abc import Callable

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from core.access import DRAFT_RESTRICTED, actor_for, can_edit_plan, can_read_plan
from core.pagecache import DIRECTORY, enabled
from core.removal import gone_or_404
from squads.models import Squad


def _find_squad(key: str) -> Squad | None:
    return Squad.objects.select_related("cycle", "dri__profile").filter(key=key).first()


_SQUAD_TO_WRITE = """
SELECT s.*, (SELECT p.id FROM planning_plan p WHERE p.squad_id = s.id) AS plan_pk
FROM squads_squad s WHERE s.key = %s AND s.removal_id IS NULL
"""


def find_squad_to_write(key: str) -> Squad | None:
    """The squad row with its plan's id (`plan_pk`, None before the first save) and nothing
    else, in plain SQL: for the busiest writes, which read the cycle or the DRI only when
    they need them."""
    return next(iter(Squad.objects.raw(_SQUAD_TO_WRITE, [key])), None)


def get_plan_for_user(
    request: HttpRequest, key: str, find: Callable[[str], Squad | None] = _find_squad
) -> tuple[Squad, bool]:
    """The squad whose plan is asked for and whether this person may edit it; 404 when there
    is no such squad, 403 when the plan is a draft this person may not read. `find`: how to
    read the squad, when the caller wants more read with it."""
    squad, can_edit = get_squad_for_user(request, key, find)
    if not can_read_plan(actor_for(request), squad):
        raise PermissionDenied(DRAFT_RESTRICTED)
    return squad, can_edit


def get_squad_for_user(
    request: HttpRequest, key: str, find: Callable[[str], Squad | None] = _find_squad
) -> tuple[Squad, bool]:
    """The squad and whether this person may edit its plan; 404 when there is none."""
    squad = find(key)
    if squad is None:
        gone_or_404(Squad.everything, "squad", key=key)
    return squad, can_edit_plan(actor_for(request), squad)


def get_squad_rw(request: HttpRequest, key: str) -> Squad:
    squad, can_edit = get_squad_for_user(request, key)
    if not can_edit:
        raise PermissionDenied("Only the squad's members can change its plan.")
    return squad


_SQUAD_WITH_REVISIONS = f"""
SELECT s.*,
  (SELECT value FROM planning_pagerevision WHERE scope = 'squad:' || s.id) AS page_revision,
  (SELECT value FROM planning_pagerevision WHERE scope = '{DIRECTORY}') AS page_directory,
  (SELECT revision FROM planning_planstamp WHERE squad_id = s.id) AS page_stamp
FROM squads_squad s WHERE s.key = %s AND s.removal_id IS NULL
"""


def find_squad_with_revisions(key: str):
    """The squad of this key, read with its plan page's revisions and co-writing stamp in
    the same statement (see plan_revisions()); None when there is none. Plain SQL: this
    runs on every plan page."""
    if not enabled():
        return Squad.objects.filter(key=key).first()
    return next(iter(Squad.objects.raw(_SQUAD_WITH_REVISIONS, [key])), None)
