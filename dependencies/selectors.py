"""What the board, the graph and the dependency forms read: each a query or two, here.

Every list is scoped and counted in the database; the callers shape the results for a page
(dependencies.presenters) or a picture (dependencies.graph).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass
from itertools import accumulate
from typing import TYPE_CHECKING

from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models import Case, Count, F, IntegerField, Q, Value, When
from django.utils import timezone

from core.drift import Drift, Item, compare
from core.models import Cycle
from dependencies.models import (
    OPEN_STATUSES,
    BoardFilters,
    Dependency,
    DependencyQuerySet,
    on_provider_side,
)
from journeys.models import Stage
from squads.models import Initiative, Squad

if TYPE_CHECKING:
    from core import access


# ---------------------------------------------------------------------------------------
# The board
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SquadChoice:
    """A squad as the board's filters offer it."""

    pk: int
    key: str
    name: str


def filter_choices(cycle: Cycle | None) -> tuple[list[SquadChoice], list[str], list[Stage]]:
    """What the board's filters offer: the cycle's squads, the functions its dependencies
    are asked of, and every journey stage."""
    # Two hundred squads, twice on every board: plain rows, not models.
    squads = [
        SquadChoice(*row)
        for row in (
            Squad.objects.filter(cycle=cycle)
            .order_by("name", "id")
            .values_list("pk", "key", "name")
            if cycle
            else []
        )
    ]
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


# What a board row shows, read as plain values: building a dependency's models with its
# squads, initiatives, stages and owner (a dozen joins) cost more than the query.
_ROW_VALUES = {
    "pk": "id",
    "key": "key",
    "what": "what",
    "note": "note",
    "blocking": "blocking",
    "due": "due",
    "status": "status",
    "status_reason": "status_reason",
    "to_function": "to_function",
    "owner_id": "owner_id",
    "needer_id": "needer_id",
    "provider_id": "provider_id",
    "needer_name": "needer__name",
    "needer_key": "needer__key",
    "provider_squad_name": "provider__name",
    "provider_squad_key": "provider__key",
    "provider_squad_removal": "provider__removal_id",
    "to_initiative_id": "to_initiative_id",
    "to_initiative_removal": "to_initiative__removal_id",
    "needer_initiative": "from_initiative__title",
    "provider_initiative": "to_initiative__title",
    "from_stage_id": "from_initiative__stage_id",
    "from_stage_name": "from_initiative__stage__name",
    "from_journey_key": "from_initiative__stage__journey__key",
    "from_journey_name": "from_initiative__stage__journey__name",
    "to_stage_id": "to_initiative__stage_id",
    "to_stage_name": "to_initiative__stage__name",
    "to_journey_key": "to_initiative__stage__journey__key",
    "to_journey_name": "to_initiative__stage__journey__name",
    "owner_username": "owner__username",
    "owner_display_name": "owner__profile__display_name",
}


class BoardRow:
    """A dependency as the board lists it: the values its row shows, with what the rule
    book (core.access) asks of a dependency, answered from them."""

    def __init__(self, values: tuple) -> None:
        self.__dict__.update(zip(_ROW_VALUES, values, strict=True))

    def needer_squad_id(self) -> int:
        return self.needer_id

    def provider_squad_id(self) -> int | None:
        return self.provider_id

    def provider_removed(self) -> bool:
        """As Dependency.provider_removed: the initiative or squad it is asked of removed."""
        if self.to_initiative_id and self.to_initiative_removal is not None:
            return True
        return self.provider_id is not None and self.provider_squad_removal is not None

    def is_provider_side(self, *, squad_ids: Collection[int], functions: Collection[str]) -> bool:
        return on_provider_side(
            provider_squad_id=self.provider_id,
            to_function=self.to_function,
            squad_ids=squad_ids,
            functions=functions,
            needer_squad_id=self.needer_id,
        )


def board_rows(page_ids: list[int]) -> list[BoardRow]:
    """One page of the board, in its order, each row with the values it shows."""
    loaded = {
        values[0]: BoardRow(values)
        for values in Dependency.objects.filter(pk__in=page_ids)
        .order_by()
        .values_list(*_ROW_VALUES.values())
    }
    return [loaded[pk] for pk in page_ids if pk in loaded]


def continues_group(
    ordered: DependencyQuerySet, offset: int, group: str, first: BoardRow | None
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


def provider_groups(base: DependencyQuerySet, today: dt.date) -> list[dict]:
    """Every group of the board by provider (a squad, or a function) in the board's order,
    each with its counts: one pass over the filtered rows, grouped by the stored provider.
    The summary, the number of pages, the groups' counts and which rows a page holds all
    follow from it (ProviderPages)."""
    # Grouped by the ids alone, so the database hashes the rows instead of sorting them by
    # name; the few groups are then named (their squad joined to the groups, not to every
    # row) and sorted by that name, in the database's collation.
    counted = base.counts(today, "provider_id", "to_function")
    try:
        counts, params = counted.query.sql_with_params()
    except EmptyResultSet:  # a filter that can match nothing
        return []
    # The database the queryset itself would read from: the replica, where the board reads
    # there (throughline/db_router.py).
    connection = connections[counted.db]
    squads = connection.ops.quote_name(Squad._meta.db_table)
    sql = (
        f"SELECT counts.*, COALESCE(squad.name, counts.to_function) AS provider_name"
        f" FROM ({counts}) counts LEFT JOIN {squads} squad ON squad.id = counts.provider_id"
        " ORDER BY provider_name, counts.provider_id, counts.to_function"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        columns = [column[0] for column in cursor.description]  # DB-API: the name first
        return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


class ProviderPages:
    """The board's rows grouped by provider, as a sequence of ids Django's Paginator can
    slice: a slice reads only the groups it falls in, by the provider index, in the board's
    order (the groups' order from provider_groups, then due date and id)."""

    def __init__(self, base: DependencyQuerySet, groups: list[dict]) -> None:
        self.base = base
        self.groups = groups
        self.starts = list(accumulate((g["total"] for g in groups), initial=0))

    def __len__(self) -> int:
        return self.starts[-1]

    def __getitem__(self, window: slice) -> list[int]:
        first = window.start or 0
        stop = len(self) if window.stop is None else min(window.stop, len(self))
        chosen = [
            (n, g)
            for n, g in enumerate(self.groups)
            if self.starts[n] < stop and self.starts[n + 1] > first
        ]
        if not chosen:
            return []
        skip = first - self.starts[chosen[0][0]]
        rank = Case(
            *(
                When(provider_id=g["provider_id"], to_function=g["to_function"], then=Value(n))
                for n, g in chosen
            ),
            output_field=IntegerField(),
        )
        which = Q()
        for _n, g in chosen:
            which |= Q(provider_id=g["provider_id"], to_function=g["to_function"])
        return list(
            self.base.filter(which)
            .annotate(rank=rank)
            .order_by("rank", "due", "id")
            .values_list("pk", flat=True)[skip : skip + stop - first]
        )

    def continues(self, offset: int) -> bool:
        """Whether the row at `offset` is inside a group, not at its start."""
        return 0 < offset < len(self) and offset not in self.starts

    def counts(self) -> dict[tuple[int | None, str], dict]:
        return {(g["provider_id"], g["to_function"]): g for g in self.groups}

    def summary(self) -> dict:
        measures = ("total", "overdue", "at_risk", "blocking", "requested")
        return {m: sum(g[m] for g in self.groups) for m in measures}


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


GRAPH_SQUAD_COLUMNS = ("needer_id", "provider_id", "to_function")
GRAPH_INITIATIVE_COLUMNS = (
    "from_squad_id",
    "from_initiative_id",
    "to_squad_id",
    "to_initiative_id",
    "to_function",
)


def graph_rows(filters: BoardFilters, kind: str, today: dt.date) -> list[tuple]:
    """Blocking dependencies counted per pair of parties, as tuples (thousands of them: no
    dicts): between squads (`kind` "squads": GRAPH_SQUAD_COLUMNS) or between squads and
    initiatives (GRAPH_INITIATIVE_COLUMNS), each followed by how many, how many overdue and
    how many at risk."""
    measures = {
        "n": Count("pk"),
        "overdue": Count("pk", filter=Q(status__in=OPEN_STATUSES, due__lt=today)),
        "at_risk": Count("pk", filter=Q(status="at_risk")),
    }
    columns = GRAPH_SQUAD_COLUMNS if kind == "squads" else GRAPH_INITIATIVE_COLUMNS
    base = Dependency.objects.filtered(filters).filter(blocking=True).order_by()
    counted = base.values(*columns).annotate(**measures).values_list(*columns, *measures)
    # Fetched as the driver gives them: Django's iteration of thousands of rows of plain
    # ids, names and counts (nothing to convert) cost more than the query.
    try:
        sql = counted.query.sql_with_params()
    except EmptyResultSet:  # a filter that can match nothing
        return []
    with connections[counted.db].cursor() as cursor:
        cursor.execute(*sql)
        return cursor.fetchall()


def graph_parties(
    squad_ids: set[int], initiative_ids: set[int]
) -> tuple[dict[int, Squad], dict[int, Initiative]]:
    """The squads and initiatives a graph draws, by id (an initiative with its squad)."""
    initiatives = {
        i.pk: i for i in Initiative.objects.filter(pk__in=initiative_ids).select_related("squad")
    }
    squads = {s.pk: s for s in Squad.objects.filter(pk__in=squad_ids).only("pk", "key", "name")}
    return squads, initiatives
