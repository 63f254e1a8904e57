"""Which customer segments a squad serves, with their success outcomes, for the squad page
and the plan page: those its live, not-dropped initiatives aim at, and those of the journeys
whose stages it covers."""

from __future__ import annotations

from django.db.models import F, Q
from django.urls import reverse

from journeys.models import JourneySegment, Segment
from journeys.outcomes import outcome_sentence
from squads.models import Initiative, Squad


def served_segments(squad: Squad) -> list[Segment]:
    """The segments `squad` serves in its cycle, the ones that matter most first, each with
    `outcome` (its sentence, "" when none is set) and `milestones_url`; one query."""
    aimed_at = (
        Initiative.objects.filter(squad=squad, segment__isnull=False)
        .exclude(status=Initiative.Status.DROPPED)
        .values("segment_id")
    )
    journeys = JourneySegment.objects.filter(
        journey__removal__isnull=True,
        journey__stages__removal__isnull=True,
        journey__stages__squads=squad,
    ).values("segment_id")
    segments = list(
        Segment.objects.filter(Q(pk__in=aimed_at) | Q(pk__in=journeys))
        .select_related("success_owner__profile")
        .order_by(F("priority").asc(nulls_last=True), "name", "id")
    )
    for segment in segments:
        segment.outcome = outcome_sentence(segment)
        segment.milestones_url = reverse("journeys:milestones", args=[segment.key])
    return segments
