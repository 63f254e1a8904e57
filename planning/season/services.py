"""The season's writes: opening a cycle, moving it through its states (committing keeps a
baseline), and opening the next cycle with the unfinished work of one (docs/season.md)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from core import versioning
from core.events import publish
from core.keys import KEY_MAX_LENGTH, key_problem
from core.models import CYCLE_BACK, CYCLE_FORWARD, Cycle
from core.people import display_name
from core.validators import date_problem, is_blank
from dependencies.models import OPEN_STATUSES, BoardFilters, Dependency
from planning import tasks
from planning.models import BaselineDependency, BaselineInitiative, CycleBaseline, CycleEvent
from planning.season.selectors import UNFINISHED, Readiness, readiness
from squads.models import OKR, Initiative, KeyResult, Membership, Plan, Squad, SquadStage

REASON_MAX = 2000
NAME_MAX = 200


def state_label(state: str) -> str:
    return Cycle.State(state).label.lower()


class NotReady(ValidationError):
    """Committing was refused: the readiness check lists what blocks it."""

    def __init__(self, cycle: Cycle, found: Readiness) -> None:
        count = found.blocking
        super().__init__(
            f"{cycle.name} is not committed: {count} thing{'s' if count != 1 else ''} "
            f"still block{'' if count != 1 else 's'} it (listed below)."
        )
        self.readiness = found


# ---------------------------------------------------------------------------------------
# Opening a cycle
# ---------------------------------------------------------------------------------------


def cycle_problems(
    *, key: str, name: str, starts: dt.date | None, ends: dt.date | None
) -> dict[str, str]:
    """What is wrong with a new cycle as typed, by field; empty when nothing is."""
    errors: dict[str, str] = {}
    if problem := key_problem(key):
        errors["key"] = problem
    elif Cycle.objects.filter(key__iexact=key).exists():
        errors["key"] = "Another cycle already uses this key."
    if is_blank(name):
        errors["name"] = "Name the cycle."
    elif len(name) > NAME_MAX:
        errors["name"] = f"Keep the name to {NAME_MAX} characters."
    if starts is None:
        errors["starts"] = "Give the cycle's first day."
    elif problem := date_problem(starts):
        errors["starts"] = problem
    if ends is None:
        errors["ends"] = "Give the cycle's last day."
    elif problem := date_problem(ends):
        errors["ends"] = problem
    elif starts is not None and ends <= starts:
        errors["ends"] = "The cycle must end after it starts."
    return errors


def _new_cycle(*, key: str, name: str, starts, ends, restrict_drafts: bool = False) -> Cycle:
    try:
        with transaction.atomic():
            return Cycle.objects.create(
                key=key, name=name, starts=starts, ends=ends, restrict_drafts=restrict_drafts
            )
    except IntegrityError as exc:
        raise ValidationError({"key": "Another cycle already uses this key."}) from exc


def cycle_create(*, key: str, name: str, starts: dt.date, ends: dt.date, by) -> Cycle:
    """A new cycle, a draft; its history says who opened it."""
    key, name = key.strip(), name.strip()
    if errors := cycle_problems(key=key, name=name, starts=starts, ends=ends):
        raise ValidationError(errors)
    with transaction.atomic():
        cycle = _new_cycle(key=key, name=name, starts=starts, ends=ends)
        CycleEvent.objects.create(
            cycle=cycle,
            action=CycleEvent.Action.OPENED,
            to_state=cycle.state,
            by=by,
            at=timezone.now(),
        )
    return cycle


# ---------------------------------------------------------------------------------------
# Moving through the season
# ---------------------------------------------------------------------------------------


def _moves_from(state: str) -> str:
    moves = [s for s in (CYCLE_FORWARD.get(state), CYCLE_BACK.get(state)) if s]
    if not moves:
        return "it cannot move"
    return "it may move to " + " or ".join(state_label(s) for s in moves)


def cycle_move(
    *,
    cycle: Cycle,
    to: str,
    expected: str,
    by,
    reason: str = "",
    override: bool = False,
    now: dt.datetime | None = None,
) -> CycleEvent:
    """Move the cycle one step, forward or back, if it is still in the state `expected`
    (the one the person saw): of two people moving it at once, one succeeds.

    A move back needs a reason. Committing first runs the readiness check: while anything
    blocks, it is refused (NotReady), unless `override` with a written reason, which the
    history keeps with the number of things that blocked. Committing keeps a baseline.
    """
    reason = reason.strip()
    if to not in Cycle.State.values or expected not in Cycle.State.values:
        raise ValidationError("Choose a state the cycle can move to.")
    if len(reason) > REASON_MAX:
        raise ValidationError({"reason": f"Keep the reason to {REASON_MAX} characters."})
    now = now or timezone.now()
    with transaction.atomic():
        # The lock makes a second mover wait, then see the state the first one left.
        locked = Cycle.objects.select_for_update().get(pk=cycle.pk)
        if locked.state != expected:
            raise ValidationError(
                f"{locked.name} was moved meanwhile: it is {state_label(locked.state)} now. "
                "Nothing was changed; look at the season again before moving it.",
                code="moved",
            )
        back = CYCLE_BACK.get(locked.state) == to
        if not back and CYCLE_FORWARD.get(locked.state) != to:
            raise ValidationError(
                f"{locked.name} is {state_label(locked.state)}: {_moves_from(locked.state)}, "
                f"not to {state_label(to)}."
            )
        if back and is_blank(reason):
            raise ValidationError(
                {
                    "reason": f"Say why {locked.name} goes back to {state_label(to)}: "
                    "everyone reads it in the cycle's history."
                }
            )
        overridden = 0
        if to == Cycle.State.COMMITTED:
            found = readiness(locked)
            if not found.ready:
                if not override:
                    raise NotReady(locked, found)
                if is_blank(reason):
                    raise ValidationError(
                        {
                            "reason": f"Committing while {found.blocking} thing"
                            f"{'s' if found.blocking != 1 else ''} still block it needs a "
                            "written reason: everyone reads it in the cycle's history."
                        }
                    )
                overridden = found.blocking
            baseline_take(cycle=locked, by=by, at=now)
        moved = Cycle.objects.filter(pk=locked.pk, state=expected).update(state=to)
        if moved != 1:  # the lock above makes this unreachable; never move twice regardless
            raise ValidationError(f"{locked.name} was moved meanwhile.", code="moved")
        event = CycleEvent.objects.create(
            cycle=locked,
            action=CycleEvent.Action.MOVED,
            from_state=expected,
            to_state=to,
            by=by,
            at=now,
            reason=reason,
            overridden=overridden,
        )
        _publish_moved(locked, was=expected, to=to, by=by, reason=reason)
    cycle.state = to
    return event


def _publish_moved(cycle: Cycle, *, was: str, to: str, by, reason: str) -> None:
    """cycle.state_changed for the webhooks and chat channels (docs/webhooks.md); its
    squads are concerned."""
    squads = [
        {"id": pk, "key": key, "name": name}
        for pk, key, name in Squad.objects.filter(cycle=cycle)
        .order_by("name")
        .values_list("pk", "key", "name")
    ]
    publish(
        "cycle.state_changed",
        summary=f"{cycle.name} moved from {state_label(was)} to {state_label(to)}"
        + (f": {reason}" if reason else ""),
        path=reverse("cycle", kwargs={"key": cycle.key}),
        squad_ids=[s["id"] for s in squads],
        data={
            "cycle": {
                "id": cycle.pk,
                "key": cycle.key,
                "name": cycle.name,
                "from_state": was,
                "to_state": to,
                "reason": reason,
            },
            "squads": squads,
            "actor": {"name": display_name(by)} if by is not None else None,
        },
    )


def baseline_take(*, cycle: Cycle, by, at: dt.datetime) -> CycleBaseline:
    """Keep a copy of every initiative and dependency of the cycle as it is now: four
    statements, whatever the size of the cycle."""
    baseline = CycleBaseline.objects.create(cycle=cycle, taken_at=at, taken_by=by)
    BaselineInitiative.objects.bulk_create(
        [
            BaselineInitiative(
                baseline=baseline,
                squad_key=squad_key,
                squad_name=squad_name,
                key=key,
                title=title,
                function=function,
                starts=starts,
                ends=ends,
                status=status,
                headcount=headcount,
            )
            for squad_key, squad_name, key, title, function, starts, ends, status, headcount in (
                Initiative.objects.filter(squad__cycle=cycle)
                .order_by("id")
                .values_list(
                    "squad__key",
                    "squad__name",
                    "key",
                    "title",
                    "function",
                    "starts",
                    "ends",
                    "status",
                    "headcount",
                )
            )
        ],
        batch_size=1000,
    )
    rows = []
    for dep in (
        Dependency.objects.filtered(BoardFilters(today=at.date(), cycle_id=cycle.pk))
        .select_related("from_squad", "from_initiative__squad", "to_squad", "to_initiative__squad")
        .order_by("id")
    ):
        needer = dep.needer_squad()
        rows.append(
            BaselineDependency(
                baseline=baseline,
                key=dep.key,
                what=dep.what,
                needer=needer.key,
                from_ref=_ref(dep.from_initiative) if dep.from_initiative_id else needer.key,
                to_ref=(
                    _ref(dep.to_initiative)
                    if dep.to_initiative_id
                    else (dep.to_squad.key if dep.to_squad_id else "")
                ),
                to_function=dep.to_function,
                due=dep.due,
                status=dep.status,
                blocking=dep.blocking,
            )
        )
    BaselineDependency.objects.bulk_create(rows, batch_size=1000)
    return baseline


def _ref(initiative: Initiative) -> str:
    return f"{initiative.squad.key}/{initiative.key}"


# ---------------------------------------------------------------------------------------
# Carrying work forward into the next cycle
# ---------------------------------------------------------------------------------------


@dataclass
class Carried:
    cycle: Cycle
    squads: int
    initiatives: int
    dependencies: int
    key_results: int


CHANGED_MEANWHILE = (
    "Some of the work picked is no longer unfinished in {cycle} (done, dropped or removed "
    "since this form was opened): look at the list again."
)


# At most this much of the new cycle's key goes at the end of a copy's key, so a copy's key
# keeps room for the start of its own.
CARRIED_SUFFIX_MAX = 40


def _suffix(new_cycle: str) -> str:
    return new_cycle[:CARRIED_SUFFIX_MAX].rstrip("-_.")


def carried_key(old: str, *, old_cycle: str, new_cycle: str, taken: Collection[str]) -> str:
    """A key for a copy in the new cycle: the old key with the new cycle's key at its end
    (in place of the old cycle's, when it ends so), and a number when even that is taken."""
    base = old
    suffix = f"-{old_cycle}"
    if base.lower().endswith(suffix.lower()) and len(base) > len(suffix):
        base = base[: -len(suffix)]
    for n in range(1, 10_000):
        tail = f"-{_suffix(new_cycle)}" + (f"-{n}" if n > 1 else "")
        candidate = base[: KEY_MAX_LENGTH - len(tail)].rstrip("-_.") + tail
        if candidate.lower() not in taken:
            return candidate
    raise ValidationError(f"No free key is left for the copy of {old}.")


def _taken_keys(model, new_cycle: str) -> set[str]:
    """The keys of `model` a copy into `new_cycle` could collide with: those that hold the
    new cycle's key (every candidate carried_key makes does), lowercased."""
    return {
        key.lower()
        for key in model.objects.filter(key__icontains=f"-{_suffix(new_cycle)}").values_list(
            "key", flat=True
        )
    }


def cycle_carry_forward(
    *,
    source: Cycle,
    key: str,
    name: str,
    starts: dt.date,
    ends: dt.date,
    initiative_ids: Collection[int],
    dependency_ids: Collection[int],
    key_result_ids: Collection[int],
    by,
) -> Carried:
    """Open the next cycle with the picked unfinished work of `source`, in one transaction.

    The squads of the picked work come along with their DRI, members, the stages they
    cover, their objective and an empty plan to approve afresh; picked initiatives keep
    their dates, status and headcount; picked key results start where the old ones got to
    (the last value checked in becomes the baseline) with the same target; picked
    dependencies keep their answer and due date, between the copies of their squads or
    initiatives. Nothing of `source` changes.
    """
    key, name = key.strip(), name.strip()
    errors = cycle_problems(key=key, name=name, starts=starts, ends=ends)
    if errors:
        raise ValidationError(errors)
    initiative_ids, dependency_ids = set(initiative_ids), set(dependency_ids)
    key_result_ids = set(key_result_ids)
    if not (initiative_ids or dependency_ids or key_result_ids):
        raise ValidationError(
            "Pick at least one initiative, dependency or key result to carry forward; to "
            "open an empty cycle, use the season's list of cycles."
        )
    try:
        return _carry(
            source=source,
            key=key,
            name=name,
            starts=starts,
            ends=ends,
            initiative_ids=initiative_ids,
            dependency_ids=dependency_ids,
            key_result_ids=key_result_ids,
            by=by,
        )
    except IntegrityError as exc:
        # A key taken by someone else between the check and the write: nothing was kept.
        raise ValidationError(
            "Someone used one of the new keys at the same moment, so nothing was opened; try again."
        ) from exc


def _carry(
    *, source, key, name, starts, ends, initiative_ids, dependency_ids, key_result_ids, by
) -> Carried:
    with transaction.atomic():
        # Serialises with moves of the source: it is carried as it stands.
        source = Cycle.objects.select_for_update().get(pk=source.pk)
        if not source.may_carry_forward():
            raise ValidationError(
                f"{source.name} is {state_label(source.state)}: work carries forward from a "
                "cycle that is committed, in flight or closed."
            )
        initiatives = list(
            Initiative.objects.filter(squad__cycle=source, pk__in=initiative_ids)
            .exclude(status__in=UNFINISHED)
            .select_related("squad")
            .order_by("id")
        )
        deps = list(
            Dependency.objects.filtered(
                BoardFilters(today=timezone.localdate(), cycle_id=source.pk)
            )
            .filter(pk__in=dependency_ids, status__in=OPEN_STATUSES)
            .select_related("to_squad", "to_initiative__squad", "from_initiative")
            .order_by("id")
        )
        krs = list(
            KeyResult.objects.filter(
                okr__cycle=source, okr__squad__cycle=source, pk__in=key_result_ids
            )
            .select_related("okr")
            .order_by("id")
        )
        if (len(initiatives), len(deps), len(krs)) != (
            len(initiative_ids),
            len(dependency_ids),
            len(key_result_ids),
        ):
            raise ValidationError(CHANGED_MEANWHILE.format(cycle=source.name))

        cycle = _new_cycle(
            key=key,
            name=name,
            starts=starts,
            ends=ends,
            restrict_drafts=source.restrict_drafts,
        )
        reason = versioning.change_reason(f"Carried forward from {source.name}")

        # The squads: those of the picked work, and those providing picked dependencies.
        squad_ids = {i.squad_id for i in initiatives} | {kr.okr.squad_id for kr in krs}
        for dep in deps:
            squad_ids.add(dep.needer_id)
            if dep.provider_id is not None:
                squad_ids.add(dep.provider_id)
        old_squads = list(Squad.objects.filter(pk__in=squad_ids, cycle=source).order_by("id"))
        taken = _taken_keys(Squad, key)
        new_squads = []
        for old in old_squads:
            new_key = carried_key(old.key, old_cycle=source.key, new_cycle=key, taken=taken)
            taken.add(new_key.lower())
            new_squads.append(Squad(key=new_key, name=old.name, cycle=cycle, dri_id=old.dri_id))
        Squad.objects.bulk_create(new_squads)
        squad_of = {old.pk: new for old, new in zip(old_squads, new_squads, strict=True)}

        Membership.objects.bulk_create(
            Membership(squad=squad_of[m.squad_id], person_id=m.person_id, function=m.function)
            for m in Membership.objects.filter(squad_id__in=squad_of).order_by("id")
        )
        Plan.objects.bulk_create(Plan(squad=s) for s in new_squads)
        bulk_create_with_history(
            [
                SquadStage(squad=squad_of[c.squad_id], stage_id=c.stage_id)
                for c in SquadStage.objects.filter(squad_id__in=squad_of).order_by("id")
            ],
            SquadStage,
            default_user=by,
            default_change_reason=reason,
        )
        okr_of = {}
        for old_okr in OKR.objects.filter(squad_id__in=squad_of, cycle=source).order_by("id"):
            okr_of[old_okr.pk] = OKR(
                squad=squad_of[old_okr.squad_id], cycle=cycle, objective=old_okr.objective
            )
        OKR.objects.bulk_create(okr_of.values())
        new_krs = []
        for kr in krs:
            okr = okr_of[kr.okr_id]
            start = kr.current if kr.current is not None else kr.baseline
            new_krs.append(
                KeyResult(
                    okr=okr,
                    key=kr.key,
                    name=kr.name,
                    unit=kr.unit,
                    baseline=start,
                    target=kr.target,
                    current=start,
                    direction=kr.direction,
                )
            )
        bulk_create_with_history(new_krs, KeyResult, default_user=by, default_change_reason=reason)

        copies = [
            Initiative(
                squad=squad_of[i.squad_id],
                key=i.key,
                title=i.title,
                description=i.description,
                function=i.function,
                stage_id=i.stage_id,
                segment_id=i.segment_id,
                starts=i.starts,
                ends=i.ends,
                headcount=i.headcount,
                status=i.status,
                impact_team=i.impact_team,
                impact_business=i.impact_business,
                impact_customer=i.impact_customer,
                counter_measure=i.counter_measure,
            )
            for i in initiatives
        ]
        copies = bulk_create_with_history(
            copies, Initiative, default_user=by, default_change_reason=reason
        )
        initiative_of = {old.pk: new for old, new in zip(initiatives, copies, strict=True)}

        dep_taken = _taken_keys(Dependency, key)
        new_deps, dep_keys = [], []
        for dep in deps:
            new_key = carried_key(dep.key, old_cycle=source.key, new_cycle=key, taken=dep_taken)
            dep_taken.add(new_key.lower())
            dep_keys.append([dep.key, new_key])
            new_deps.append(
                Dependency(
                    key=new_key,
                    what=dep.what,
                    due=dep.due,
                    blocking=dep.blocking,
                    status=dep.status,
                    owner_id=dep.owner_id,
                    note=dep.note,
                    to_function=dep.to_function,
                    **_needer(dep, squad_of, initiative_of),
                    **_provider(dep, squad_of, initiative_of),
                )
            )
        bulk_create_with_history(
            new_deps, Dependency, default_user=by, default_change_reason=reason
        )

        CycleEvent.objects.create(
            cycle=cycle,
            action=CycleEvent.Action.CARRIED,
            to_state=cycle.state,
            by=by,
            at=timezone.now(),
            source=source,
            details={
                "squads": [[o.key, squad_of[o.pk].key, o.name] for o in old_squads],
                "initiatives": len(copies),
                "dependencies": dep_keys,
                "key_results": len(new_krs),
                # What came, by name, for the season page: [squad key, squad, key, title].
                "initiative_list": [[c.squad.key, c.squad.name, c.key, c.title] for c in copies],
                "key_result_list": [
                    [kr.okr.squad.key, kr.okr.squad.name, kr.key, kr.name] for kr in new_krs
                ],
            },
        )
        tasks.review_enqueue([cycle.pk])
    return Carried(
        cycle=cycle,
        squads=len(new_squads),
        initiatives=len(copies),
        dependencies=len(new_deps),
        key_results=len(new_krs),
    )


def _needer(dep: Dependency, squad_of: dict, initiative_of: dict) -> dict:
    """The copy's needing side: the copy of its initiative when that was carried, else the
    copy of its squad."""
    if dep.from_initiative_id and dep.from_initiative_id in initiative_of:
        return {"from_initiative": initiative_of[dep.from_initiative_id]}
    return {"from_squad": squad_of[dep.needer_id]}


def _provider(dep: Dependency, squad_of: dict, initiative_of: dict) -> dict:
    """The copy's provider: the copy of its initiative or squad when carried; a provider
    in another cycle stays as it is; a function stays that function."""
    if dep.to_initiative_id:
        if dep.to_initiative_id in initiative_of:
            return {"to_initiative": initiative_of[dep.to_initiative_id]}
        if dep.provider_id in squad_of:
            return {"to_squad": squad_of[dep.provider_id]}
        return {"to_initiative_id": dep.to_initiative_id}
    if dep.to_squad_id:
        return {"to_squad": squad_of.get(dep.to_squad_id) or dep.to_squad}
    return {}
