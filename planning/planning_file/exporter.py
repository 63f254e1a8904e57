"""Export stored plans as a planning file.

The order of every list is the order things were stored in (or their explicit position), so
that exporting, importing into an empty database and exporting again gives the same document.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Prefetch, Q

from core.models import Capacity, Cycle, Profile
from dependencies.models import Dependency
from journeys.models import Journey, JourneySegment, Moment, Segment, Stage
from planning.planning_file.importer import FORMAT
from planning.planning_file.reader import format_number
from squads.models import OKR, Initiative, Membership, Plan, Squad, SquadStage

User = get_user_model()


class UnknownCycle(LookupError):
    pass


def export_document(cycle_key: str | None = None) -> dict[str, Any]:
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
                queryset=OKR.objects.order_by("id").prefetch_related("key_results"),
            ),
            Prefetch(
                "initiatives",
                queryset=Initiative.objects.order_by("id").select_related(
                    "stage__journey", "segment"
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
    profiles = (
        Profile.objects.filter(people_filter).distinct().select_related("user").order_by("user_id")
    )

    return {
        "format": FORMAT,
        "cycles": [_cycle(c) for c in cycles],
        "people": [_person(p) for p in profiles],
        "capacity": [
            {"function": c.function, "cycle": c.cycle.key, "headcount": format_number(c.headcount)}
            for c in Capacity.objects.filter(cycle_id__in=cycle_ids)
            .select_related("cycle")
            .order_by("id")
        ],
        "segments": [
            _compact(
                {
                    "key": s.key,
                    "name": s.name,
                    "description": s.description,
                    "priority": s.priority,
                }
            )
            for s in Segment.objects.order_by("id")
        ],
        "journeys": [_journey(j) for j in _journeys()],
        "squads": [_squad(s) for s in squads],
        "dependencies": [_dependency(d) for d in dependencies],
    }


def _journeys():
    return Journey.objects.order_by("id").prefetch_related(
        Prefetch(
            "journeysegment_set",
            queryset=JourneySegment.objects.order_by("id").select_related("segment"),
        ),
        Prefetch(
            "stages",
            queryset=Stage.objects.order_by("position", "id").prefetch_related(
                Prefetch("moments", queryset=Moment.objects.order_by("position", "id"))
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


def _journey(journey: Journey) -> dict[str, Any]:
    data = {"key": journey.key, "name": journey.name}
    if journey.description:
        data["description"] = journey.description
    data["segments"] = [link.segment.key for link in journey.journeysegment_set.all()]
    data["stages"] = [_stage(stage) for stage in journey.stages.all()]
    return data


def _stage(stage: Stage) -> dict[str, Any]:
    data: dict[str, Any] = {
        "key": stage.key,
        "name": stage.name,
        "customer_goal": stage.customer_goal,
        "today": stage.today,
        "tomorrow": stage.tomorrow,
        "emotion_today": stage.emotion_today,
        "emotion_target": stage.emotion_target,
    }
    moments = [
        _compact({"when": m.when, "today": m.today, "tomorrow": m.tomorrow})
        for m in stage.moments.all()
    ]
    if moments:
        data["moments"] = moments
    return data


def _number(value) -> int | float | None:
    return None if value is None else format_number(value)


def _squad(squad: Squad) -> dict[str, Any]:
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
    plan = _plan_of(squad)
    data["plan"] = {
        "current_experience": plan.current_experience if plan else "",
        "desired_experience": plan.desired_experience if plan else "",
        "success_metrics": plan.success_metrics if plan else "",
        "not_doing": list(plan.not_doing) if plan else [],
    }
    data["initiatives"] = [_initiative(i) for i in squad.initiatives.all()]
    return data


def _plan_of(squad: Squad) -> Plan | None:
    try:
        return squad.plan
    except Plan.DoesNotExist:
        return None


def _initiative(init: Initiative) -> dict[str, Any]:
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
