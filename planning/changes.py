"""What a change affects: one table for every model of Throughline.

For each model, `CHANGES` says which reviews a change to one of its rows queues (the cycles
whose findings it can move), which plans' co-writing stamps it moves (the squads whose plan
page shows it, so their open pages redraw at the next poll), and which page scopes the
database triggers move (migrations planning/0010 and 0019: `board`, `directory`,
`squad:<id>`; see core/pagecache.py). `NOT_FOLLOWED` lists the models a change to which
affects none of these, with the reason. tests/test_changes.py fails when a model is in
neither, and when the triggers in the database and this table disagree.

The wiring is made from the table: post_save and post_delete of each model,
`core.versioning.versioned_saved`, which compare-and-swap saves send instead of post_save
(update() sends none), and `core.removal.rows_changed`, which removing and restoring send for
the rows they mark, unmark or re-point, and the services that create many rows at once
(bulk_create sends no post_save) for the rows they create. `rows_saved` follows many rows
with a few queries. No service calls any of this by hand.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.db.models import Model
from django.db.models.signals import post_delete, post_save

from core.models import Capacity, Cycle, Profile
from core.removal import rows_changed
from core.versioning import versioned_saved
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
from planning.models import (
    BaselineDependency,
    BaselineInitiative,
    CycleBaseline,
    OverlapVerdict,
)
from planning.tasks import review_enqueue, review_enqueue_open_cycles
from squads.cowriting import plan_changed
from squads.models import (
    OKR,
    CheckIn,
    Comment,
    Goal,
    Initiative,
    InitiativeMilestone,
    KeyResult,
    Membership,
    ObjectiveGoal,
    Plan,
    Squad,
    SquadStage,
)

ALL_OPEN_CYCLES = object()  # a change that can move findings in any cycle


@dataclass(frozen=True)
class Follows:
    # The cycles to review again, or ALL_OPEN_CYCLES; None: no review.
    review: Callable[[Model], Iterable[int | None] | object] | None = None
    # The squads whose plan page shows the row; None: no stamp moves.
    stamp: Callable[[Model], Iterable[int | None]] | None = None
    # The page scopes the database triggers move ("squad" means `squad:<id>`).
    pages: frozenset[str] = frozenset()


def _cycles_of_squads(ids: Iterable[int | None]) -> set[int]:
    wanted = {pk for pk in ids if pk is not None}
    if not wanted:
        return set()
    return set(Squad.objects.filter(pk__in=wanted).values_list("cycle_id", flat=True))


def _initiative_squads(ids: Iterable[int | None]) -> list[int]:
    wanted = [pk for pk in ids if pk]
    if not wanted:
        return []
    return list(Initiative.objects.filter(pk__in=wanted).values_list("squad_id", flat=True))


def _initiative_cycles(initiative: Initiative) -> set[int]:
    cycles = _cycles_of_squads([initiative.squad_id])
    # Dependencies from other cycles that this initiative provides judge its end date.
    for from_squad, from_initiative_squad in Dependency.objects.filter(
        to_initiative_id=initiative.pk
    ).values_list("from_squad__cycle_id", "from_initiative__squad__cycle_id"):
        cycles.add(from_squad or from_initiative_squad)
    return cycles


def _dependency_cycles(dependency: Dependency) -> set[int]:
    if dependency.from_squad_id is not None:
        return _cycles_of_squads([dependency.from_squad_id])
    return _cycles_of_squads(_initiative_squads([dependency.from_initiative_id]))


def _dependency_squads(dependency: Dependency) -> list[int | None]:
    return [
        dependency.from_squad_id,
        dependency.to_squad_id,
        *_initiative_squads([dependency.from_initiative_id, dependency.to_initiative_id]),
    ]


def _okr_squads_of_key_result(key_result: KeyResult) -> list[int]:
    return list(OKR.objects.filter(pk=key_result.okr_id).values_list("squad_id", flat=True))


def _key_result_cycles(key_result: KeyResult) -> list[int]:
    return list(OKR.objects.filter(pk=key_result.okr_id).values_list("cycle_id", flat=True))


def _okr_cycles(ids: Iterable[int]) -> list[int]:
    return list(OKR.objects.filter(pk__in=list(ids)).values_list("cycle_id", flat=True))


def _initiative_cycles_of(ids: Iterable[int | None]) -> set[int]:
    return _cycles_of_squads(_initiative_squads(ids))


def _own_squad(instance) -> list[int]:
    return [instance.squad_id]


def _squad_cycles(instance) -> set[int]:
    return _cycles_of_squads([instance.squad_id])


SQUAD = frozenset({"squad"})
BOARD_AND_SQUAD = frozenset({"board", "squad"})
DIRECTORY = frozenset({"directory"})

CHANGES: dict[type[Model], Follows] = {
    Initiative: Follows(review=_initiative_cycles, stamp=_own_squad, pages=BOARD_AND_SQUAD),
    Dependency: Follows(review=_dependency_cycles, stamp=_dependency_squads, pages=BOARD_AND_SQUAD),
    Plan: Follows(stamp=_own_squad, pages=SQUAD),
    Comment: Follows(stamp=_own_squad, pages=SQUAD),
    OKR: Follows(review=lambda okr: [okr.cycle_id], stamp=_own_squad, pages=SQUAD),
    KeyResult: Follows(review=_key_result_cycles, stamp=_okr_squads_of_key_result, pages=SQUAD),
    CheckIn: Follows(pages=SQUAD),
    Membership: Follows(review=_squad_cycles, pages=SQUAD),
    SquadStage: Follows(review=_squad_cycles, pages=SQUAD),
    Squad: Follows(review=lambda squad: [squad.cycle_id], pages=DIRECTORY),
    Capacity: Follows(review=lambda capacity: [capacity.cycle_id], pages=DIRECTORY),
    Stage: Follows(review=lambda stage: ALL_OPEN_CYCLES, pages=DIRECTORY),
    Profile: Follows(pages=DIRECTORY),
    Cycle: Follows(pages=DIRECTORY),
    # Customer outcomes (docs/outcomes.md): the rules on goals, touchpoints, value gaps and
    # expansion read them in every open cycle.
    Segment: Follows(review=lambda segment: ALL_OPEN_CYCLES, pages=DIRECTORY),
    Journey: Follows(pages=DIRECTORY),
    JourneySegment: Follows(pages=DIRECTORY),
    Moment: Follows(review=lambda moment: ALL_OPEN_CYCLES, pages=DIRECTORY),
    Milestone: Follows(review=lambda milestone: ALL_OPEN_CYCLES, pages=DIRECTORY),
    MilestoneReading: Follows(review=lambda reading: ALL_OPEN_CYCLES, pages=DIRECTORY),
    Touchpoint: Follows(review=lambda touchpoint: ALL_OPEN_CYCLES, pages=DIRECTORY),
    Goal: Follows(review=lambda goal: ALL_OPEN_CYCLES, pages=DIRECTORY),
    ObjectiveGoal: Follows(review=lambda link: _okr_cycles([link.okr_id]), pages=DIRECTORY),
    InitiativeMilestone: Follows(
        review=lambda link: _initiative_cycles_of([link.initiative_id]),
        stamp=lambda link: _initiative_squads([link.initiative_id]),
        pages=DIRECTORY,
    ),
    # Drift since commit, on the board and the plans (planning/migrations/0019).
    CycleBaseline: Follows(pages=DIRECTORY),
    BaselineInitiative: Follows(pages=DIRECTORY),
    BaselineDependency: Follows(pages=DIRECTORY),
    # A judged pair of initiatives is left out of the cycle's overlap findings.
    OverlapVerdict: Follows(review=lambda verdict: [verdict.cycle_id]),
}

# A change to these moves no review, no stamp and no page scope, and why.
NOT_FOLLOWED: dict[str, str] = {
    "planning.ReviewRun": "written by the review itself",
    "planning.Finding": "written by the review itself",
    "planning.FindingEvent": "a finding's own timeline, written with the change it records",
    "planning.Notification": "a person's own list; its count is read per request",
    "planning.NotificationPreference": "a person's own email settings",
    "planning.CalendarToken": "a person's own feed links",
    "planning.StagedImport": "a preview waiting for confirmation; confirming writes the rows above",
    "squads.PlanStamp": "the stamp itself",
    "squads.Presence": "moves the stamp's presence part itself (squads.cowriting)",
    "core.PageRevision": "the page revisions themselves",
    "core.Removal": "the record of a removal; the rows it marks move their own pages and reviews",
    "api.ApiToken": "a person's own API tokens",
    "webhooks.Subscription": "where events are sent: set-up, on no planning page",
    "webhooks.Delivery": "an event on its way to a receiver",
    "webhooks.Attempt": "a try of a delivery, for its log",
    "planning.CycleEvent": "a cycle's own history, written with the move it records, which "
    "changes the cycle (and so moves `directory`)",
    "core.Invitation": "a sign-up link waiting to be used; the account it makes is a Profile",
    "core.CompanyAccount": "a person's link to the company's sign-in; shown on no page",
    "core.RecoveryCode": "a person's own two-factor recovery codes",
}


def followed_cycles(instance: Model) -> Iterable[int | None] | object:
    follows = CHANGES.get(type(instance))
    if follows is None or follows.review is None:
        return ()
    return follows.review(instance)


def _review(instance: Model) -> None:
    cycles = followed_cycles(instance)
    if cycles is ALL_OPEN_CYCLES:
        review_enqueue_open_cycles()
    elif cycles:
        review_enqueue(cycles)


def _stamp(instance: Model, *, create: bool = True) -> None:
    follows = CHANGES[type(instance)]
    if follows.stamp is not None:
        plan_changed(follows.stamp(instance), create=create)


def _saved(sender, instance, raw: bool = False, **kwargs) -> None:
    if raw:  # fixtures load rows as they are
        return
    _review(instance)
    _stamp(instance)


def _deleted(sender, instance, **kwargs) -> None:
    _review(instance)
    # The squad itself may be on its way out in the same transaction: touch, never create.
    _stamp(instance, create=False)


def _rows_changed(sender, instances=(), **kwargs) -> None:
    # Removed, restored or created in bulk, as saved ones: the reviews they move, the
    # stamps of the plans that show them (a removed initiative leaves its squad's open pages).
    rows_saved(sender, list(instances))


def _versioned(sender, instance, **kwargs) -> None:
    # The stamp moved already (squads.cowriting follows every versioned save).
    if type(instance) in CHANGES:
        _review(instance)


def rows_saved(model: type[Model], instances: list[Model]) -> None:
    """What post_save of each of these rows would move, for rows written in bulk
    (bulk_create and update() send no post_save): the same reviews and plan stamps, each
    moved once, read with a few queries for the common models rather than a few per row."""
    follows = CHANGES.get(model)
    if follows is None or not instances:
        return
    bulk = _SAVED_IN_BULK.get(model)
    if bulk is not None:
        cycles, squads = bulk(instances)
    else:
        cycles, squads, all_open = set(), set(), False
        for instance in instances:
            found = followed_cycles(instance)
            if found is ALL_OPEN_CYCLES:
                all_open = True
            else:
                cycles.update(found)
            if follows.stamp is not None:
                squads.update(follows.stamp(instance))
        if all_open:
            review_enqueue_open_cycles()
    review_enqueue(cycles)
    plan_changed(squads)


def _initiatives_saved(initiatives: list[Initiative]) -> tuple[set[int], set[int]]:
    squads = {i.squad_id for i in initiatives}
    cycles = _cycles_of_squads(squads)
    # As _initiative_cycles: the cycles of the work that needs them (none yet, unless rows
    # were pointed at them before they were saved).
    ids = [i.pk for i in initiatives]
    for from_squad, from_initiative_squad in Dependency.objects.filter(
        to_initiative_id__in=ids
    ).values_list("from_squad__cycle_id", "from_initiative__squad__cycle_id"):
        cycles.add(from_squad or from_initiative_squad)
    return cycles, squads


def _dependencies_saved(dependencies: list[Dependency]) -> tuple[set[int], set[int]]:
    needing = {d.from_squad_id for d in dependencies if d.from_squad_id is not None}
    needing_initiatives = {d.from_initiative_id for d in dependencies if d.from_initiative_id}
    cycles = _cycles_of_squads(needing | set(_initiative_squads(needing_initiatives)))
    initiatives = needing_initiatives | {d.to_initiative_id for d in dependencies}
    squads = needing | {d.to_squad_id for d in dependencies} | set(_initiative_squads(initiatives))
    squads.discard(None)
    return cycles, squads


def _squad_rows_saved(rows: list) -> tuple[set[int], set[int]]:
    return _cycles_of_squads({row.squad_id for row in rows}), set()


def _key_results_saved(key_results: list[KeyResult]) -> tuple[set[int], set[int]]:
    okrs = OKR.objects.filter(pk__in={kr.okr_id for kr in key_results})
    pairs = list(okrs.values_list("cycle_id", "squad_id"))
    return {cycle for cycle, _ in pairs}, {squad for _, squad in pairs}


_SAVED_IN_BULK: dict[type[Model], Callable[[list], tuple[set[int], set[int]]]] = {
    Initiative: _initiatives_saved,
    Dependency: _dependencies_saved,
    Membership: _squad_rows_saved,
    SquadStage: _squad_rows_saved,
    KeyResult: _key_results_saved,
}


def connect() -> None:
    for model, follows in CHANGES.items():
        if follows.review is None and follows.stamp is None:
            continue
        uid = f"changes-{model._meta.label_lower}"
        post_save.connect(_saved, sender=model, weak=False, dispatch_uid=uid)
        post_delete.connect(_deleted, sender=model, weak=False, dispatch_uid=uid)
    versioned_saved.connect(_versioned, weak=False, dispatch_uid="changes-versioned")
    rows_changed.connect(_rows_changed, weak=False, dispatch_uid="changes-rows")
