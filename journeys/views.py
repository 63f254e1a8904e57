"""The journey map: leadership's view of the customer's journey, stage by stage.

Everyone signed in reads every journey. Leadership edits it in place: each edit endpoint
answers an HTMX request with the part of the page it changed (one stage and the curve, a
new column, or the whole map after a reorder) and a plain request with the whole page, so
every control also works as an ordinary link or form. Swaps never redraw a column other than
the one acted on, except a reorder, whose controls are hidden while anything is being typed.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect, reswap

from core import versioning
from core.access import actor_for, can_cover_stage, can_edit_journeys
from core.cycles import current_cycle
from core.http import AuthedRequest
from core.models import Cycle
from core.removal import gone_or_404
from journeys import services
from journeys.charts import emotion_chart
from journeys.forms import JourneyForm, MomentForm, NewJourneyForm, NewStageForm, StageForm
from journeys.models import Journey, Moment, Stage

READ_ONLY = "Only leadership can change the journey map."
TEMPLATE = "journeys/detail.html"


@dataclass(frozen=True)
class Coverage:
    """How many of a journey's stages have a squad in the cycle on screen."""

    cycle: Cycle | None
    total: int
    uncovered: list

    @property
    def covered(self) -> int:
        return self.total - len(self.uncovered)

    @property
    def summary(self) -> str:
        if not self.total:
            return "No stages yet."
        if self.cycle is None:
            return "No planning cycle yet, so no squad covers any stage."
        gaps = len(self.uncovered)
        if not gaps:
            return f"Every stage has a squad in {self.cycle.name}."
        verb = "has" if gaps == 1 else "have"
        noun = "stage" if self.total == 1 else "stages"
        return f"{gaps} of {self.total} {noun} {verb} no squad in {self.cycle.name}."


def _coverage(stages: list, cycle: Cycle | None, has_squads) -> Coverage:
    return Coverage(
        cycle=cycle, total=len(stages), uncovered=[s for s in stages if not has_squads(s)]
    )


def _squad_url(key: str) -> str:
    return reverse("squads:detail", args=[key])


# Reading


@require_http_methods(["GET", "POST"])
def journey_list(request: AuthedRequest) -> HttpResponse:
    """Every journey with its stages, segments and coverage; leadership also creates here."""
    can_edit = can_edit_journeys(actor_for(request))
    form = NewJourneyForm(prefix="journey") if can_edit else None
    if request.method == "POST":
        if not can_edit:
            raise PermissionDenied(READ_ONLY)
        form = NewJourneyForm(request.POST, prefix="journey")
        if form.is_valid():
            try:
                journey = services.journey_create(**form.cleaned_data)
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                url = reverse("journeys:detail", args=[journey.key])
                if request.htmx:
                    return HttpResponseClientRedirect(url)
                return redirect(url)
        if request.htmx:
            return render(request, "journeys/list.html#new_journey", {"form": form})

    cycle = current_cycle(request)
    journeys = list(Journey.objects.for_list(cycle))
    for journey in journeys:
        journey.coverage = _coverage(journey.stage_list, cycle, lambda s: s.squad_count)
    context = {
        "journeys": journeys,
        "cycle": cycle,
        "can_edit": can_edit,
        "form": form,
        "form_open": request.method == "POST",
        "nav": "journeys",
    }
    return render(request, "journeys/list.html", context)


def _map_context(request: AuthedRequest, key: str, **state) -> dict:
    """Everything the journey map draws, plus which part, if any, is being edited."""
    cycle = current_cycle(request)
    journey = Journey.objects.for_map(cycle).filter(key=key).first()
    if journey is None:
        gone_or_404(Journey.everything, "journey", key=key)
    stages = journey.stage_list
    for stage in stages:
        for squad in stage.cycle_squads:
            squad.url = _squad_url(squad.key)
    return {
        "journey": journey,
        "stages": stages,
        "cycle": cycle,
        "chart": emotion_chart(stages),
        "coverage": _coverage(stages, cycle, lambda s: s.cycle_squads),
        "can_edit": can_edit_journeys(actor_for(request)),
        "can_cover": can_cover_stage(actor_for(request)) and cycle is not None,
        "nav": "journeys",
        **state,
    }


def _stage_in(context: dict, stage_pk: int) -> dict:
    """The context narrowed to one stage, for rendering that stage's partial on its own."""
    for stage in context["stages"]:
        if stage.pk == stage_pk:
            return {**context, "stage": stage}
    raise Http404("No such stage.")


def _render(request: AuthedRequest, context: dict, partial: str | None = None) -> HttpResponse:
    if request.htmx and partial:
        return render(request, f"{TEMPLATE}#{partial}", context)
    return render(request, TEMPLATE, context)


def _posted(request: AuthedRequest):
    return request.POST if request.method == "POST" else None


def _back_to(journey_key: str, anchor: str = "") -> HttpResponse:
    url = reverse("journeys:detail", args=[journey_key])
    return redirect(f"{url}#{anchor}" if anchor else url)


@require_GET
def journey_detail(request: AuthedRequest, key: str) -> HttpResponse:
    return _render(request, _map_context(request, key))


# Editing: leadership only. A missing journey is 404 for everyone, then 403 for the rest.


def _journey(key: str) -> Journey:
    """The live journey of this key; 410 when it was removed, else 404."""
    journey = Journey.objects.filter(key=key).first()
    if journey is None:
        gone_or_404(Journey.everything, "journey", key=key)
    return journey


def _stage(journey: Journey, stage_key: str) -> Stage:
    stage = Stage.objects.select_related("journey").filter(journey=journey, key=stage_key).first()
    if stage is None:
        gone_or_404(Stage.everything, "stage", journey=journey, key=stage_key)
    return stage


def _journey_rw(request: AuthedRequest, key: str) -> Journey:
    journey = _journey(key)
    if not can_edit_journeys(actor_for(request)):
        raise PermissionDenied(READ_ONLY)
    return journey


def _stage_rw(request: AuthedRequest, key: str, stage_key: str) -> Stage:
    stage = _stage(_journey(key), stage_key)
    if not can_edit_journeys(actor_for(request)):
        raise PermissionDenied(READ_ONLY)
    return stage


def _moment_rw(request: AuthedRequest, key: str, stage_key: str, pk: int) -> Moment:
    stage = _stage(_journey(key), stage_key)
    moment = get_object_or_404(Moment, stage=stage, pk=pk)
    if not can_edit_journeys(actor_for(request)):
        raise PermissionDenied(READ_ONLY)
    moment.stage = stage
    return moment


@require_http_methods(["GET", "POST"])
def journey_edit(request: AuthedRequest, key: str) -> HttpResponse:
    journey = _journey_rw(request, key)
    saved = None
    if request.method == "POST":
        version = request.POST.get("version", "")
        form = JourneyForm(request.POST, prefix="journey")
        if form.is_valid():
            try:
                services.journey_update(journey=journey, version=version, **form.cleaned_data)
            except ValidationError as exc:
                form.add_error(None, exc)
                if getattr(exc, "code", None) == services.STALE:
                    # Show what the other person saved; saving again keeps this version.
                    saved = Journey.objects.get(pk=journey.pk)
                    saved.segment_list = list(saved.segments.order_by("name"))
                    version = services.journey_version(saved, [s.pk for s in saved.segment_list])
            else:
                if not request.htmx:
                    return _back_to(journey.key)
                return _render(request, _map_context(request, key), "header")
    else:
        # The version is the digest of exactly what the form shows.
        segments = list(journey.segments.all())
        form = JourneyForm(
            prefix="journey",
            initial={
                "name": journey.name,
                "description": journey.description,
                "segments": segments,
            },
        )
        version = services.journey_version(journey, [s.pk for s in segments])
    state = {"journey_form": form, "journey_version": version, "journey_saved": saved}
    return _render(request, _map_context(request, key, **state), "header")


@require_http_methods(["GET", "POST"])
def stage_new(request: AuthedRequest, key: str) -> HttpResponse:
    journey = _journey_rw(request, key)
    form = NewStageForm(_posted(request), prefix="new-stage")
    if request.method == "POST" and form.is_valid():
        try:
            stage = services.stage_create(journey=journey, **form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            if not request.htmx:
                return _back_to(journey.key, f"stage-{stage.pk}")
            # Append the column, redraw the curve and the coverage, and leave every other
            # column alone (one may hold someone's unsaved edit). Then show the new column:
            # it may be past the right edge.
            context = _stage_in(_map_context(request, key, oob=True), stage.pk)
            response = _render(request, context, "stage_added")
            return reswap(response, f"outerHTML show:#stage-{stage.pk}:top")
    return _render(request, _map_context(request, key, new_stage_form=form), "new_stage")


@require_http_methods(["GET", "POST"])
def stage_edit(request: AuthedRequest, key: str, stage_key: str) -> HttpResponse:
    stage = _stage_rw(request, key, stage_key)
    prefix = f"stage-{stage.pk}"
    saved = None
    if request.method == "POST":
        version = versioning.posted_version(request.POST)
        form = StageForm(request.POST, prefix=prefix)
        if form.is_valid():
            try:
                services.stage_update(
                    stage=stage, version=version, by=request.user, **form.cleaned_data
                )
            except ValidationError as exc:
                form.add_error(None, exc)
                if getattr(exc, "code", None) == services.STALE:
                    # Show what the other person saved; saving again keeps this version.
                    saved = Stage.objects.get(pk=stage.pk)
                    version = saved.version
            else:
                if not request.htmx:
                    return _back_to(key, f"stage-{stage.pk}")
                context = _stage_in(_map_context(request, key, oob=True), stage.pk)
                return _render(request, context, "stage_saved")
    else:
        form = StageForm(
            prefix=prefix, initial={name: getattr(stage, name) for name in services.STAGE_FIELDS}
        )
        version = stage.version
    state = {
        "edit_stage": stage.pk,
        "wide_stage": stage.pk,
        "stage_form": form,
        "version": version,
        "saved": saved,
    }
    return _render(request, _stage_in(_map_context(request, key, **state), stage.pk), "stage")


@require_POST
def stage_move(request: AuthedRequest, key: str, stage_key: str) -> HttpResponse:
    stage = _stage_rw(request, key, stage_key)
    direction = request.POST.get("direction", "")
    if direction not in ("left", "right"):
        return HttpResponse("Move a stage left or right.", status=400)
    services.stage_move(stage=stage, direction=direction)
    if not request.htmx:
        return _back_to(key, f"stage-{stage.pk}")
    return _render(request, _map_context(request, key), "map")


@require_http_methods(["GET", "POST"])
def moment_new(request: AuthedRequest, key: str, stage_key: str) -> HttpResponse:
    stage = _stage_rw(request, key, stage_key)
    form = MomentForm(_posted(request), prefix=f"new-moment-{stage.pk}")
    if request.method == "POST" and form.is_valid():
        try:
            services.moment_create(stage=stage, **form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            if not request.htmx:
                return _back_to(key, f"stage-{stage.pk}")
            return _render(request, _stage_in(_map_context(request, key), stage.pk), "stage")
    state = {"moment_stage": stage.pk, "wide_stage": stage.pk, "moment_form": form}
    return _render(request, _stage_in(_map_context(request, key, **state), stage.pk), "stage")


@require_http_methods(["GET", "POST"])
def moment_edit(request: AuthedRequest, key: str, stage_key: str, pk: int) -> HttpResponse:
    moment = _moment_rw(request, key, stage_key, pk)
    prefix = f"moment-{moment.pk}"
    saved = None
    if request.method == "POST":
        version = request.POST.get("version", "")
        form = MomentForm(request.POST, prefix=prefix)
        if form.is_valid():
            try:
                services.moment_update(moment=moment, version=version, **form.cleaned_data)
            except ValidationError as exc:
                form.add_error(None, exc)
                if getattr(exc, "code", None) == services.STALE:
                    saved = Moment.objects.get(pk=moment.pk)
                    version = services.moment_version(saved)
            else:
                if not request.htmx:
                    return _back_to(key, f"stage-{moment.stage_id}")
                context = _stage_in(_map_context(request, key), moment.stage_id)
                return _render(request, context, "stage")
    else:
        form = MomentForm(
            prefix=prefix, initial={name: getattr(moment, name) for name in services.MOMENT_FIELDS}
        )
        version = services.moment_version(moment)
    state = {
        "edit_moment": moment.pk,
        "wide_stage": moment.stage_id,
        "moment_form": form,
        "moment_version": version,
        "moment_saved": saved,
    }
    context = _stage_in(_map_context(request, key, **state), moment.stage_id)
    return _render(request, context, "stage")


@require_POST
def moment_delete(request: AuthedRequest, key: str, stage_key: str, pk: int) -> HttpResponse:
    moment = _moment_rw(request, key, stage_key, pk)
    problem = ""
    try:
        services.moment_delete(moment=moment, version=request.POST.get("version", ""))
    except ValidationError:
        problem = (
            f"Someone changed the {moment.when} moment after this page was drawn, so it was "
            "not deleted. Here it is as saved now: delete it again if you still want to."
        )
    if not request.htmx:
        if problem:
            messages.error(request, problem)
        return _back_to(key, f"stage-{moment.stage_id}")
    context = _stage_in(_map_context(request, key, moment_problem=problem), moment.stage_id)
    return _render(request, context, "stage")
