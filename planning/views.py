from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from planning.cycles import SESSION_KEY
from planning.models import Cycle


@login_required
def home(request: HttpRequest) -> HttpResponse:
    return redirect("squads:list")


@login_required
@require_POST
def cycle_select(request: HttpRequest) -> HttpResponse:
    cycle = get_object_or_404(Cycle, key=request.POST.get("cycle", ""))
    request.session[SESSION_KEY] = cycle.key
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = "/"
    return redirect(target)


@login_required
def findings(request: HttpRequest) -> HttpResponse:
    return render(request, "planning/findings.html", {"nav": "findings"})
