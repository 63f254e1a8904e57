"""Writes for squads, their OKRs and their plans.

Each function validates what it is given, writes inside one transaction and raises
`ValidationError` keyed by field when it refuses, so a form can show the error next to the
field with the person's input kept. The plan, its initiatives and its comments are models
of this app, beside these writes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TypedDict

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from core import ordering, versioning
from core.events import publish
from core.keys import key_problem
from core.models import Cycle
from core.people import display_name
from core.removal import Gone, rows_created
from core.validators import date_problem, has_surrogate, is_blank
from journeys.models import Milestone, Segment, Stage
from journeys.services import fingerprint, key_from_name
from squads import cowriting
from squads.models import (
    IMPACT_MAX,
    IMPACT_MIN,
    OKR,
    CheckIn,
    Goal,
    Initiative,
    KeyResult,
    Membership,
    ObjectiveGoal,
    Plan,
    Squad,
    SquadStage,
)
from squads.outcomes import initiative_milestones_set, milestones_problem

# ---------------------------------------------------------------------------------------
# Balance: team, business and customer (the pulse check)
# ---------------------------------------------------------------------------------------

SIDES = ("team", "business", "customer")
# A side this many points above another means the work leans: it must name what to watch.
LEAN_GAP = 2


def _sides_phrase(sides: Sequence[str]) -> str:
    noun = "side" if len(sides) == 1 else "sides"
    return f"{' and '.join(sides)} {noun}"


@dataclass(frozen=True)
class Lean:
    """Which sides an impact favours and which it neglects."""

    values: dict[str, int]
    strong: tuple[str, ...]
    weak: tuple[str, ...]

    @property
    def leans_to(self) -> str:
        return _sides_phrase(self.strong)

    @property
    def watch(self) -> str:
        return _sides_phrase(self.weak)

    def prompt(self, subject: str) -> str:
        return (
            f"This {subject} leans to the {self.leans_to}: "
            f"name a counter-measure to watch on the {self.watch}."
        )


def impact_lean(team: int | None, business: int | None, customer: int | None) -> Lean | None:
    """The lean of one impact rating, or None when it is balanced or not rated."""
    values = {"team": team, "business": business, "customer": customer}
    if any(v is None for v in values.values()):
        return None
    high, low = max(values.values()), min(values.values())
    if high - low < LEAN_GAP:
        return None
    return Lean(
        values=values,  # type: ignore[arg-type]
        strong=tuple(s for s in SIDES if values[s] == high),
        weak=tuple(s for s in SIDES if values[s] == low),
    )


def initiative_lean(initiative: Initiative) -> Lean | None:
    return impact_lean(
        initiative.impact_team, initiative.impact_business, initiative.impact_customer
    )


@dataclass
class PlanBalance:
    """The summed impact of a plan's live initiatives and what it still asks for."""

    sums: dict[str, int]
    rated: int
    lean: Lean | None
    with_counter_measure: list[Initiative] = field(default_factory=list)
    missing_counter_measure: list[Initiative] = field(default_factory=list)

    @property
    def asks_for_counter_measure(self) -> bool:
        if self.missing_counter_measure:
            return True
        return self.lean is not None and not self.with_counter_measure

    @property
    def prompt(self) -> str:
        if self.lean is not None:
            return self.lean.prompt("plan")
        if self.missing_counter_measure:
            return "Some initiatives lean to one side without a counter-measure to watch."
        return ""


def plan_balance(initiatives: Iterable[Initiative]) -> PlanBalance:
    live = [i for i in initiatives if i.status != Initiative.Status.DROPPED and i.has_impact]
    sums = {
        "team": sum(i.impact_team for i in live),
        "business": sum(i.impact_business for i in live),
        "customer": sum(i.impact_customer for i in live),
    }
    lean = impact_lean(sums["team"], sums["business"], sums["customer"]) if live else None
    return PlanBalance(
        sums=sums,
        rated=len(live),
        lean=lean,
        with_counter_measure=[i for i in live if i.counter_measure.strip()],
        missing_counter_measure=[
            i for i in live if initiative_lean(i) is not None and not i.counter_measure.strip()
        ],
    )


# ---------------------------------------------------------------------------------------
# Shared checks
# ---------------------------------------------------------------------------------------


def _raise(errors: dict[str, str]) -> None:
    if errors:
        raise ValidationError(errors)


def default_function(person: AbstractBaseUser, function: str) -> str:
    function = function.strip()
    if not is_blank(function):
        return function
    profile = getattr(person, "profile", None)
    function = (profile.function if profile else "").strip()
    return "" if is_blank(function) else function


# ---------------------------------------------------------------------------------------
# Squads, members and the DRI
# ---------------------------------------------------------------------------------------


class KeyResultFields(TypedDict):
    key: str
    name: str
    unit: str
    baseline: Decimal | None
    target: Decimal | None
    direction: str


def key_result_problems(
    *, name: str, baseline: Decimal | None, target: Decimal | None, direction: str
) -> dict[str, str]:
    """What is wrong with a key result's definition, by field."""
    errors: dict[str, str] = {}
    if is_blank(name):
        errors["name"] = "Name what is measured."
    if direction not in KeyResult.Direction.values:
        errors["direction"] = "Choose increase or decrease."
    elif baseline is not None and target is not None:
        if target == baseline:
            errors["target"] = "The target must differ from the baseline."
        elif direction == KeyResult.Direction.INCREASE and target < baseline:
            errors["target"] = "To increase, the target must be above the baseline."
        elif direction == KeyResult.Direction.DECREASE and target > baseline:
            errors["target"] = "To decrease, the target must be below the baseline."
    return errors


def squad_create(
    *,
    key: str,
    name: str,
    cycle: Cycle,
    dri: AbstractBaseUser,
    dri_function: str = "",
    objective: str,
    first_key_result: KeyResultFields | None = None,
    stages: Iterable[Stage] = (),
    by: AbstractBaseUser,
) -> Squad:
    """A squad is born whole: its DRI as a member, its OKR, an empty plan and the journey
    stages it covers (kept in the coverage history), or nothing."""
    key, name, objective = key.strip(), name.strip(), objective.strip()
    errors: dict[str, str] = {}
    if problem := key_problem(key):
        errors["key"] = problem
    elif Squad.objects.filter(key=key).exists():
        errors["key"] = "Another squad already uses this key."
    if is_blank(name):
        errors["name"] = "Name the squad."
    if is_blank(objective):
        errors["objective"] = "A squad needs its objective: what the customer gets."
    function = default_function(dri, dri_function)
    if not function:
        errors["dri_function"] = (
            f"{display_name(dri)}'s profile names no function: say which one they bring."
        )
    if first_key_result is not None:
        kr_errors = key_result_problems(
            name=first_key_result["name"],
            baseline=first_key_result["baseline"],
            target=first_key_result["target"],
            direction=first_key_result["direction"],
        )
        if problem := key_problem(first_key_result["key"]):
            kr_errors["key"] = problem
        errors.update({f"kr_{f}": e for f, e in kr_errors.items()})
    _raise(errors)
    try:
        with transaction.atomic():
            squad = Squad.objects.create(key=key, name=name, cycle=cycle, dri=dri)
            Membership.objects.create(squad=squad, person=dri, function=function)
            okr = OKR.objects.create(squad=squad, cycle=cycle, objective=objective)
            if first_key_result is not None:
                KeyResult.objects.create(
                    okr=okr,
                    key=first_key_result["key"],
                    name=first_key_result["name"].strip(),
                    unit=first_key_result["unit"].strip(),
                    baseline=first_key_result["baseline"],
                    target=first_key_result["target"],
                    current=first_key_result["baseline"],
                    direction=first_key_result["direction"],
                )
            Plan.objects.create(squad=squad)
            for stage in {stage.pk: stage for stage in stages}.values():
                cover = SquadStage(squad=squad, stage=stage)
                cover._history_user = by
                cover._change_reason = "Chosen when the squad was formed"
                cover.save()
    except IntegrityError as exc:
        if Squad.objects.filter(key=key).exists():
            raise ValidationError({"key": "Another squad already uses this key."}) from exc
        raise
    return squad


def _locked(squad: Squad) -> Squad:
    # Membership changes and DRI handovers of one squad take turns; none reaches a squad
    # someone removed meanwhile (core.removal.Gone).
    locked = Squad.everything.select_for_update().get(pk=squad.pk)
    if locked.removal_id is not None:
        raise Gone(locked, "squad")
    return locked


def membership_add(
    *, squad: Squad, person: AbstractBaseUser, function: str = "", by: AbstractBaseUser
) -> Membership:
    errors: dict[str, str] = {}
    function = default_function(person, function)
    if not function:
        errors["function"] = f"{display_name(person)}'s profile names no function: say which one."
    with transaction.atomic():
        _locked(squad)
        if Membership.objects.filter(squad=squad, person=person).exists():
            errors["person"] = f"{display_name(person)} is already a member."
        _raise(errors)
        return Membership.objects.create(squad=squad, person=person, function=function)


def membership_remove(*, squad: Squad, person: AbstractBaseUser, by: AbstractBaseUser) -> None:
    with transaction.atomic():
        locked = _locked(squad)
        if locked.dri_id == person.pk:
            raise ValidationError(
                "The DRI stays a member: hand the DRI role to another member first."
            )
        deleted, _ = Membership.objects.filter(squad=squad, person=person).delete()
        if not deleted:
            raise ValidationError(f"{display_name(person)} is not a member of this squad.")


def dri_handover(*, squad: Squad, to: AbstractBaseUser, by: AbstractBaseUser) -> Squad:
    """Hand the DRI role to another member; the old DRI stays a member."""
    with transaction.atomic():
        locked = _locked(squad)
        if locked.dri_id == to.pk:
            raise ValidationError({"person": f"{display_name(to)} is already the DRI."})
        if not Membership.objects.filter(squad=squad, person=to).exists():
            raise ValidationError(
                {"person": f"{display_name(to)} is not a member: add them to the squad first."}
            )
        locked.dri = to
        locked.save(update_fields=["dri", "updated_at"])
    squad.dri = to
    return squad


# ---------------------------------------------------------------------------------------
# The OKR, key results and check-ins
# ---------------------------------------------------------------------------------------


OBJECTIVE_STALE = "stale"


def objective_version(okr: OKR | None) -> str:
    """The version of a squad's objective as its editor shows it: the words and the goals it
    serves. It changes whenever someone saves either."""
    if okr is None:
        return "none"
    goals = sorted(ObjectiveGoal.objects.filter(okr=okr).values_list("goal_id", flat=True))
    return fingerprint({"o": okr.objective, "g": goals}, ("o", "g"))


def okr_update(
    *,
    squad: Squad,
    objective: str,
    by: AbstractBaseUser,
    goals: Iterable[Goal] | None = None,
    version: str | None = None,
) -> OKR:
    """Set the objective of the squad's OKR for its cycle, writing the OKR if it has none,
    and, with `goals`, the company goals it serves (okr_goals_set), in one transaction.

    With `version` (objective_version of what the editor showed), a save made after someone
    else's changes nothing and says so, quoting what they saved: the person's words stay in
    their form, and saving again keeps them."""
    objective = objective.strip()
    if is_blank(objective):
        raise ValidationError({"objective": "Write the objective: what the customer gets."})
    with transaction.atomic():
        # One objective writer at a time per squad, including the first one.
        Squad.objects.select_for_update().filter(pk=squad.pk).first()
        current = OKR.objects.filter(squad=squad, cycle_id=squad.cycle_id).first()
        if version is not None and version != objective_version(current):
            saved = f"“{current.objective}”" if current is not None else "nothing"
            serving = (
                list(current.goals.order_by("position", "pk").values_list("name", flat=True))
                if current is not None
                else []
            )
            if serving:
                saved += ", serving " + ", ".join(f"“{name}”" for name in serving)
            raise ValidationError(
                {
                    "objective": ValidationError(
                        f"Someone else saved this objective after you opened it: {saved}. "
                        "Your words and the goals you ticked are still here: save again to "
                        "keep them.",
                        code=OBJECTIVE_STALE,
                    )
                }
            )
        okr, _ = OKR.objects.update_or_create(
            squad=squad, cycle_id=squad.cycle_id, defaults={"objective": objective}
        )
        if goals is not None:
            okr_goals_set(okr=okr, goals=goals, by=by)
    return okr


def okr_goals_set(*, okr: OKR, goals: Iterable[Goal], by: AbstractBaseUser) -> tuple[int, int]:
    """The objective serves exactly these live goals. Links are made and taken off one row at
    a time, so each change is followed like any save (planning/changes.py: the review, the
    pages). Returns (added, removed). Refuses, changing nothing, a goal removed meanwhile."""
    wanted = {goal.pk for goal in goals}
    with transaction.atomic():
        live = set(
            Goal.objects.select_for_update().filter(pk__in=wanted).values_list("pk", flat=True)
        )
        if missing := wanted - live:
            names = Goal.everything.filter(pk__in=missing).order_by("name")
            raise ValidationError(
                {
                    "goals": "Someone removed "
                    + ", ".join(f"“{goal.name}”" for goal in names)
                    + " meanwhile: choose among the goals shown now."
                }
            )
        links = list(ObjectiveGoal.objects.filter(okr=okr).order_by("pk"))
        have = {link.goal_id for link in links}
        removed = 0
        for link in links:
            if link.goal_id not in wanted:
                link.delete()
                removed += 1
        for pk in sorted(wanted - have):
            ObjectiveGoal.objects.create(okr=okr, goal_id=pk)
    return len(wanted - have), removed


def key_result_create(
    *,
    okr: OKR,
    key: str,
    name: str,
    unit: str = "",
    baseline: Decimal | None = None,
    target: Decimal | None = None,
    direction: str = KeyResult.Direction.INCREASE,
    by: AbstractBaseUser,
) -> KeyResult:
    key = key.strip()
    errors = key_result_problems(name=name, baseline=baseline, target=target, direction=direction)
    if problem := key_problem(key):
        errors["key"] = problem
    elif KeyResult.objects.filter(okr=okr, key=key).exists():
        errors["key"] = "Another key result of this OKR uses this key."
    _raise(errors)
    try:
        with transaction.atomic():
            return KeyResult.objects.create(
                okr=okr,
                key=key,
                name=name.strip(),
                unit=unit.strip(),
                baseline=baseline,
                target=target,
                current=baseline,
                direction=direction,
            )
    except IntegrityError as exc:
        raise ValidationError({"key": "Another key result of this OKR uses this key."}) from exc


def key_result_update(
    *,
    key_result: KeyResult,
    name: str,
    unit: str = "",
    baseline: Decimal | None = None,
    target: Decimal | None = None,
    direction: str = KeyResult.Direction.INCREASE,
    by: AbstractBaseUser,
    version: int | None = None,
    reason: str = "",
) -> KeyResult:
    """Change what a key result measures; its current value moves only by check-ins.

    With `version`, only if nobody saved it since that version (else versioning.Conflict).
    """
    _raise(key_result_problems(name=name, baseline=baseline, target=target, direction=direction))
    values: dict = {
        "name": name.strip(),
        "unit": unit.strip(),
        "baseline": baseline,
        "target": target,
        "direction": direction,
    }
    if key_result.current is None and baseline is not None:
        values["current"] = baseline
    squad_ids = OKR.objects.filter(pk=key_result.okr_id).values_list("squad_id", flat=True)
    versioning.save_versioned(
        key_result,
        values=values,
        expected=version,
        by=by,
        squad_ids=list(squad_ids),
        reason=reason,
    )
    return key_result


def check_in_record(
    *,
    key_result: KeyResult,
    value: Decimal,
    confidence: int,
    note: str = "",
    by: AbstractBaseUser,
) -> CheckIn:
    """Record where a key result stands; its current value becomes the checked-in value."""
    if not 1 <= confidence <= 10:
        raise ValidationError({"confidence": "Confidence runs from 1 to 10."})
    with transaction.atomic():
        check_in = CheckIn.objects.create(
            key_result=key_result,
            value=value,
            confidence=confidence,
            note=note.strip(),
            author=by,
        )
        key_result.current = value
        key_result.save(update_fields=["current"])
    return check_in


# ---------------------------------------------------------------------------------------
# The plan
# ---------------------------------------------------------------------------------------

PLAN_TEXT_SECTIONS = ("current_experience", "desired_experience", "success_metrics")
NOT_DOING_MAX_LENGTH = 500
# Lines in one not-doing list: the editor shows one field per line, so bounded.
NOT_DOING_MAX_LINES = 1000


def _plan_row(squad: Squad, *, to_save: bool = False) -> Plan:
    """The squad's plan row, made if missing. `to_save`: only its key, for
    versioning.save_versioned, which reads the row itself when it needs it."""
    if to_save:
        # The usual case: the key read with the squad (squad_access.find_squad_to_write), or one
        # narrow read; no transaction of its own.
        pk = getattr(squad, "plan_pk", None)
        if pk is None:
            pk = Plan.objects.filter(squad=squad).values_list("pk", flat=True).first()
        if pk is not None:
            return Plan(pk=pk, squad=squad)
    try:
        with transaction.atomic():
            plan, _ = Plan.objects.get_or_create(squad=squad)
    except IntegrityError:  # two first saves at once: the other one made it
        plan = Plan.objects.get(squad=squad)
    return plan


def _clean_text(text: str) -> str:
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return "\n".join(line.rstrip() for line in lines).strip()


def plan_section_update(
    *,
    squad: Squad,
    section: str,
    text: str,
    by: AbstractBaseUser,
    version: int | None = None,
    reason: str = "",
) -> Plan:
    """Save one text section of the squad's plan, and only that section.

    `version` is the section's version the editor started from: if someone saved the section
    since, nothing is written and versioning.Conflict says who. None saves whatever the version.
    """
    if section not in PLAN_TEXT_SECTIONS:
        raise ValueError(f"Not a text section of the plan: {section}")
    return versioning.save_versioned(
        _plan_row(squad, to_save=True),
        values={section: _clean_text(text)},
        expected=version,
        by=by,
        version_field=f"{section}_version",
        squad_ids=[squad.pk],
        reason=reason,
    )


def plan_set_approval(*, squad: Squad, by: AbstractBaseUser, approved: bool) -> Plan:
    """The DRI approves the plan (it stops being a draft) or returns it to draft. Recorded in
    the plan's history with who did it; the sections and their versions do not change."""
    plan = _plan_row(squad)
    now = timezone.now()
    with transaction.atomic():
        if not Plan.history.filter(id=plan.pk).exists():
            # Written before history was kept: record how it was, so the approval does not
            # read as the approver writing every section.
            Plan.history.bulk_history_create([plan], default_date=plan.updated_at)
        Plan.objects.filter(pk=plan.pk).update(
            approved_at=now if approved else None, approved_by=by if approved else None
        )
        saved = Plan.objects.get(pk=plan.pk)
        Plan.history.bulk_history_create(
            [saved],
            update=True,
            default_user=by,
            default_date=now,
        )
        cowriting.plan_changed([squad.pk])
        if approved:
            _publish_approved(squad, by=by, at=now)
    return saved


def _publish_approved(squad: Squad, *, by, at: dt.datetime) -> None:
    """plan.approved for the webhooks and chat channels (docs/webhooks.md)."""
    named = {"id": squad.pk, "key": squad.key, "name": squad.name}
    publish(
        "plan.approved",
        summary=f"{display_name(by)} approved the plan of {squad.name}",
        path=reverse("squads:plan", kwargs={"key": squad.key}),
        squad_ids=[squad.pk],
        data={
            "plan": {
                "squad": named,
                "cycle": {"key": squad.cycle.key, "name": squad.cycle.name},
                "approved_at": at.isoformat(),
            },
            "squads": [named],
            "actor": {"name": display_name(by)},
        },
    )


def not_doing_problems(items: Sequence[str]) -> dict[int, str]:
    """Problems by line index among the lines a person typed (blank lines are dropped)."""
    problems: dict[int, str] = {}
    seen: dict[str, int] = {}
    kept = 0
    for index, item in enumerate(items):
        text = " ".join(item.split())
        if not text:
            continue
        kept += 1
        if kept > NOT_DOING_MAX_LINES:
            problems[index] = f"Keep the list to {NOT_DOING_MAX_LINES:,} lines."
            break
        if "\x00" in text or has_surrogate(text):
            problems[index] = "Write this line as plain text."
        elif len(text) > NOT_DOING_MAX_LENGTH:
            problems[index] = f"Keep each line to {NOT_DOING_MAX_LENGTH} characters."
        elif text.casefold() in seen:
            problems[index] = f"This repeats line {seen[text.casefold()] + 1}."
        else:
            seen[text.casefold()] = index
    return problems


def not_doing_update(
    *,
    squad: Squad,
    items: Sequence[str],
    by: AbstractBaseUser,
    version: int | None = None,
    reason: str = "",
) -> Plan:
    """Replace the list of things the squad says no to; blank lines are dropped."""
    if problems := not_doing_problems(items):
        raise ValidationError({"not_doing": list(problems.values())})
    cleaned = [" ".join(item.split()) for item in items if item.strip()]
    return versioning.save_versioned(
        _plan_row(squad, to_save=True),
        values={"not_doing": cleaned},
        expected=version,
        by=by,
        version_field="not_doing_version",
        squad_ids=[squad.pk],
        reason=reason,
    )


# ---------------------------------------------------------------------------------------
# Initiatives
# ---------------------------------------------------------------------------------------


class InitiativeFields(TypedDict):
    title: str
    description: str
    function: str
    stage: Stage | None
    segment: Segment | None
    starts: dt.date
    ends: dt.date
    headcount: Decimal
    status: str
    impact_team: int | None
    impact_business: int | None
    impact_customer: int | None
    counter_measure: str


IMPACT_FIELDS = ("impact_team", "impact_business", "impact_customer")


def initiative_problems(values: InitiativeFields) -> dict[str, str]:
    """What is wrong with an initiative, by field (its key is checked separately)."""
    errors: dict[str, str] = {}
    if is_blank(values["title"]):
        errors["title"] = "Give the initiative a title."
    if is_blank(values["function"]):
        errors["function"] = "Say which function builds it."
    starts, ends = values["starts"], values["ends"]
    for name in ("starts", "ends"):
        if problem := date_problem(values[name]):
            errors[name] = problem
    if starts and ends and ends < starts and "ends" not in errors:
        errors["ends"] = "The end date is before the start date."
    if values["headcount"] is not None and values["headcount"] < 0:
        errors["headcount"] = "Headcount cannot be negative."
    if values["status"] not in Initiative.Status.values:
        errors["status"] = "Choose a status."
    impacts = [values[f] for f in IMPACT_FIELDS]
    rated = [v for v in impacts if v is not None]
    if any(not IMPACT_MIN <= v <= IMPACT_MAX for v in rated):
        errors["impact_team"] = f"Impact runs from {IMPACT_MIN} to +{IMPACT_MAX}."
    elif rated and len(rated) != len(impacts):
        for name, value in zip(IMPACT_FIELDS, impacts, strict=True):
            if value is None:
                errors[name] = "Rate all three sides, or none."
    else:
        lean = impact_lean(*impacts)
        if lean is not None and not values["counter_measure"].strip():
            errors["counter_measure"] = lean.prompt("initiative")
    return errors


def _initiative_values(values: InitiativeFields) -> dict:
    cleaned = dict(values)
    for name in ("title", "function"):
        cleaned[name] = values[name].strip()
    for name in ("description", "counter_measure"):
        cleaned[name] = _clean_text(values[name])
    return cleaned


def initiative_create(
    *,
    squad: Squad,
    key: str,
    values: InitiativeFields,
    by: AbstractBaseUser,
    milestones: Iterable[Milestone] | None = None,
) -> Initiative:
    """A new initiative; with `milestones`, the milestones it serves, in the same
    transaction."""
    key = key.strip()
    milestones = list(milestones or [])
    errors = initiative_problems(values)
    if problem := key_problem(key):
        errors["key"] = problem
    elif Initiative.objects.filter(squad=squad, key=key).exists():
        errors["key"] = "Another initiative of this squad uses this key."
    if problem := milestones_problem(values["segment"], milestones):
        errors["milestones"] = problem
    _raise(errors)
    try:
        with transaction.atomic():
            initiative = Initiative.objects.create(
                squad=squad, key=key, **_initiative_values(values)
            )
            initiative_milestones_set(initiative=initiative, milestones=milestones)
            return initiative
    except IntegrityError as exc:
        raise ValidationError({"key": "Another initiative of this squad uses this key."}) from exc


def initiatives_create(
    *, rows: Sequence[tuple[Squad, str, InitiativeFields]], by: AbstractBaseUser
) -> list[Initiative]:
    """Many new initiatives at once (an import): each checked as initiative_create checks
    it, all written with one statement per 2,000 rows and a history entry each, or none.
    Raises ValidationError for the first row with a problem."""
    keys = [(squad, key.strip()) for squad, key, _values in rows]
    taken = set(
        Initiative.objects.filter(
            squad__in={squad for squad, _ in keys}, key__in={key for _, key in keys}
        ).values_list("squad_id", "key")
    )
    made = []
    for (squad, key), (_squad, _key, values) in zip(keys, rows, strict=True):
        errors = initiative_problems(values)
        if problem := key_problem(key):
            errors["key"] = problem
        elif (squad.pk, key) in taken:
            errors["key"] = "Another initiative of this squad uses this key."
        _raise(errors)
        taken.add((squad.pk, key))
        made.append(Initiative(squad=squad, key=key, **_initiative_values(values)))
    try:
        with transaction.atomic():
            rows_created(Initiative, made, by=by)
    except IntegrityError as exc:
        raise ValidationError({"key": "Another initiative of this squad uses this key."}) from exc
    return made


def initiative_update(
    *,
    initiative: Initiative,
    values: InitiativeFields,
    by: AbstractBaseUser,
    version: int | None = None,
    reason: str = "",
    milestones: Iterable[Milestone] | None = None,
) -> Initiative:
    """Change an initiative; its key stays what it was created with.

    With `version`, only if nobody saved it since that version (else versioning.Conflict,
    and nothing is written, the milestones neither). With `milestones`, the milestones it
    serves, in the same transaction; None leaves them as they are.
    """
    errors = initiative_problems(values)
    if milestones is not None:
        milestones = list(milestones)
        if problem := milestones_problem(values["segment"], milestones):
            errors["milestones"] = problem
    _raise(errors)
    cleaned = _initiative_values(values)
    with transaction.atomic():
        versioning.save_versioned(
            initiative,
            values=cleaned,
            expected=version,
            by=by,
            squad_ids=[initiative.squad_id],
            reason=reason,
        )
        if milestones is not None:
            initiative_milestones_set(initiative=initiative, milestones=milestones)
    for name, value in cleaned.items():
        setattr(initiative, name, value)
    return initiative


# The order of a squad's initiatives on its plan: by function, then as the squad arranged
# them (`position`; not yet arranged ones after), then by start.
INITIATIVE_ORDER = ("function", F("position").asc(nulls_last=True), "starts", "id")
ONE_FUNCTION = "Move initiatives among their own function's: the plan groups them by function."


def _initiatives_locked(squad_id: int) -> list[Initiative]:
    return list(
        Initiative.objects.select_for_update()
        .filter(squad_id=squad_id)
        .order_by(*INITIATIVE_ORDER)
        .only("pk", "key", "function", "position")
    )


def _initiatives_placed(squad_id: int, initiatives: list[Initiative], order: list[str]) -> None:
    ordering.renumber(Initiative, initiatives, order)
    # update() sends no post_save: the plan's open pages hear of the new order here.
    cowriting.plan_changed([squad_id])


def initiative_order_set(*, squad: Squad, keys: list[str], was: list[str]) -> list[str]:
    """Put some of the squad's initiatives, all of one function, in this order on its plan.

    Refused with core.ordering.OrderChanged when someone reordered them since the page showed
    them in the order `was`, and with a ValidationError when `keys` are not distinct
    initiatives of this squad and of one function: nothing moves either way.
    """
    with transaction.atomic():
        initiatives = _initiatives_locked(squad.pk)
        if len({i.function for i in initiatives if i.key in set(keys)}) > 1:
            raise ValidationError(ONE_FUNCTION, code="invalid")
        order = ordering.reordered([i.key for i in initiatives], keys=keys, was=was)
        _initiatives_placed(squad.pk, initiatives, order)
    return order


def initiative_move(*, initiative: Initiative, direction: str) -> bool:
    """Swap an initiative with the one before or after it in its function on the plan; False
    when it is already at that end."""
    if direction not in ("up", "down"):
        raise ValidationError({"direction": "Move an initiative up or down."})
    with transaction.atomic():
        initiatives = _initiatives_locked(initiative.squad_id)
        group = [i.key for i in initiatives if i.function == initiative.function]
        if initiative.key not in group:  # removed, or moved to another function, meanwhile
            raise ValidationError("This initiative is not on the plan any more.")
        index = group.index(initiative.key)
        other = index - 1 if direction == "up" else index + 1
        if not 0 <= other < len(group):
            return False
        moved = list(group)
        moved[index], moved[other] = moved[other], moved[index]
        order = ordering.reordered([i.key for i in initiatives], keys=moved, was=group)
        _initiatives_placed(initiative.squad_id, initiatives, order)
    return True


def initiative_drop(
    *, initiative: Initiative, by: AbstractBaseUser, version: int | None, reason: str = ""
) -> Initiative:
    """The squad will not do this work after all: its status becomes dropped.

    With `version`, only if nobody saved it since that version (else versioning.Conflict).
    """
    if initiative.status == Initiative.Status.DROPPED:
        raise ValidationError(f"“{initiative.title}” is dropped already.")
    saved = versioning.save_versioned(
        initiative,
        values={"status": Initiative.Status.DROPPED},
        expected=version,
        by=by,
        squad_ids=[initiative.squad_id],
        reason=reason,
    )
    initiative.status = saved.status
    initiative.version = saved.version
    return initiative


# ---------------------------------------------------------------------------------------
# Which squad covers which journey stage
# ---------------------------------------------------------------------------------------


def squad_stage_cover(
    *, squad: Squad, stage: Stage, by: AbstractBaseUser, reason: str = ""
) -> SquadStage:
    """The squad covers this journey stage from now on; its history says who decided."""
    try:
        with transaction.atomic():
            # Changes to one squad's stages take turns (squad_stages_set compares first).
            _locked(squad)
            if SquadStage.objects.filter(squad=squad, stage=stage).exists():
                raise ValidationError(
                    {"squad": f"{squad.name} covers the {stage.name} stage already."}
                )
            cover = SquadStage(squad=squad, stage=stage)
            cover._history_user = by
            cover._change_reason = versioning.change_reason(reason)
            cover.save()
    except IntegrityError as exc:
        raise ValidationError(
            {"squad": f"{squad.name} covers the {stage.name} stage already."}
        ) from exc
    return cover


def squad_stage_uncover(
    *, squad: Squad, stage: Stage, by: AbstractBaseUser, reason: str = ""
) -> bool:
    """The squad no longer covers this stage; its history says who decided. False when it
    did not cover it."""
    with transaction.atomic():
        _locked(squad)
        cover = SquadStage.objects.filter(squad=squad, stage=stage).first()
        if cover is None:
            return False
        cover._history_user = by
        cover._change_reason = versioning.change_reason(reason)
        cover.delete()
    return True


def squad_stages_version(stage_ids: Iterable[int]) -> str:
    """The stages a squad covers as an editor showed them: their ids, in order."""
    return ",".join(str(pk) for pk in sorted(set(stage_ids)))


def squad_stages_set(
    *, squad: Squad, stages: Iterable[Stage], version: str, by: AbstractBaseUser
) -> tuple[list[Stage], list[Stage]]:
    """The squad covers exactly these stages, if the ones it covers are still those the
    editor saw (`version`, from squad_stages_version). Each stage added or taken off is
    kept in the coverage history with who did it. Returns (added, removed)."""
    wanted = {stage.pk: stage for stage in stages}
    with transaction.atomic():
        _locked(squad)
        covers = SquadStage.objects.filter(squad=squad).select_related("stage")
        have = {cover.stage_id: cover.stage for cover in covers}
        if version != squad_stages_version(have):
            raise ValidationError(
                "Someone changed which stages this squad covers after you opened the form. "
                "The stages it covers now are shown, with your choice kept: save again to "
                "make it yours.",
                code="stale",
            )
        added = [wanted[pk] for pk in wanted if pk not in have]
        removed = [have[pk] for pk in have if pk not in wanted]
        for stage in added:
            squad_stage_cover(squad=squad, stage=stage, by=by, reason="Chosen on the squad's page")
        for stage in removed:
            squad_stage_uncover(
                squad=squad, stage=stage, by=by, reason="Taken off on the squad's page"
            )
    return added, removed


# ---------------------------------------------------------------------------------------
# The company's goals (docs/outcomes.md, "Goals above objectives")
# ---------------------------------------------------------------------------------------

# A goal's years lie within the dates a plan may hold (core.validators), and span a few years.
GOAL_YEAR_MIN, GOAL_YEAR_MAX = 2000, 2100
GOAL_MAX_YEARS = 10
GOAL_FIELDS = (
    "name",
    "description",
    "customer_success",
    "starts_year",
    "ends_year",
    "owner",
)


class GoalFields(TypedDict):
    name: str
    description: str
    customer_success: str
    starts_year: int | None
    ends_year: int | None
    owner: AbstractBaseUser | None


def goal_problems(values: GoalFields) -> dict[str, str]:
    """What is wrong with a goal, by field (its key is checked separately)."""
    errors: dict[str, str] = {}
    if is_blank(values["name"]):
        errors["name"] = "Name the goal."
    if is_blank(values["customer_success"]):
        errors["customer_success"] = (
            "Say what customers succeed at when this goal is met: every goal is about "
            "customer success too."
        )
    starts, ends = values["starts_year"], values["ends_year"]
    for name, year in (("starts_year", starts), ("ends_year", ends)):
        if year is None:
            errors[name] = "Give the year."
        elif not GOAL_YEAR_MIN <= year <= GOAL_YEAR_MAX:
            errors[name] = f"Use a year from {GOAL_YEAR_MIN} to {GOAL_YEAR_MAX}."
    if "starts_year" not in errors and "ends_year" not in errors:
        if ends < starts:
            errors["ends_year"] = f"The goal ends before it starts: use {starts} or later."
        elif ends - starts + 1 > GOAL_MAX_YEARS:
            errors["ends_year"] = f"A goal spans at most {GOAL_MAX_YEARS} years."
    return errors


def _goal_values(values: GoalFields) -> dict:
    return {
        "name": " ".join(values["name"].split()),
        "description": _clean_text(values["description"]),
        "customer_success": _clean_text(values["customer_success"]),
        "starts_year": values["starts_year"],
        "ends_year": values["ends_year"],
        "owner": values["owner"],
    }


GOAL_KEY_TAKEN = "Another goal uses this key."


def goal_create(
    *,
    key: str = "",
    values: GoalFields,
    segments: Iterable[Segment] = (),
    by: AbstractBaseUser,
) -> Goal:
    """A new company goal, last in the list; its key is made from its name when blank."""
    errors = goal_problems(values)
    key = key.strip()
    if key:
        if problem := key_problem(key):
            errors["key"] = problem
    elif "name" not in errors:
        key = key_from_name(values["name"])
        if not key:
            errors["key"] = "The name has no letters or digits to make a key from; type one."
    if key and "key" not in errors and Goal.objects.filter(key=key).exists():
        errors["key"] = GOAL_KEY_TAKEN
    _raise(errors)
    try:
        with transaction.atomic():
            last = Goal.objects.order_by("-position").values_list("position", flat=True).first()
            goal = Goal(key=key, position=0 if last is None else last + 1, **_goal_values(values))
            goal._history_user = by
            goal.save()
            goal.segments.set(list(segments))
    except IntegrityError as exc:
        raise ValidationError({"key": GOAL_KEY_TAKEN}) from exc
    return goal


def goal_update(
    *,
    goal: Goal,
    values: GoalFields,
    segments: Iterable[Segment],
    by: AbstractBaseUser,
    version: int | None,
    reason: str = "",
) -> Goal:
    """Change a goal (its key stays), if nobody saved it since `version` (else
    versioning.Conflict, and nothing is written: the segments neither)."""
    _raise(goal_problems(values))
    cleaned = _goal_values(values)
    owner = cleaned.pop("owner")
    cleaned["owner_id"] = owner.pk if owner is not None else None
    with transaction.atomic():
        versioning.save_versioned(goal, values=cleaned, expected=version, by=by, reason=reason)
        wanted = {segment.pk for segment in segments}
        if wanted != set(goal.segments.values_list("pk", flat=True)):
            goal.segments.set(sorted(wanted))
    return goal


def goal_order_set(*, keys: list[str], was: list[str]) -> list[str]:
    """Put the company's goals (or some of them) in this order; all their keys as now
    ordered. Refused, with nothing moved, as core.ordering.reordered says."""
    with transaction.atomic():
        goals = list(Goal.objects.select_for_update().order_by("position", "starts_year", "id"))
        order = ordering.reordered([g.key for g in goals], keys=keys, was=was)
        ordering.renumber(Goal, goals, order)
    return order


def goal_move(*, goal: Goal, direction: str) -> bool:
    """Swap a goal with the one above or below it; False when it is already at that end."""
    if direction not in ("up", "down"):
        raise ValidationError({"direction": "Move a goal up or down."})
    with transaction.atomic():
        goals = list(Goal.objects.select_for_update().order_by("position", "starts_year", "id"))
        index = next((i for i, g in enumerate(goals) if g.pk == goal.pk), None)
        if index is None:  # removed meanwhile
            raise Gone(Goal.everything.get(pk=goal.pk), "goal")
        other = index - 1 if direction == "up" else index + 1
        if not 0 <= other < len(goals):
            return False
        goals[index], goals[other] = goals[other], goals[index]
        # Renumbered whole: positions may repeat. An UPDATE, so editors' versions stay.
        for position, each in enumerate(goals):
            if each.position != position:
                Goal.objects.filter(pk=each.pk).update(position=position)
    return True
