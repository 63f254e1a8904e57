"""The REST API for the customer's outcomes (docs/outcomes.md): the company's goals and the
objectives serving them, segments' success outcomes and time-to-value milestones, a journey's
stages with their value states, moments and touchpoints.

Its routers are mounted by api/api.py beside the others (two of them under the existing
/journeys and /squads prefixes), and use its helpers: the same authentication, errors,
pagination and access checks (core.access) as every other route.
"""

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import F, OuterRef, Prefetch, QuerySet, Subquery
from django.http import Http404
from ninja import Router, Status
from ninja.errors import HttpError
from ninja.pagination import paginate

from api import schemas
from api.api import Pagination, _actor, _require, _squad
from core import access
from journeys.models import (
    Journey,
    Milestone,
    MilestoneReading,
    Moment,
    Segment,
    Stage,
    Touchpoint,
)
from planning import removals
from squads import services as squad_services
from squads.models import OKR, Goal, ObjectiveGoal, Squad

User = get_user_model()

# Mounted at /journeys and /squads, beside those prefixes' own routers.
journeys = Router(tags=["journeys"])
squads = Router(tags=["squads"])


@journeys.get(
    "/{key}/stages",
    response=list[schemas.StageDetailOut],
    summary="A journey's stages with their value states, moments and touchpoints",
)
@paginate(Pagination)
def journey_stages(request, key: str):
    journey = Journey.objects.filter(key=key).first()
    if journey is None:
        raise Http404(f"No journey has the key {key!r}.")
    touchpoints = Touchpoint.objects.order_by("position", "id").select_related("squad", "segment")
    moments = Moment.objects.order_by("offset_days", "position", "id").prefetch_related(
        Prefetch("touchpoints", queryset=touchpoints)
    )
    return (
        Stage.objects.filter(journey=journey)
        .select_related("journey")
        .prefetch_related(Prefetch("moments", queryset=moments))
        .order_by("position", "id")
    )


# ---------------------------------------------------------------------------------------
# Segments: their success outcome and time-to-value milestones
# ---------------------------------------------------------------------------------------

segments = Router(tags=["segments"])


def _segments() -> QuerySet[Segment]:
    # Only each milestone's latest reading: a milestone may have one a day for years.
    latest = MilestoneReading.objects.filter(milestone=OuterRef("milestone")).order_by(
        "-measured_on", "-id"
    )
    readings = MilestoneReading.objects.filter(pk=Subquery(latest.values("pk")[:1]))
    milestones = (
        Milestone.objects.order_by("expected_day", "position", "id")
        .select_related("segment", "moment__stage__journey")
        .prefetch_related(Prefetch("readings", queryset=readings))
    )
    return Segment.objects.select_related("success_owner").prefetch_related(
        Prefetch("milestones", queryset=milestones)
    )


@segments.get(
    "", response=list[schemas.SegmentOut], summary="Segments with success outcome and milestones"
)
@paginate(Pagination)
def segment_list(request):
    return _segments().order_by(F("priority").asc(nulls_last=True), "name", "id")


@segments.get("/{key}", response=schemas.SegmentOut, summary="One segment")
def segment_detail(request, key: str):
    segment = _segments().filter(key=key).first()
    if segment is None:
        raise Http404(f"No segment has the key {key!r}.")
    return segment


# ---------------------------------------------------------------------------------------
# The company's goals
# ---------------------------------------------------------------------------------------

goals = Router(tags=["goals"])


def _goals() -> QuerySet[Goal]:
    links = (
        ObjectiveGoal.objects.filter(okr__squad__removal__isnull=True)
        .select_related("okr__squad", "okr__cycle")
        .order_by("okr__cycle__starts", "okr__squad__name", "id")
    )
    return Goal.objects.select_related("owner").prefetch_related(
        Prefetch("segments", queryset=Segment.objects.order_by("id")),
        Prefetch("objective_links", queryset=links),
    )


def _goal(key: str) -> Goal:
    goal = _goals().filter(key=key).first()
    if goal is None:
        raise Http404(f"No goal has the key {key!r}.")
    return goal


def _goal_values(payload: schemas.GoalIn) -> tuple[squad_services.GoalFields, list[Segment]]:
    owner = None
    if payload.owner:
        owner = User.objects.filter(username=payload.owner, is_active=True).first()
        if owner is None:
            raise DjangoValidationError({"owner": f"Nobody has the username {payload.owner!r}."})
    found = {s.key: s for s in Segment.objects.filter(key__in=payload.segments)}
    if missing := [key for key in payload.segments if key not in found]:
        raise DjangoValidationError({"segments": f"No segment has the key {missing[0]!r}."})
    values: squad_services.GoalFields = {
        "name": payload.name,
        "description": payload.description,
        "customer_success": payload.customer_success,
        "starts_year": payload.starts_year,
        "ends_year": payload.ends_year,
        "owner": owner,
    }
    return values, [found[key] for key in dict.fromkeys(payload.segments)]


@goals.get("", response=list[schemas.GoalOut], summary="The company's goals, in their order")
@paginate(Pagination)
def goal_list(request):
    return _goals().order_by("position", "starts_year", "id")


@goals.get("/{key}", response=schemas.GoalOut, summary="One goal, with the objectives serving it")
def goal_detail(request, key: str):
    return _goal(key)


@goals.post(
    "",
    response={201: schemas.GoalOut, 400: schemas.Error, 403: schemas.Error},
    summary="Add a company goal (leadership)",
)
def goal_create(request, payload: schemas.GoalCreate):
    _require(access.can_edit_goals(_actor(request)), "Only leadership changes the company's goals.")
    values, segment_list = _goal_values(payload)
    goal = squad_services.goal_create(
        key=payload.key, values=values, segments=segment_list, by=request.user
    )
    return Status(201, _goal(goal.key))


@goals.put(
    "/{key}",
    response={200: schemas.GoalOut, 400: schemas.Error, 403: schemas.Error, 409: schemas.Error},
    summary="Replace a goal's fields (leadership)",
    description="Its key stays. With `version`, a goal someone saved since answers 409 and "
    "nothing is written.",
)
def goal_update(request, key: str, payload: schemas.GoalUpdate):
    goal = _goal(key)
    _require(access.can_edit_goals(_actor(request)), "Only leadership changes the company's goals.")
    values, segment_list = _goal_values(payload)
    squad_services.goal_update(
        goal=goal,
        values=values,
        segments=segment_list,
        by=request.user,
        version=payload.version,
        reason="Changed through the API",
    )
    return Status(200, _goal(key))


@goals.delete(
    "/{key}",
    response={200: schemas.GoalRemoved, 403: schemas.Error, 409: schemas.Error},
    summary="Remove a goal (leadership); it can be restored from Recently removed",
    description="A goal that objectives serve answers 409 unless `take_off_objectives=true`: "
    "removing it takes it off them (restoring puts it back).",
)
def goal_delete(request, key: str, take_off_objectives: bool = False):
    goal = _goal(key)
    _require(access.can_edit_goals(_actor(request)), "Only leadership changes the company's goals.")
    plan = removals.goal_removal(goal)
    if plan.question and not take_off_objectives:
        raise HttpError(409, f"{plan.question} Send take_off_objectives=true to go ahead.")
    removal = removals.goal_remove(
        goal=goal, by=request.user, seen=plan.digest, answered=take_off_objectives
    )
    return Status(200, {"key": key, "took": list(removal.details.get("took", []))})


# ---------------------------------------------------------------------------------------
# The goals a squad's objective serves
# ---------------------------------------------------------------------------------------


@squads.put(
    "/{key}/okr/goals",
    response={200: schemas.ObjectiveGoalsOut, 400: schemas.Error, 403: schemas.Error},
    summary="Set the company goals the squad's objective serves (its DRI, leadership)",
    description="Replaces the list: goals left out are taken off the objective.",
)
def objective_goals_update(request, key: str, payload: schemas.ObjectiveGoalsIn):
    squad = _squad(key)
    _require(
        access.can_manage_squad(_actor(request), squad),
        "Only the squad's DRI and leadership say which goals its objective serves.",
    )
    okr = OKR.objects.filter(squad=squad, cycle_id=squad.cycle_id).first()
    if okr is None:
        raise DjangoValidationError(
            {"goals": f"Squad {key!r} has no objective this cycle yet: write it first."}
        )
    found = {g.key: g for g in Goal.objects.filter(key__in=payload.goals)}
    if missing := [k for k in payload.goals if k not in found]:
        raise DjangoValidationError({"goals": f"No goal has the key {missing[0]!r}."})
    squad_services.okr_goals_set(
        okr=okr, goals=[found[k] for k in dict.fromkeys(payload.goals)], by=request.user
    )
    return Status(200, _objective_goals(squad, okr))


def _objective_goals(squad: Squad, okr: OKR) -> dict:
    keys = ObjectiveGoal.objects.filter(okr=okr, goal__removal__isnull=True).order_by(
        "goal__position", "goal__id"
    )
    return {
        "squad": squad.key,
        "cycle": squad.cycle.key,
        "objective": okr.objective,
        "goals": list(keys.values_list("goal__key", flat=True)),
    }
