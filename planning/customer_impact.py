"""Where the customer feels a dependency that is late or declined, read from the database for
the emails and notifications that speak of it outside the review.

The review words it from its snapshot (planning.review_outcomes.felt_by_customers); this
reads the same facts for a handful of dependencies and words them with the same functions,
so a finding, the daily digest and the dependency news say the same: the moments of the
milestones the needing initiative serves and their segments, else the stage it is aimed at
and its segment, and nothing while the company maps no milestone at all.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from journeys.models import Milestone
from planning.review_outcomes import customer_at_risk, milestone_order, place_of_milestone
from squads.models import Initiative, InitiativeMilestone


def felt_by_customers(dependencies: Iterable) -> dict[int, str]:
    """{dependency pk: "puts Week 2: Team live at risk for Mid-market SaaS teams"} for those
    of `dependencies` that an initiative needs and whose customers feel them; three queries
    at most, however many."""
    needer_of = {d.pk: d.from_initiative_id for d in dependencies if d.from_initiative_id}
    if not needer_of or not Milestone.objects.exists():
        return {}
    initiatives = set(needer_of.values())
    served: dict[int, list[tuple]] = defaultdict(list)
    for initiative_id, name, expected_day, segment, when, stage_gone, journey_gone in (
        InitiativeMilestone.objects.filter(initiative_id__in=initiatives)
        .order_by("id")
        .values_list(
            "initiative_id",
            "milestone__name",
            "milestone__expected_day",
            "milestone__segment__name",
            "milestone__moment__when",
            "milestone__moment__stage__removal",
            "milestone__moment__stage__journey__removal",
        )
    ):
        # A moment of a removed stage or journey is not on the map any more.
        shown = when if stage_gone is None and journey_gone is None else None
        served[initiative_id].append((milestone_order(expected_day, name), name, shown, segment))
    aimed = {
        pk: (stage, segment)
        for pk, stage, segment in Initiative.objects.filter(
            pk__in=initiatives, stage__removal__isnull=True
        ).values_list("pk", "stage__name", "segment__name")
        if stage
    }
    words: dict[int, str] = {}
    for dep_pk, initiative_id in needer_of.items():
        if served.get(initiative_id):
            milestones = sorted(served[initiative_id], key=lambda m: m[0])
            words[dep_pk] = customer_at_risk(
                [place_of_milestone(name, when) for _order, name, when, _s in milestones],
                [segment for *_rest, segment in milestones],
            )
        elif initiative_id in aimed:
            stage, segment = aimed[initiative_id]
            words[dep_pk] = customer_at_risk([stage], [segment] if segment else [])
    return {pk: text for pk, text in words.items() if text}
