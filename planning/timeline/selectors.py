"""The timeline's reads: a fixed number of queries whatever the size of the organisation.

One query counts every group the filters select (how many initiatives, first start, last
end), one loads the initiatives drawn on the page (at most OPEN_MAX of the opened group and
at most COLLAPSE_OVER of each other group), one the open dependencies that touch them (at
most NEEDS_MAX); and the filters' choices.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, F, Max, Min, Q, QuerySet, Window
from django.db.models.functions import Coalesce, RowNumber

from core import access
from core.models import Cycle
from dependencies.models import Dependency
from journeys.models import Segment, Stage
from squads.models import Initiative, Squad

GROUPINGS = [("squad", "Squad"), ("stage", "Journey stage")]
NO_STAGE = "none"
# A group of more initiatives than this is one summary row until it is opened.
COLLAPSE_OVER = 12
# An opened group draws at most this many of its initiatives, the earliest first.
OPEN_MAX = 200
# The open dependencies drawn on one page at most, blocking and soonest due first.
NEEDS_MAX = 1000


@dataclass(frozen=True)
class TimelineFilters:
    """What the timeline shows, resolved to ids: see TimelineFilterForm."""

    cycle_id: int
    # Squads whose plans this person may not read (core.access.unreadable_plans).
    hidden: frozenset[int] = frozenset()
    squad_id: int | None = None
    stage_id: int | None = None
    no_stage: bool = False
    function: str = ""
    segment_id: int | None = None


def hidden_squads(actor: access.Actor, cycle: Cycle | None) -> list[tuple[int, str]]:
    """(id, name) of the cycle's squads whose plans are drafts kept from this person."""
    if cycle is None or not cycle.restrict_drafts:
        return []
    squads = access.unreadable_plans(actor, Squad.objects.filter(cycle=cycle))
    return list(squads.order_by("name", "id").values_list("id", "name"))


def choices(
    cycle: Cycle, hidden: frozenset[int]
) -> tuple[list[Squad], list[Stage], list[str], list[Segment]]:
    """What the filters offer: the cycle's squads, every journey stage, the functions that
    build the initiatives this person may read, and every segment."""
    squads = list(Squad.objects.filter(cycle=cycle).order_by("name", "id").only("key", "name"))
    stages = list(
        Stage.objects.select_related("journey")
        .order_by("journey__name", "position", "id")
        .only("key", "name", "journey__key", "journey__name")
    )
    functions = list(
        readable(TimelineFilters(cycle_id=cycle.pk, hidden=hidden))
        .order_by("function")
        .values_list("function", flat=True)
        .distinct()
    )
    segments = list(Segment.objects.order_by("name", "id").only("key", "name"))
    return squads, stages, functions, segments


def readable(filters: TimelineFilters) -> QuerySet[Initiative]:
    """The cycle's initiatives this person may read."""
    qs = Initiative.objects.filter(squad__cycle_id=filters.cycle_id)
    if filters.hidden:
        qs = qs.exclude(squad_id__in=filters.hidden)
    return qs


def selected(filters: TimelineFilters) -> QuerySet[Initiative]:
    """The initiatives the filters select."""
    qs = readable(filters)
    if filters.squad_id is not None:
        qs = qs.filter(squad_id=filters.squad_id)
    if filters.no_stage:
        qs = qs.filter(stage__isnull=True)
    elif filters.stage_id is not None:
        qs = qs.filter(stage_id=filters.stage_id)
    if filters.function:
        qs = qs.filter(function=filters.function)
    if filters.segment_id is not None:
        qs = qs.filter(segment_id=filters.segment_id)
    return qs


def _group_field(grouping: str) -> str:
    return "squad_id" if grouping == "squad" else "stage_id"


def group_counts(qs: QuerySet[Initiative], grouping: str) -> list[dict]:
    """Every group the filters select, in the timeline's order, each with `n` initiatives
    from `first` (the earliest start) to `last` (the latest end): one query."""
    measures = {"n": Count("id"), "first": Min("starts"), "last": Max("ends")}
    if grouping == "squad":
        return list(
            qs.values("squad_id", "squad__key", "squad__name")
            .annotate(**measures)
            .order_by("squad__name", "squad_id")
        )
    return list(
        qs.values(
            "stage_id",
            "stage__key",
            "stage__name",
            "stage__position",
            "stage__journey__key",
            "stage__journey__name",
        )
        .annotate(**measures)
        .order_by(
            F("stage__journey__name").asc(nulls_last=True),
            "stage__position",
            F("stage_id").asc(nulls_last=True),
        )
    )


def page_items(
    qs: QuerySet[Initiative], grouping: str, groups: list[int | None], *, limit: int = OPEN_MAX
) -> list[dict]:
    """The initiatives drawn on a page: the first `limit` of each of `groups` (squad or stage
    ids; None for the initiatives without a stage), each group's earliest first: one query."""
    if not groups:
        return []
    field = _group_field(grouping)
    which = Q(**{f"{field}__in": [pk for pk in groups if pk is not None]})
    if None in groups:
        which |= Q(**{f"{field}__isnull": True})
    return list(
        qs.filter(which)
        .annotate(
            place=Window(
                RowNumber(),
                partition_by=[F(field)],
                order_by=[F("starts").asc(), F("ends").asc(), F("id").asc()],
            )
        )
        .filter(place__lte=limit)
        .values(
            "id",
            "key",
            "title",
            "function",
            "starts",
            "ends",
            "status",
            "squad_id",
            "squad__key",
            "squad__name",
            "stage_id",
            "stage__name",
            "stage__journey__name",
            "segment__name",
        )
        .order_by("starts", "ends", "id")
    )


def needs_touching(
    item_ids: list[int], squad_ids: list[int], hidden: frozenset[int], *, limit: int = NEEDS_MAX
) -> list[dict]:
    """The open dependencies needed or provided by these initiatives, or by these squads as a
    whole: blocking first, then the soonest due; one query. The providing initiative's end
    is left out where its plan is kept from the person asking."""
    if not item_ids and not squad_ids:
        return []
    rows = list(
        Dependency.objects.open()
        .filter(
            Q(from_initiative_id__in=item_ids)
            | Q(to_initiative_id__in=item_ids)
            | Q(from_squad_id__in=squad_ids)
            | Q(to_squad_id__in=squad_ids)
        )
        .annotate(provider_name=Coalesce("provider__name", "to_function"))
        .order_by("-blocking", "due", "id")
        .values(
            "key",
            "what",
            "due",
            "blocking",
            "status",
            "provider_name",
            "from_initiative_id",
            "from_squad__key",
            "to_initiative_id",
            "to_squad__key",
            "to_initiative__ends",
            "to_initiative__squad_id",
        )[:limit]
    )
    for row in rows:
        if row["to_initiative__squad_id"] in hidden:
            row["to_initiative__ends"] = None
    return rows
