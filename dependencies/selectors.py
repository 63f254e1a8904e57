"""What the board, the graph and the dependency forms read: each a query or two, here.

Every list is scoped and counted in the database; the callers shape the results for a page
(dependencies.presenters) or a picture (dependencies.graph).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from django.db.models import Count, F, Q
from django.utils import timezone

from core.drift import Drift, Item, compare
from core.models import Cycle
from dependencies.models import OPEN_STATUSES, BoardFilters, Dependency, DependencyQuerySet
from journeys.models import Stage
from squads.models import Initiative, Squad

if TYPE_CHECKING:
    from core import access


# ---------------------------------------------------------------------------------------
# The board
# ---------------------------------------------------------------------------------------


def filter_choices(cycle: Cycle | None) -> tuple[list[Squad], list[str], list[Stage]]:
    """What the board's filters offer: the cycle's squads, the functions its dependencies
    are asked of, and every journey stage."""
    squads = list(
        Squad.objects.filter(cycle=cycle).order_by("name", "id").only("pk", "key", "name")
        if cycle
        else Squad.objects.none()
    )
    functions = list(
        Dependency.objects.filtered(BoardFilters(today=timezone.localdate(), cycle_id=cycle.pk))
        .exclude(to_function="")
        .order_by("to_function")
        .values_list("to_function", flat=True)
        .distinct()
        if cycle
        else []
    )
    stages = list(Stage.objects.select_related("journey").order_by("journey__name", "position"))
    return squads, functions, stages


def board_ordered(filters: BoardFilters, group: str) -> DependencyQuerySet:
    """The board's dependencies in its order for a grouping: by provider, by due month, or
    by due date."""
    qs = Dependency.objects.filtered(filters)
    if group == "provider":
        return qs.by_provider()
    if group == "month":
        return qs.by_month()
    return qs.order_by("due", "id")


def board_rows(page_ids: list[int], today: dt.date) -> list[Dependency]:
    """One page of the board, in its order, each row loaded with everything it shows."""
    # The filters already chose the rows; these only bring their parties along.
    loaded = Dependency.objects.for_board(BoardFilters(today=today)).in_bulk(page_ids)
    return [loaded[pk] for pk in page_ids if pk in loaded]


def continues_group(
    ordered: DependencyQuerySet, offset: int, group: str, first: Dependency | None
) -> bool:
    """Whether the first row of this page belongs to the last group of the page before."""
    if offset == 0 or first is None:
        return False
    before = ordered.values("provider_id", "to_function", "due")[offset - 1 : offset].first()
    if before is None:
        return False
    if group == "provider":
        return (before["provider_id"], before["to_function"]) == (
            first.provider_id,
            first.to_function,
        )
    if group == "month":
        return before["due"].replace(day=1) == first.due.replace(day=1)
    return False


def provider_counts(
    base: DependencyQuerySet, today: dt.date, squad_ids: list[int], functions: list[str]
) -> dict[tuple[int | None, str], dict]:
    """The board's counts for each providing squad or function named, by (squad id, function)."""
    counts = base.counts(today, "provider_id", "to_function").filter(
        Q(provider_id__in=squad_ids) | Q(to_function__in=functions)
    )
    return {(c["provider_id"], c["to_function"]): c for c in counts}


def month_counts(
    base: DependencyQuerySet, today: dt.date, first: dt.date, last: dt.date
) -> dict[dt.date, dict]:
    """The board's counts for each month due from `first` to `last`, by the month's first day."""
    counts = base.by_month().counts(today, "month").filter(month__gte=first, month__lte=last)
    return {_as_date(c["month"]): c for c in counts}


def _as_date(value) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value


def dependency_for_board(key: str) -> Dependency | None:
    """One dependency with everything its board row shows."""
    filters = BoardFilters(today=timezone.localdate())
    return Dependency.objects.for_board(filters).filter(key=key).first()


# ---------------------------------------------------------------------------------------
# Drift since commit (docs/season.md)
# ---------------------------------------------------------------------------------------


def _baseline_models():
    """The baseline kept when a cycle is committed and its dependency rows. Planning keeps
    them (planning.models), a layer above this one: reached through the relation it
    declares on cycles, never by importing it."""
    baseline = Cycle._meta.get_field("baselines").related_model
    return baseline, baseline._meta.get_field("dependencies").related_model


def latest_baseline(cycle: Cycle | None):
    """The baseline of the cycle's latest commit, with who took it; None before any."""
    if cycle is None:
        return None
    baseline, _ = _baseline_models()
    return (
        baseline.objects.filter(cycle=cycle)
        .select_related("taken_by__profile")
        .order_by("-taken_at", "-id")
        .first()
    )


def dependency_drift(cycle: Cycle, baseline, *, squad: Squad | None = None) -> Drift:
    """The cycle's dependencies (or those `squad` needs) against the baseline: added,
    dropped (declined, or gone from the board) and due dates moved. Two queries."""
    _, rows = _baseline_models()
    before = rows.objects.filter(baseline=baseline)
    now = Dependency.objects.filtered(
        BoardFilters(today=timezone.localdate(), cycle_id=cycle.pk)
    ).annotate(needer_key=F("needer__key"))
    if squad is not None:
        before = before.filter(needer=squad.key)
        now = now.filter(needer_id=squad.pk)
    declined = Dependency.Status.DECLINED
    return compare(
        (
            Item(ref=key, name=what, dates=(due,), out=status == declined, group=needer)
            for key, what, due, status, needer in before.order_by("id").values_list(
                "key", "what", "due", "status", "needer"
            )
        ),
        (
            Item(ref=key, name=what, dates=(due,), out=status == declined, group=needer)
            for key, what, due, status, needer in now.order_by("id").values_list(
                "key", "what", "due", "status", "needer_key"
            )
        ),
    )


# ---------------------------------------------------------------------------------------
# Recording a dependency
# ---------------------------------------------------------------------------------------


def creatable_squads(actor: access.Actor, cycle: Cycle | None) -> list[Squad]:
    """The squads this person may record a need for: their own, or all for operations."""
    squads = Squad.objects.order_by("name", "id")
    squads = squads.filter(cycle=cycle) if cycle else squads.none()
    if not actor.is_operations:
        squads = squads.filter(pk__in=actor.member_of)
    return list(squads)


def cycle_squads(cycle: Cycle | None) -> list[Squad]:
    return list(Squad.objects.filter(cycle=cycle).order_by("name", "id"))


def cycle_initiatives(cycle: Cycle | None) -> list[Initiative]:
    return list(
        Initiative.objects.filter(squad__cycle=cycle)
        .select_related("squad")
        .order_by("squad__name", "squad_id", "title", "id")
    )


# ---------------------------------------------------------------------------------------
# The graph
# ---------------------------------------------------------------------------------------


def graph_rows(filters: BoardFilters, kind: str, today: dt.date) -> list[dict]:
    """Blocking dependencies counted per pair of parties: between squads (`kind` "squads":
    needer_id, provider_id, to_function) or between squads and initiatives (from_/to_ ids)."""
    measures = {
        "n": Count("pk"),
        "overdue": Count("pk", filter=Q(status__in=OPEN_STATUSES, due__lt=today)),
        "at_risk": Count("pk", filter=Q(status="at_risk")),
    }
    base = Dependency.objects.filtered(filters).filter(blocking=True).order_by()
    if kind == "squads":
        return list(base.values("needer_id", "provider_id", "to_function").annotate(**measures))
    return list(
        base.values(
            "from_squad_id", "from_initiative_id", "to_squad_id", "to_initiative_id", "to_function"
        ).annotate(**measures)
    )


def graph_parties(
    squad_ids: set[int], initiative_ids: set[int]
) -> tuple[dict[int, Squad], dict[int, Initiative]]:
    """The squads and initiatives a graph draws, by id (an initiative with its squad)."""
    initiatives = {
        i.pk: i for i in Initiative.objects.filter(pk__in=initiative_ids).select_related("squad")
    }
    squads = {s.pk: s for s in Squad.objects.filter(pk__in=squad_ids).only("pk", "key", "name")}
    return squads, initiatives
