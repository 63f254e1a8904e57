"""The timeline page: GET only, its filters, grouping, zoom, paging and opened group all in
the URL, so it works as plain links and a plain form and can be bookmarked and shared."""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils import timezone
from django.views.decorators.http import require_safe

from core import access, pagecache
from core.cycles import current_cycle
from core.http import AuthedRequest
from planning.timeline import presenters, selectors


@require_safe
def timeline(request: AuthedRequest) -> HttpResponse:
    today = timezone.localdate()
    # Before anything the page shows, the cycle included (see core.pagecache): initiatives
    # and dependencies move `board`; squads, stages, segments and cycles `directory`.
    read = pagecache.revisions([pagecache.BOARD, pagecache.DIRECTORY], request)
    cycle = current_cycle(request)
    actor = access.actor_for(request)
    # Whose drafts are kept from this person, read afresh each time: a plan's approval moves
    # only its squad's scope, so the answer is part of the key instead.
    hidden = selectors.hidden_squads(actor, cycle)

    def draw(stand_ins: dict) -> str:
        context = {
            **presenters.timeline_context(request, cycle=cycle, hidden=hidden, today=today),
            **stand_ins,
        }
        return render_to_string("planning/timeline.html#body", context, request=request)

    body = pagecache.body(
        request,
        name="timeline",
        read=read,
        vary=(cycle.pk if cycle else None, today, tuple(pk for pk, _ in hidden)),
        render=draw,
    )
    return render(
        request, "planning/timeline.html", {"cached_body": body, "nav": "timeline", "cycle": cycle}
    )
