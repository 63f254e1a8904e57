"""The reads behind the journey map's risk: five queries, whatever the size of the journey.

One reads the initiatives aimed at the stages, one those serving a milestone tied to a
moment, one the blocking dependencies those initiatives need that are not done, one the
live findings naming any of it, one the latest confidence of each key result of the
covering squads. Initiatives are only those whose plans the person may read
(core.access.readable_initiatives), so nothing on the map comes from a draft kept from them.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from django.db import connection
from django.db.models import OuterRef, Subquery

from core import access
from core.models import Cycle
from dependencies.models import Dependency
from planning.models import Finding
from squads.models import CheckIn, Initiative, InitiativeMilestone, KeyResult

# Bounded work per request: at most this many rows of each kind on one map.
ROWS_MAX = 1000
LIVE_STATES = (Finding.State.OPEN, Finding.State.ACKNOWLEDGED)


@dataclass
class RiskRows:
    """What the risk of a journey's stages and moments is made of, as read."""

    by_stage: dict[int, list[Initiative]] = field(default_factory=lambda: defaultdict(list))
    by_moment: dict[int, list[Initiative]] = field(default_factory=lambda: defaultdict(list))
    # Blocking, not done, by the id of the initiative that needs them.
    needs: dict[int, list[Dependency]] = field(default_factory=lambda: defaultdict(list))
    findings: list[Finding] = field(default_factory=list)
    # The latest confidence of each key result of a covering squad, by squad id.
    confidence: dict[int, list[KeyResult]] = field(default_factory=lambda: defaultdict(list))


def _readable_of_cycle(actor: access.Actor, cycle: Cycle):
    initiatives = (
        Initiative.objects.filter(squad__cycle=cycle, squad__removal__isnull=True)
        .exclude(status=Initiative.Status.DROPPED)
        .select_related("squad")
    )
    return access.readable_initiatives(actor, initiatives)


def risk_rows(actor: access.Actor, cycle: Cycle | None, stages: list) -> RiskRows:
    rows = RiskRows()
    if cycle is None or not stages:
        return rows
    stage_ids = [stage.pk for stage in stages]
    moments = [moment for stage in stages for moment in stage.moments.all()]
    squad_ids = {squad.pk for stage in stages for squad in stage.cycle_squads}

    readable = _readable_of_cycle(actor, cycle)
    initiatives: dict[int, Initiative] = {}
    for initiative in readable.filter(stage_id__in=stage_ids).order_by(
        "squad__name", "title", "id"
    )[:ROWS_MAX]:
        rows.by_stage[initiative.stage_id].append(initiative)
        initiatives[initiative.pk] = initiative
    if moments:
        links = (
            InitiativeMilestone.objects.filter(
                milestone__moment_id__in=[m.pk for m in moments],
                initiative_id__in=readable.values("pk"),
            )
            .select_related("initiative__squad", "milestone")
            .order_by("initiative__squad__name", "initiative__title", "id")[:ROWS_MAX]
        )
        for link in links:
            initiative = initiatives.setdefault(link.initiative_id, link.initiative)
            served = rows.by_moment[link.milestone.moment_id]
            if initiative not in served:
                served.append(initiative)

    deps = []
    if initiatives:
        deps = list(
            Dependency.objects.filter(blocking=True, from_initiative_id__in=list(initiatives))
            .exclude(status=Dependency.Status.DONE)
            .select_related("to_squad", "to_initiative__squad")
            .order_by("due", "id")[:ROWS_MAX]
        )
        for dep in deps:
            rows.needs[dep.from_initiative_id].append(dep)

    refs = [f"stage:{stage.ref}" for stage in stages]
    refs += [f"moment:{moment.ref}" for moment in moments]
    refs += [f"initiative:{i.ref}" for i in initiatives.values()]
    refs += [f"dependency:{dep.key}" for dep in deps]
    live = Finding.objects.filter(cycle=cycle, state__in=LIVE_STATES)
    if connection.vendor == "postgresql":
        # jsonb's ?| : any of the references is an element of the subjects.
        rows.findings = list(live.filter(subjects__has_any_keys=refs).order_by("id")[:ROWS_MAX])
    else:
        wanted = set(refs)
        rows.findings = [f for f in live.order_by("id") if wanted & set(f.subjects or ())][
            :ROWS_MAX
        ]

    if squad_ids:
        latest = CheckIn.objects.filter(key_result=OuterRef("pk")).order_by("-created_at", "-id")
        krs = (
            KeyResult.objects.filter(okr__squad_id__in=squad_ids)
            .annotate(confidence=Subquery(latest.values("confidence")[:1]))
            .filter(confidence__isnull=False)
            .select_related("okr__squad")
            .order_by("confidence", "name", "id")[:ROWS_MAX]
        )
        for kr in krs:
            rows.confidence[kr.okr.squad_id].append(kr)
    return rows
