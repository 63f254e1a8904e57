"""Export stored plans as a planning file.

The order of every list is the order things were stored in (or their explicit position), so
that exporting, importing into an empty database and exporting again gives the same document.

planning-file/2 by default; planning-file/1 on request gives exactly what the export wrote
before planning-file/2, for scripts that read only that, leaving the customer's outcomes out
(`left_out_of_v1` says what).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Prefetch, Q

from core.models import Capacity, Cycle, Profile
from dependencies.models import Dependency
from journeys.models import (
    Journey,
    JourneySegment,
    Milestone,
    MilestoneReading,
    Moment,
    Segment,
    Stage,
    Touchpoint,
)
from planning.planning_file.outcomes import FORMAT_V1, FORMAT_V2, FORMATS, value_word
from planning.planning_file.reader import format_number
from squads.models import (
    OKR,
    Goal,
    Initiative,
    InitiativeMilestone,
    Membership,
    ObjectiveGoal,
    Plan,
    Squad,
    SquadStage,
)

User = get_user_model()


class UnknownCycle(LookupError):
    pass


class UnknownFormat(ValueError):
    pass


def export_document(cycle_key: str | None = None, *, format: str = FORMAT_V2) -> dict[str, Any]:
    if format not in FORMATS:
        raise UnknownFormat(f'no format "{format}": write {" or ".join(FORMATS)}')
    v2 = format == FORMAT_V2
    cycles = Cycle.objects.order_by("id")
    if cycle_key is not None:
        cycles = cycles.filter(key=cycle_key)
        if not cycles.exists():
            raise UnknownCycle(f'no cycle with key "{cycle_key}"')
    cycle_ids = list(cycles.values_list("id", flat=True))

    squads = list(
        Squad.objects.filter(cycle_id__in=cycle_ids)
        .order_by("id")
        .select_related("cycle", "dri", "plan")
        .prefetch_related(
            Prefetch(
                "memberships",
                queryset=Membership.objects.order_by("id").select_related("person"),
            ),
            Prefetch(
                "squadstage_set",
                queryset=SquadStage.objects.order_by("id").select_related("stage__journey"),
            ),
            Prefetch(
                "okrs",
                queryset=OKR.objects.order_by("id").prefetch_related(
                    "key_results",
                    Prefetch(
                        "goal_links",
                        queryset=ObjectiveGoal.objects.filter(goal__removal__isnull=True)
                        .order_by("id")
                        .select_related("goal"),
                    ),
                ),
            ),
            Prefetch(
                "initiatives",
                queryset=Initiative.objects.order_by("id")
                .select_related("stage__journey", "segment")
                .prefetch_related(
                    Prefetch(
                        "milestone_links",
                        queryset=InitiativeMilestone.objects.order_by("id").select_related(
                            "milestone__segment"
                        ),
                    )
                ),
            ),
        )
    )
    dependencies = list(
        Dependency.objects.filter(
            Q(from_squad__cycle_id__in=cycle_ids)
            | Q(from_initiative__squad__cycle_id__in=cycle_ids)
        )
        .order_by("id")
        .select_related(
            "from_squad", "from_initiative__squad", "to_squad", "to_initiative__squad", "owner"
        )
    )

    people_filter = Q(user__isnull=False)
    if cycle_key is not None:
        people_filter = (
            Q(user__memberships__squad__cycle_id__in=cycle_ids)
            | Q(user__squads_led__cycle_id__in=cycle_ids)
            | Q(user__dependencies_owned__in=[d.pk for d in dependencies])
        )
        if v2:
            # Who the company's goals and the segments' outcomes name, as they travel too.
            people_filter |= Q(
                user__owned_goals__isnull=False, user__owned_goals__removal__isnull=True
            ) | Q(user__owned_segment_outcomes__isnull=False)
    profiles = (
        Profile.objects.filter(people_filter).distinct().select_related("user").order_by("user_id")
    )

    if not v2:
        return {
            "format": FORMAT_V1,
            "cycles": [_cycle(c) for c in cycles],
            "people": [_person(p) for p in profiles],
            "capacity": _capacity(cycle_ids),
            "segments": [_segment(s) for s in Segment.objects.order_by("id")],
            "journeys": [_journey(j, None) for j in _journeys()],
            "squads": [_squad(s, v2=False) for s in squads],
            "dependencies": [_dependency(d) for d in dependencies],
        }
    squad_keys = {s.key for s in squads}
    return {
        "format": FORMAT_V2,
        "cycles": [_cycle(c) for c in cycles],
        "people": [_person(p) for p in profiles],
        "capacity": _capacity(cycle_ids),
        "segments": [_segment_v2(s) for s in _segments()],
        "goals": [_goal(g) for g in _goals()],
        "journeys": [_journey(j, squad_keys) for j in _journeys(v2=True)],
        "squads": [_squad(s, v2=True) for s in squads],
        "dependencies": [_dependency(d) for d in dependencies],
        "milestone_readings": [_reading(r) for r in _readings()],
    }


def _capacity(cycle_ids: list[int]) -> list[dict[str, Any]]:
    return [
        {"function": c.function, "cycle": c.cycle.key, "headcount": format_number(c.headcount)}
        for c in Capacity.objects.filter(cycle_id__in=cycle_ids)
        .select_related("cycle")
        .order_by("id")
    ]


def _segment(s: Segment) -> dict[str, Any]:
    return _compact(
        {"key": s.key, "name": s.name, "description": s.description, "priority": s.priority}
    )


def _segments():
    milestones = Milestone.objects.order_by("expected_day", "position", "id").select_related(
        "moment__stage__journey"
    )
    return (
        Segment.objects.order_by("id")
        .select_related("success_owner")
        .prefetch_related(Prefetch("milestones", queryset=milestones))
    )


def _segment_v2(s: Segment) -> dict[str, Any]:
    data = _segment(s)
    success = _compact(
        {
            "metric": s.success_metric,
            "threshold": _number(s.success_threshold),
            "unit": s.success_unit,
            "within_days": s.success_within_days,
            "owner": s.success_owner.username if s.success_owner else None,
        }
    )
    if success:
        data["success"] = success
    if s.milestone_feed_url:
        data["milestone_feed_url"] = s.milestone_feed_url
    milestones = [_milestone(m) for m in s.milestones.all()]
    if milestones:
        data["milestones"] = milestones
    return data


def _live_moment(moment: Moment | None) -> bool:
    return (
        moment is not None
        and moment.stage.removal_id is None
        and moment.stage.journey.removal_id is None
    )


def _milestone(m: Milestone) -> dict[str, Any]:
    data = _compact(
        {
            "key": m.key,
            "name": m.name,
            "description": m.description,
            "expected_day": m.expected_day,
            # A moment of a removed stage is left out, as the stage is.
            "moment": m.moment.ref if _live_moment(m.moment) else None,
        }
    )
    if m.success:
        data["success"] = True
    return data


def _goals():
    return (
        Goal.objects.order_by("position", "id")
        .select_related("owner")
        .prefetch_related(Prefetch("segments", queryset=Segment.objects.order_by("id")))
    )


def _goal(goal: Goal) -> dict[str, Any]:
    return _compact(
        {
            "key": goal.key,
            "name": goal.name,
            "description": goal.description,
            "customer_success": goal.customer_success,
            "starts_year": goal.starts_year,
            "ends_year": goal.ends_year,
            "owner": goal.owner.username if goal.owner else None,
            # Ordered by segment, as the goal's segments are a set.
            "segments": [segment.key for segment in goal.segments.all()],
        }
    )


def _readings():
    return MilestoneReading.objects.select_related("milestone__segment").order_by(
        "milestone__segment_id",
        "milestone__expected_day",
        "milestone__position",
        "milestone_id",
        "measured_on",
    )


def _reading(r: MilestoneReading) -> dict[str, Any]:
    data = _compact(
        {
            "milestone": r.milestone.ref,
            "measured_on": r.measured_on.isoformat(),
            "actual_days": _number(r.actual_days),
            "completion_rate": _number(r.completion_rate),
            "customers": r.customers,
            "note": r.note,
        }
    )
    data["source"] = r.source
    return data


def left_out_of_v1() -> list[str]:
    """What the stored plans hold that planning-file/1 cannot carry, as "3 goals"."""
    counts = [
        (Goal.objects.count(), "goal", "goals"),
        (
            Segment.objects.exclude(success_metric="", success_threshold__isnull=True).count(),
            "segment's success outcome",
            "segments' success outcomes",
        ),
        (Milestone.objects.count(), "milestone", "milestones"),
        (MilestoneReading.objects.count(), "milestone reading", "milestone readings"),
        (
            Stage.objects.filter(
                Q(value_today__isnull=False) | Q(value_target__isnull=False) | Q(expansion=True)
            ).count(),
            "stage's value states or expansion mark",
            "stages' value states or expansion marks",
        ),
        (
            Moment.objects.filter(
                Q(value_today__isnull=False) | Q(value_target__isnull=False)
            ).count(),
            "moment's value states",
            "moments' value states",
        ),
        (Touchpoint.objects.count(), "touchpoint", "touchpoints"),
        (ObjectiveGoal.objects.count(), "objective's goal", "objectives' goals"),
        (
            InitiativeMilestone.objects.count(),
            "milestone an initiative serves",
            "milestones initiatives serve",
        ),
    ]
    return [f"{n} {one if n == 1 else many}" for n, one, many in counts if n]


def _journeys(*, v2: bool = False):
    moments = Moment.objects.order_by("position", "id")
    if v2:
        moments = moments.prefetch_related(
            Prefetch(
                "touchpoints",
                queryset=Touchpoint.objects.order_by("position", "id").select_related(
                    "squad", "segment"
                ),
            )
        )
    return Journey.objects.order_by("id").prefetch_related(
        Prefetch(
            "journeysegment_set",
            queryset=JourneySegment.objects.order_by("id").select_related("segment"),
        ),
        Prefetch(
            "stages",
            queryset=Stage.objects.order_by("position", "id").prefetch_related(
                Prefetch("moments", queryset=moments)
            ),
        ),
    )


def _compact(data: dict[str, Any]) -> dict[str, Any]:
    """Leave out optional values that are empty, as a person writing the file would."""
    return {k: v for k, v in data.items() if v not in (None, "", [])}


def _cycle(cycle: Cycle) -> dict[str, Any]:
    return {
        "key": cycle.key,
        "name": cycle.name,
        "starts": cycle.starts.isoformat(),
        "ends": cycle.ends.isoformat(),
    }


def _person(profile: Profile) -> dict[str, Any]:
    return _compact(
        {
            "username": profile.user.username,
            "name": profile.display_name,
            "email": profile.user.email,
            "title": profile.title,
            "function": profile.function,
        }
    )


def _journey(journey: Journey, squad_keys: set[str] | None) -> dict[str, Any]:
    """squad_keys: None for planning-file/1; else the squads exported (planning-file/2)."""
    data = {"key": journey.key, "name": journey.name}
    if journey.description:
        data["description"] = journey.description
    data["segments"] = [link.segment.key for link in journey.journeysegment_set.all()]
    data["stages"] = [_stage(stage, squad_keys) for stage in journey.stages.all()]
    return data


def _stage(stage: Stage, squad_keys: set[str] | None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "key": stage.key,
        "name": stage.name,
        "customer_goal": stage.customer_goal,
        "today": stage.today,
        "tomorrow": stage.tomorrow,
        "emotion_today": stage.emotion_today,
        "emotion_target": stage.emotion_target,
    }
    if squad_keys is None:
        moments = [
            _compact({"when": m.when, "today": m.today, "tomorrow": m.tomorrow})
            for m in stage.moments.all()
        ]
    else:
        data.update(
            _compact(
                {
                    "value_today": value_word(stage.value_today),
                    "value_target": value_word(stage.value_target),
                }
            )
        )
        if stage.expansion:
            data["expansion"] = True
        moments = [_moment(m, squad_keys) for m in stage.moments.all()]
    if moments:
        data["moments"] = moments
    return data


def _moment(m: Moment, squad_keys: set[str]) -> dict[str, Any]:
    data = _compact(
        {
            "key": m.key,
            "when": m.when,
            "today": m.today,
            "tomorrow": m.tomorrow,
            "value_today": value_word(m.value_today),
            "value_target": value_word(m.value_target),
        }
    )
    points = [p for p in (_touchpoint(t, squad_keys) for t in m.touchpoints.all()) if p]
    if points:
        data["touchpoints"] = points
    return data


def _touchpoint(t: Touchpoint, squad_keys: set[str]) -> dict[str, Any] | None:
    # A squad that is not in the export (removed, or of another cycle than the one exported)
    # is left out; so is a touchpoint that had no other speaker.
    squad = t.squad.key if t.squad is not None and t.squad.key in squad_keys else None
    if not squad and not t.function:
        return None
    return _compact(
        {
            "channel": t.channel,
            "function": t.function,
            "squad": squad,
            "segment": t.segment.key if t.segment else None,
            "message": t.message,
        }
    )


def _number(value) -> int | float | None:
    return None if value is None else format_number(value)


def _squad(squad: Squad, *, v2: bool) -> dict[str, Any]:
    data: dict[str, Any] = {
        "key": squad.key,
        "name": squad.name,
        "cycle": squad.cycle.key,
        "dri": squad.dri.username,
        "members": [
            {"person": m.person.username, "function": m.function} for m in squad.memberships.all()
        ],
        "stages": [
            f"{link.stage.journey.key}/{link.stage.key}" for link in squad.squadstage_set.all()
        ],
    }
    okr = next((o for o in squad.okrs.all() if o.cycle_id == squad.cycle_id), None)
    if okr is not None:
        data["okr"] = {
            "objective": okr.objective,
            "key_results": [
                {
                    "key": kr.key,
                    "name": kr.name,
                    "unit": kr.unit,
                    "baseline": _number(kr.baseline),
                    "target": _number(kr.target),
                    **({"current": _number(kr.current)} if kr.current is not None else {}),
                    "direction": kr.direction,
                }
                for kr in okr.key_results.all()
            ],
        }
        goals = [link.goal.key for link in okr.goal_links.all()] if v2 else []
        if goals:
            data["okr"]["goals"] = goals
    plan = _plan_of(squad)
    data["plan"] = {
        "current_experience": plan.current_experience if plan else "",
        "desired_experience": plan.desired_experience if plan else "",
        "success_metrics": plan.success_metrics if plan else "",
        "not_doing": list(plan.not_doing) if plan else [],
    }
    data["initiatives"] = [_initiative(i, v2=v2) for i in squad.initiatives.all()]
    return data


def _plan_of(squad: Squad) -> Plan | None:
    try:
        return squad.plan
    except Plan.DoesNotExist:
        return None


def _initiative(init: Initiative, *, v2: bool) -> dict[str, Any]:
    data: dict[str, Any] = {
        "key": init.key,
        "title": init.title,
        "description": init.description,
        "function": init.function,
    }
    if init.stage is not None:
        data["stage"] = f"{init.stage.journey.key}/{init.stage.key}"
    if init.segment is not None:
        data["segment"] = init.segment.key
    data.update(
        {
            "starts": init.starts.isoformat(),
            "ends": init.ends.isoformat(),
            "headcount": format_number(init.headcount),
            "status": init.status,
        }
    )
    if init.has_impact:
        data["impact"] = {
            "team": init.impact_team,
            "business": init.impact_business,
            "customer": init.impact_customer,
        }
    if init.counter_measure:
        data["counter_measure"] = init.counter_measure
    milestones = [link.milestone.ref for link in init.milestone_links.all()] if v2 else []
    if milestones:
        data["milestones"] = milestones
    return data


def _party(squad: Squad | None, initiative: Initiative | None) -> str:
    if initiative is not None:
        return f"{initiative.squad.key}/{initiative.key}"
    return squad.key


def _dependency(dep: Dependency) -> dict[str, Any]:
    data: dict[str, Any] = {"key": dep.key, "from": _party(dep.from_squad, dep.from_initiative)}
    if dep.to_function:
        data["to_function"] = dep.to_function
    else:
        data["to"] = _party(dep.to_squad, dep.to_initiative)
    data.update(
        {
            "what": dep.what,
            "due": dep.due.isoformat(),
            "blocking": dep.blocking,
            "status": dep.status,
        }
    )
    if dep.owner is not None:
        data["owner"] = dep.owner.username
    if dep.note:
        data["note"] = dep.note
    return data
