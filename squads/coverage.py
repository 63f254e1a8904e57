"""Which journey stages a squad covers, set in the app.

On the squad's page its DRI and leadership tick the stages it covers (`squad_stages`); from
a stage of the journey map that no squad covers, leadership picks a squad of the cycle on
screen (`stage_cover`, under the journey's addresses). Both write through
squads.services, which keeps the coverage history: who made a squad cover a stage or take
it off, and when. Leadership can also choose stages when forming a squad (squads.views).
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from core import access
from core.cycles import current_cycle
from core.http import AuthedRequest
from journeys.models import Stage
from squads import access as squad_access
from squads import services
from squads.forms import SquadStagesForm, StageCoverForm
from squads.models import Squad
from squads.views import _detail_context, covered_stages, stages_context

READ_ONLY_STAGES = "Only the squad's DRI or leadership can change which stages it covers."
READ_ONLY_COVER = "Only leadership says which squad covers a journey stage."


def _stages_form(squad: Squad, data=None) -> SquadStagesForm:
    """The form as the editor opens it, or as they posted it."""
    if data is not None:
        return SquadStagesForm(data)
    stages = covered_stages(squad)
    return SquadStagesForm(
        initial={
            "stages": stages,
            "version": services.squad_stages_version(s.pk for s in stages),
        }
    )


@require_http_methods(["GET", "HEAD", "POST"])
def squad_stages(request: AuthedRequest, key: str) -> HttpResponse:
    """The squad page's stages part in edit mode (GET), or saved (POST)."""
    squad, _ = squad_access.get_squad_for_user(request, key)
    if not access.can_set_squad_stages(access.actor_for(request), squad):
        raise PermissionDenied(READ_ONLY_STAGES)
    form = _stages_form(squad, request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            added, removed = services.squad_stages_set(
                squad=squad,
                stages=form.cleaned_data["stages"],
                version=form.cleaned_data["version"] or "",
                by=request.user,
            )
        except ValidationError as error:
            if getattr(error, "code", None) == "stale":
                # What it covers now, to compare with; the person's ticks stay as they were.
                data = request.POST.copy()
                data["version"] = services.squad_stages_version(s.pk for s in covered_stages(squad))
                form = SquadStagesForm(data)
                form.is_valid()
            form.add_service_errors(error)
        else:
            if request.htmx:
                return render(request, "squads/detail.html#stages", stages_context(request, squad))
            messages.success(request, _stages_saved(added, removed))
            return redirect(reverse("squads:detail", args=[squad.key]) + "#stages")
    status = 400 if form.errors else 200
    if request.htmx:
        context = stages_context(request, squad, form)
        return render(request, "squads/detail.html#stages", context, status=status)
    context = _detail_context(request, squad, stages_form=form)
    return render(request, "squads/detail.html", context, status=status)


def _stages_saved(added: list[Stage], removed: list[Stage]) -> str:
    if not added and not removed:
        return "The squad covers the same stages as before."
    parts = []
    if added:
        parts.append("It covers " + ", ".join(s.name for s in added) + " now.")
    if removed:
        parts.append("It no longer covers " + ", ".join(s.name for s in removed) + ".")
    return " ".join(parts)


@require_http_methods(["GET", "HEAD", "POST"])
def stage_cover(request: AuthedRequest, key: str, stage_key: str) -> HttpResponse:
    """Pick a squad of the cycle on screen to cover a journey stage: leadership."""
    stage = get_object_or_404(
        Stage.objects.select_related("journey"), journey__key=key, key=stage_key
    )
    if not access.can_cover_stage(access.actor_for(request)):
        raise PermissionDenied(READ_ONLY_COVER)
    cycle = current_cycle(request)
    form = StageCoverForm(
        request.POST if request.method == "POST" else None, stage=stage, cycle=cycle
    )
    if request.method == "POST" and form.is_valid():
        squad = form.cleaned_data["squad"]
        try:
            services.squad_stage_cover(
                squad=squad, stage=stage, by=request.user, reason="Assigned on the journey map"
            )
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            messages.success(request, f"{squad.name} covers the {stage.name} stage now.")
            return redirect(reverse("journeys:detail", args=[key]) + f"#stage-{stage.pk}")
    covering = (
        list(Squad.objects.filter(cycle=cycle, squadstage__stage=stage).order_by("name"))
        if cycle is not None
        else []
    )
    context = {
        "stage": stage,
        "journey": stage.journey,
        "cycle": cycle,
        "covering": covering,
        "form": form,
        "nav": "journeys",
    }
    return render(request, "squads/stage_cover.html", context, status=400 if form.errors else 200)
