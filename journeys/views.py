"""The journey map: leadership's view of the customer's journey, stage by stage.

Everyone signed in reads every journey. Leadership edits it in place: each edit endpoint
answers an HTMX request with the part of the page it changed (one stage and the curve, a
new column, or the whole map after a reorder) and a plain request with the whole page, so
every control also works as an ordinary link or form. Swaps never redraw a column other than
the one acted on, except a reorder, whose controls are hidden while anything is being typed;
a touchpoint's controls redraw its moment alone.

Whenever the map or a part of it is drawn, `journeys.signals.map_drawn` lets the layers above
add what this app may not read: each stage's and moment's risk (planning/journey_map/).
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

from core import ordering, versioning
from core.access import actor_for, can_cover_stage, can_edit_journeys
from core.cycles import current_cycle
from core.http import AuthedRequest, focus_after
from core.models import Cycle
from core.removal import gone_or_404
from journeys import services, touchpoints
from journeys.charts import emotion_chart, value_chart
from journeys.forms import (
    JourneyForm,
    MomentForm,
    NewJourneyForm,
    NewStageForm,
    StageForm,
    TouchpointForm,
)
from journeys.models import Journey, Moment, Segment, Stage, Touchpoint
from journeys.signals import map_drawn

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
    chart, values = emotion_chart(stages), value_chart(stages)
    for stage, curve, value in zip(stages, chart.columns, values.columns, strict=True):
        for squad in stage.cycle_squads:
            squad.url = _squad_url(squad.key)
        # Each stage's strip of the curve and the value band, drawn above its card.
        stage.curve, stage.value_band = curve, value
    context = {
        "journey": journey,
        "stages": stages,
        "cycle": cycle,
        "chart": chart,
        "values": values,
        "coverage": _coverage(stages, cycle, lambda s: s.cycle_squads),
        "can_edit": can_edit_journeys(actor_for(request)),
        "can_cover": can_cover_stage(actor_for(request)) and cycle is not None,
        "nav": "journeys",
    }
    # The layers above add what they know of each stage and moment (the risk).
    for _, extra in map_drawn.send(
        sender=Journey, request=request, journey=journey, stages=stages, cycle=cycle
    ):
        context.update(extra or {})
    return {**context, **state}


def _stage_in(context: dict, stage_pk: int) -> dict:
    """The context narrowed to one stage, for rendering that stage's partial on its own."""
    for stage in context["stages"]:
        if stage.pk == stage_pk:
            return {**context, "stage": stage}
    raise Http404("No such stage.")


def _moment_in(context: dict, stage_pk: int, moment_pk: int) -> dict:
    """The context narrowed to one moment, for rendering that moment's partial on its own."""
    context = _stage_in(context, stage_pk)
    for moment in context["stage"].moments.all():
        if moment.pk == moment_pk:
            return {**context, "moment": moment}
    raise Http404("No such moment.")


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
            reswap(response, f"outerHTML show:#stage-{stage.pk}:top")
            return focus_after(response, f"stage-{stage.pk}")
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


@require_POST
def stage_order(request: AuthedRequest, key: str) -> HttpResponse:
    """The stages in the order dragged or moved by keyboard on the map (static/js/reorder.js)."""
    journey = _journey_rw(request, key)
    return ordering.order_answer(
        request,
        lambda keys, was: services.stage_order_set(journey=journey, keys=keys, was=was),
        back=reverse("journeys:detail", args=[key]),
    )


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


# Touchpoints: who speaks to the customer at a moment. Answered over HTMX with the moment
# alone, so the other moments of the stage keep whatever is being typed in them.

FUNCTIONS_LIST = "touchpoint-functions"


def _touchpoint_form(moment: Moment, cycle: Cycle | None, data=None, **kwargs) -> TouchpointForm:
    # The squads app sits above this one: its model is reached through the relation.
    squad = Touchpoint._meta.get_field("squad").related_model
    squads = squad.objects.filter(cycle=cycle) if cycle is not None else squad.objects.none()
    segments = Segment.objects.filter(journeys=moment.stage.journey_id)
    return TouchpointForm(
        data,
        squads=squads.order_by("name", "id"),
        segments=segments.order_by("name", "id"),
        functions_list=FUNCTIONS_LIST,
        **kwargs,
    )


def _moment_found(key: str, stage_key: str, pk: int) -> Moment:
    stage = _stage(_journey(key), stage_key)
    moment = get_object_or_404(Moment, stage=stage, pk=pk)
    moment.stage = stage
    return moment


def _touchpoint_rw(
    request: AuthedRequest, key: str, stage_key: str, pk: int, touchpoint: int
) -> Touchpoint:
    """The touchpoint of this moment (404 for everyone when it is not this moment's), for
    someone who may edit journeys (else 403)."""
    moment = _moment_found(key, stage_key, pk)
    found = get_object_or_404(
        Touchpoint.objects.select_related("squad"), moment=moment, pk=touchpoint
    )
    if not can_edit_journeys(actor_for(request)):
        raise PermissionDenied(READ_ONLY)
    found.moment = moment
    return found


def _moment_page(request: AuthedRequest, key: str, moment: Moment, **state) -> HttpResponse:
    """The moment alone (HTMX) or the whole map, with `state` saying what is open in it."""
    if state.get("touchpoint_form") is not None:
        state["touchpoint_functions"] = touchpoints.touchpoint_functions()
    context = _map_context(request, key, **state)
    if request.htmx:
        return _render(request, _moment_in(context, moment.stage_id, moment.pk), "moment")
    return _render(request, context)


def _back_to_moment(key: str, moment: Moment) -> HttpResponse:
    return _back_to(key, moment.anchor)


@require_http_methods(["GET", "POST"])
def touchpoint_new(request: AuthedRequest, key: str, stage_key: str, pk: int) -> HttpResponse:
    moment = _moment_rw(request, key, stage_key, pk)
    cycle = current_cycle(request)
    form = _touchpoint_form(moment, cycle, _posted(request), prefix=f"new-touchpoint-{moment.pk}")
    if request.method == "POST" and form.is_valid():
        try:
            touchpoints.touchpoint_create(moment=moment, cycle=cycle, **form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            if not request.htmx:
                return _back_to_moment(key, moment)
            return _moment_page(request, key, moment)
    return _moment_page(request, key, moment, touchpoint_moment=moment.pk, touchpoint_form=form)


@require_http_methods(["GET", "POST"])
def touchpoint_edit(
    request: AuthedRequest, key: str, stage_key: str, pk: int, touchpoint: int
) -> HttpResponse:
    found = _touchpoint_rw(request, key, stage_key, pk, touchpoint)
    moment, cycle, saved = found.moment, current_cycle(request), None
    prefix = f"touchpoint-{found.pk}"
    if request.method == "POST":
        version = request.POST.get("version", "")
        form = _touchpoint_form(moment, cycle, request.POST, prefix=prefix)
        if form.is_valid():
            try:
                touchpoints.touchpoint_update(
                    touchpoint=found, version=version, cycle=cycle, **form.cleaned_data
                )
            except ValidationError as exc:
                form.add_error(None, exc)
                if getattr(exc, "code", None) == services.STALE:
                    # Show what the other person saved; saving again keeps this version.
                    saved = Touchpoint.objects.select_related("squad", "segment").get(pk=found.pk)
                    version = touchpoints.touchpoint_version(saved)
            else:
                if not request.htmx:
                    return _back_to_moment(key, moment)
                return _moment_page(request, key, moment)
    else:
        form = _touchpoint_form(
            moment,
            cycle,
            prefix=prefix,
            initial={
                "channel": found.channel,
                "function": found.function,
                "squad": found.squad_id,
                "segment": found.segment_id,
                "message": found.message,
            },
        )
        version = touchpoints.touchpoint_version(found)
    state = {
        "edit_touchpoint": found.pk,
        "touchpoint_form": form,
        "touchpoint_version": version,
        "touchpoint_saved": saved,
    }
    return _moment_page(request, key, moment, **state)


@require_http_methods(["GET", "POST"])
def touchpoint_remove(
    request: AuthedRequest, key: str, stage_key: str, pk: int, touchpoint: int
) -> HttpResponse:
    """Asks first (GET: the confirmation in place of the touchpoint), then removes (POST)."""
    found = _touchpoint_rw(request, key, stage_key, pk, touchpoint)
    moment = found.moment
    if request.method == "GET":
        return _moment_page(request, key, moment, remove_touchpoint=found.pk)
    problem = ""
    try:
        touchpoints.touchpoint_delete(touchpoint=found, version=request.POST.get("version", ""))
    except ValidationError:
        problem = (
            "Someone changed this touchpoint after this page was drawn, so it was not removed. "
            "Here it is as saved now: remove it again if you still want to."
        )
    if not request.htmx:
        if problem:
            messages.error(request, problem)
        return _back_to_moment(key, moment)
    return _moment_page(request, key, moment, touchpoint_problem=problem)
