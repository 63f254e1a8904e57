from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from planning.cycles import current_cycle
from squads.models import Squad


@login_required
def squad_list(request: HttpRequest) -> HttpResponse:
    squads = Squad.objects.filter(cycle=current_cycle(request)).select_related("dri__profile")
    return render(request, "squads/list.html", {"squads": squads, "nav": "squads"})
