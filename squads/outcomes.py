"""Squads and customer outcomes: which segments a squad serves, with their success
outcomes, for the squad page and the plan page (those its live, not-dropped initiatives aim
at, and those of the journeys whose stages it covers); and which milestones of a segment's
time-to-value map an initiative serves, written with the initiative (squads.services)."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import F, Q
from django.urls import reverse

from journeys.models import JourneySegment, Milestone, Segment
from journeys.outcomes import outcome_sentence
from squads.models import Initiative, InitiativeMilestone, Squad


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


def milestones_problem(segment: Segment | None, milestones: Iterable[Milestone]) -> str:
    """Why an initiative aimed at `segment` cannot serve `milestones`; "" when it can."""
    if segment is None:
        return ""
    others = sorted({m.segment.name for m in milestones if m.segment_id != segment.pk})
    if others:
        return (
            f"Choose milestones of {segment.name}, the initiative's segment, not of "
            f"{', '.join(others)}; or aim it at all segments."
        )
    return ""


def initiative_milestones_set(*, initiative: Initiative, milestones: Iterable[Milestone]) -> None:
    """Make the initiative serve exactly `milestones`: links made and removed one by one, so
    the review and the plan's stamp hear of each (planning/changes.py). Call it inside the
    initiative's own save transaction."""
    wanted = {m.pk for m in milestones}
    links = list(InitiativeMilestone.objects.filter(initiative=initiative))
    have = {link.milestone_id for link in links}
    for link in links:
        if link.milestone_id not in wanted:
            link.delete()
    for milestone_id in sorted(wanted - have):
        InitiativeMilestone.objects.create(initiative=initiative, milestone_id=milestone_id)
