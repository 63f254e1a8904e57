"""Removing journeys, stages, squads, initiatives, key results, dependencies, comments and
the company's goals (docs/removing.md).

Nothing is deleted when a person removes it. The row, and the rows that belong to it, are
marked with one core.models.Removal (core/removal.py), which every default manager leaves
out; what the removal changes besides (coverage it ends, stages it clears, dependencies it
re-points or declines) is recorded on the Removal, so restoring (planning/restores.py) puts
back exactly what went. After settings.REMOVAL_KEEP_DAYS, the nightly purge there deletes it
for good.

Each kind has a plan (`<kind>_removal`): what goes, what it takes with it, what it warns of,
what it refuses, and the question a person must answer when a choice exists. The
confirmation page shows the plan; the removal (`<kind>_remove`) draws it again under a lock
and goes ahead only if it is still what the page showed (`RemovalPlan.digest`): a change
made meanwhile sends the person back to look again. This module is in the top layer
because a removal reaches across apps (a stage's coverage belongs to squads, an
initiative's dependencies to the dependencies app).
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from core.models import Removal
from core.people import display_name
from core.removal import write_rows
from dependencies import services as dependency_services
from dependencies.models import OPEN_STATUSES, Dependency
from journeys.models import Journey, Stage
from journeys.services import journey_version
from planning.plan.presenters import SECTIONS
from squads.models import (
    CheckIn,
    Comment,
    Goal,
    Initiative,
    KeyResult,
    ObjectiveGoal,
    Squad,
    SquadStage,
)

Kind = Removal.Kind

# What a confirmation lists of one kind of thing before it says "and N more".
LISTED = 20

ALREADY = "already"  # ValidationError codes: removed before (a second submit, say)
CHANGED = "changed"  # something the page showed changed since
UNANSWERED = "unanswered"  # the page's question has no answer
REFUSED = "refused"  # the removal or the restore would break a rule

CHANGED_MESSAGE = (
    "Something here changed since this page was drawn, so nothing was removed. "
    "Look at it again below, then confirm if you still want to."
)


@dataclass(frozen=True)
class Consequence:
    """A group of things a removal takes with it, or warns of."""

    title: str
    items: tuple[str, ...] = ()
    more: int = 0  # how many besides those listed


def consequence(title: str, items: Iterable[str]) -> Consequence:
    items = list(items)
    return Consequence(title, tuple(items[:LISTED]), max(len(items) - LISTED, 0))


def _plural(count: int, one: str, many: str | None = None) -> str:
    return f"{count} {one if count == 1 else (many or one + 's')}"


def _quoted(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return f"“{text if len(text) <= limit else text[: limit - 1].rstrip() + '…'}”"


@dataclass
class RemovalPlan:
    """What removing one thing means, as its confirmation page shows it."""

    kind: str
    target: object
    what: str  # the kind in a sentence: "stage", "key result"
    label: str  # which one: "the stage “Onboarding” of Customer lifecycle"
    takes: list[Consequence] = field(default_factory=list)
    warnings: list[Consequence] = field(default_factory=list)
    refusal: str = ""
    question: str = ""  # asked when a choice exists; `answer` is the box that says yes
    answer: str = ""
    squad_pk: int | None = None
    owner_id: int | None = None
    version: str = ""  # the target as the page showed it
    write: Callable[[Removal, object], dict] | None = None  # (removal, by) -> details

    @property
    def digest(self) -> str:
        """What the page showed, in short: the removal goes ahead only if it is unchanged."""
        shown = [
            self.kind,
            self.target.pk,
            self.version,
            self.label,
            self.refusal,
            self.question,
            [(c.title, c.items, c.more) for c in (*self.takes, *self.warnings)],
        ]
        return hashlib.sha256(json.dumps(shown, default=str).encode()).hexdigest()[:20]

    @property
    def summary(self) -> list[str]:
        """What it took with it, in words, for the Recently removed page."""
        return [c.title for c in self.takes]


# ---------------------------------------------------------------------------------------
# Journeys and stages
# ---------------------------------------------------------------------------------------


def _stage_consequences(
    stage_ids: list[int], *, journey: bool = False
) -> tuple[list[Consequence], list[Consequence], str]:
    """What removing these stages (a journey's, with `journey`) takes and warns of, and the
    coverage question's squads."""
    takes, warnings = [], []
    its, it = ("Their", "them") if journey else ("Its", "it")
    moments = Stage.objects.filter(pk__in=stage_ids).aggregate(n=Count("moments"))["n"]
    if moments:
        takes.append(consequence(f"{its} {_plural(moments, 'moment')}", []))
    covering = list(
        SquadStage.objects.filter(stage_id__in=stage_ids, squad__removal__isnull=True)
        .select_related("squad", "stage")
        .order_by("squad__name", "squad_id", "stage__position", "stage_id")
    )
    if covering:
        names = [
            f"{c.squad.name} covers {c.stage.name}" if len(stage_ids) > 1 else c.squad.name
            for c in covering
        ]
        takes.append(consequence(f"The coverage of the squads that cover {it}", names))
    named = list(
        Initiative.objects.filter(stage_id__in=stage_ids)
        .select_related("squad")
        .order_by("squad__name", "title", "pk")
    )
    if named:
        warnings.append(
            consequence(
                f"{_plural(len(named), 'initiative')} name "
                + ("one of its stages" if journey else "it")
                + " as their stage and will name none (restoring it names it again)",
                [f"{i.title} ({i.squad.name})" for i in named],
            )
        )
    squads = sorted({c.squad.name for c in covering})
    return takes, warnings, ", ".join(squads)


def _take_stages(stages: list[Stage], removal: Removal, by) -> dict:
    """Remove these stages: end the coverage of every squad that covers them, clear them
    from the initiatives that name them (removed squads' too, so nothing restored later
    points at a removed stage), and mark them. Returns what restoring must undo."""
    ids = [s.pk for s in stages]
    names = {s.pk: s.name for s in stages}
    coverage = []
    for cover in SquadStage.objects.filter(stage_id__in=ids).order_by("pk"):
        coverage.append([cover.squad_id, cover.stage_id])
        cover._history_user = by
        cover._change_reason = f"Its stage “{names[cover.stage_id]}” was removed"[:100]
        cover.delete()
    cleared = list(
        Initiative.everything.filter(stage_id__in=ids).order_by("pk").values_list("pk", "stage_id")
    )
    by_stage: dict[int, list[int]] = defaultdict(list)
    for initiative_id, stage_id in cleared:
        by_stage[stage_id].append(initiative_id)
    for stage_id, initiative_ids in by_stage.items():
        write_rows(
            Initiative,
            initiative_ids,
            {"stage_id": None},
            by=by,
            reason=f"Its stage “{names[stage_id]}” was removed",
            where={"stage_id": stage_id},
        )
    write_rows(
        Stage, ids, {"removal_id": removal.pk}, by=by, reason="Removed", where={"removal": None}
    )
    return {"coverage": coverage, "stages_cleared": [list(row) for row in cleared]}


def stage_removal(stage: Stage) -> RemovalPlan:
    takes, warnings, covering = _stage_consequences([stage.pk])
    plan = RemovalPlan(
        kind=Kind.STAGE,
        target=stage,
        what="stage",
        label=f"the stage {_quoted(stage.name)} of {stage.journey.name}",
        takes=takes,
        warnings=warnings,
        version=str(stage.version),
    )
    if covering:
        plan.question = (
            f"Squads cover this stage ({covering}). Removing the stage ends their coverage "
            "too; restoring it brings the coverage back."
        )
        plan.answer = "Remove the stage and end their coverage"
    plan.write = lambda removal, by: _take_stages([stage], removal, by)
    return plan


def journey_removal(journey: Journey) -> RemovalPlan:
    stages = list(Stage.objects.filter(journey=journey).order_by("position", "pk"))
    takes, warnings, covering = _stage_consequences([s.pk for s in stages], journey=True)
    if stages:
        takes.insert(
            0, consequence(f"Its {_plural(len(stages), 'stage')}", [s.name for s in stages])
        )
    segments = list(journey.segments.order_by("pk").values_list("pk", flat=True))
    plan = RemovalPlan(
        kind=Kind.JOURNEY,
        target=journey,
        what="journey",
        label=f"the journey {_quoted(journey.name)}",
        takes=takes,
        warnings=warnings,
        version=journey_version(journey, segments),
    )
    if stages:
        plan.question = f"This journey has {_plural(len(stages), 'stage')}: they go with it" + (
            f", and so does the coverage of the squads that cover them ({covering})."
            if covering
            else "."
        )
        plan.answer = "Remove the journey and its stages" + (
            " and end their coverage" if covering else ""
        )

    def write(removal: Removal, by) -> dict:
        details = _take_stages(stages, removal, by)
        write_rows(
            Journey, [journey.pk], {"removal_id": removal.pk}, by=by, reason="Removed",
            where={"removal": None},
        )  # fmt: skip
        return details

    plan.write = write
    return plan


# ---------------------------------------------------------------------------------------
# Squads
# ---------------------------------------------------------------------------------------


def _needed_by(squad: Squad):
    return Dependency.objects.filter(needer=squad)


def _asked_of(squad: Squad):
    """The open dependencies others need from this squad (or from one of its initiatives)."""
    return (
        Dependency.objects.filter(provider=squad)
        .exclude(needer=squad)
        .filter(status__in=OPEN_STATUSES)
        .select_related("from_squad", "from_initiative__squad")
        .order_by("due", "pk")
    )


def _dependency_line(dep: Dependency) -> str:
    return f"{dep.needer_squad().name} needs {_quoted(dep.what, 60)} by {dep.due:%-d %b %Y}"


def squad_removal(squad: Squad) -> RemovalPlan:
    initiatives = list(Initiative.objects.filter(squad=squad).order_by("title", "pk"))
    key_results = list(KeyResult.objects.filter(okr__squad=squad).order_by("pk"))
    needs = list(_needed_by(squad).order_by("due", "pk"))
    comments = Comment.objects.filter(squad=squad).count()
    covers = list(
        Stage.objects.filter(squadstage__squad=squad).order_by("journey_id", "position", "pk")
    )
    asked = list(_asked_of(squad))
    takes = [consequence("Its plan and its OKR", [])]
    if initiatives:
        takes.append(
            consequence(
                f"Its {_plural(len(initiatives), 'initiative')}", [i.title for i in initiatives]
            )
        )
    if key_results:
        takes.append(
            consequence(
                f"Its {_plural(len(key_results), 'key result')}", [k.name for k in key_results]
            )
        )
    if needs:
        takes.append(
            consequence(
                f"The {_plural(len(needs), 'dependency', 'dependencies')} it needs",
                [f"{_quoted(d.what, 60)} ({d.key})" for d in needs],
            )
        )
    if comments:
        takes.append(consequence(f"{_plural(comments, 'comment')} on its plan", []))
    if covers:
        takes.append(consequence("Its coverage of journey stages", [s.name for s in covers]))
    plan = RemovalPlan(
        kind=Kind.SQUAD,
        target=squad,
        what="squad",
        label=f"the squad {squad.name}",
        takes=takes,
        squad_pk=squad.pk,
        version=squad.updated_at.isoformat(),
    )
    if asked:
        plan.warnings.append(
            consequence("Open dependencies other squads need from it", map(_dependency_line, asked))
        )
        plan.question = (
            f"Other squads need {_plural(len(asked), 'open dependency', 'open dependencies')} "
            f"from {squad.name}. Removing the squad declines them, with a note saying why, so "
            "they can re-plan; restoring it puts them back as they were."
        )
        plan.answer = "Remove the squad and decline them"

    def write(removal: Removal, by) -> dict:
        # Declined first, while the squad is still there to say so in the note.
        reason = f"{squad.name} was removed"
        declined = []
        for dep in asked:
            before = {
                "id": dep.pk,
                "status": dep.status,
                "note": dep.note,
                "status_reason": dep.status_reason,
            }
            answered = dependency_services.dependency_respond(
                dependency=dep, by=by, action="decline", reason=reason, seen_status=dep.status
            )
            declined.append({**before, "note_after": answered.note})
        marks = {"removal_id": removal.pk}
        write_rows(Squad, [squad.pk], marks, by=by, reason="Removed", where={"removal": None})
        for model, rows in (
            (Initiative, initiatives),
            (KeyResult, key_results),
            (Dependency, needs),
            (Comment, Comment.objects.filter(squad=squad)),
        ):
            pks = [row.pk for row in rows]
            write_rows(
                model, pks, marks, by=by, reason="Removed with its squad", where={"removal": None}
            )
        return {"declined": declined}

    plan.write = write
    return plan


# ---------------------------------------------------------------------------------------
# Initiatives, key results, dependencies and comments
# ---------------------------------------------------------------------------------------


def initiative_removal(initiative: Initiative) -> RemovalPlan:
    squad = initiative.squad
    comments = Comment.objects.filter(initiative=initiative).count()
    needs = list(Dependency.objects.filter(from_initiative=initiative).order_by("due", "pk"))
    on_it = list(
        Dependency.objects.filter(to_initiative=initiative)
        .select_related("from_squad", "from_initiative__squad")
        .order_by("due", "pk")
    )
    own = [d for d in on_it if d.needer_squad_id() == squad.pk]
    others = [d for d in on_it if d.needer_squad_id() != squad.pk]
    takes = []
    if needs or own:
        takes.append(
            consequence(
                "The dependencies it needs, and its own squad's needs of it",
                [f"{_quoted(d.what, 60)} ({d.key})" for d in (*needs, *own)],
            )
        )
    if comments:
        takes.append(consequence(f"{_plural(comments, 'comment')} on it", []))
    plan = RemovalPlan(
        kind=Kind.INITIATIVE,
        target=initiative,
        what="initiative",
        label=f"the initiative {_quoted(initiative.title)} of {squad.name}",
        takes=takes,
        squad_pk=squad.pk,
        version=str(initiative.version),
    )
    if others:
        plan.warnings.append(
            consequence(
                "Other squads depend on it. Their dependencies stay on the board, asked of "
                f"{squad.name} instead, who answer them there (restoring the initiative asks "
                "it again)",
                map(_dependency_line, others),
            )
        )

    def write(removal: Removal, by) -> dict:
        repointed = write_rows(
            Dependency,
            [d.pk for d in others],
            {"to_initiative_id": None, "to_squad_id": squad.pk},
            by=by,
            reason=f"Asked of {squad.name}: its initiative “{initiative.title}” was removed",
            where={"to_initiative_id": initiative.pk, "removal": None},
        )
        marks = {"removal_id": removal.pk}
        write_rows(
            Initiative, [initiative.pk], marks, by=by, reason="Removed", where={"removal": None}
        )
        write_rows(
            Dependency,
            [d.pk for d in (*needs, *own)],
            marks,
            by=by,
            reason=f"Removed with the initiative “{initiative.title}”",
            where={"removal": None},
        )
        write_rows(
            Comment,
            Comment.objects.filter(initiative=initiative).values_list("pk", flat=True),
            marks,
            by=by,
            reason="Removed with its initiative",
            where={"removal": None},
        )
        return {"asked_of_squad": [[d.pk, initiative.pk] for d in repointed]}

    plan.write = write
    return plan


def key_result_removal(key_result: KeyResult) -> RemovalPlan:
    okr = key_result.okr
    squad = okr.squad
    check_ins = CheckIn.objects.filter(key_result=key_result).count()
    plan = RemovalPlan(
        kind=Kind.KEY_RESULT,
        target=key_result,
        what="key result",
        label=f"the key result {_quoted(key_result.name)} of {squad.name}",
        squad_pk=squad.pk,
        version=str(key_result.version),
    )
    if check_ins:
        plan.takes.append(consequence(f"Its {_plural(check_ins, 'check-in')}", []))
    if not KeyResult.objects.filter(okr=okr).exclude(pk=key_result.pk).exists():
        plan.refusal = (
            "This is the only key result of the squad's OKR, and an objective needs a number "
            "that shows it is met. Add the key result that replaces it first, then remove this one."
        )

    def write(removal: Removal, by) -> dict:
        write_rows(
            KeyResult, [key_result.pk], {"removal_id": removal.pk}, by=by, reason="Removed",
            where={"removal": None},
        )  # fmt: skip
        return {}

    plan.write = write
    return plan


def dependency_removal(dependency: Dependency) -> RemovalPlan:
    needer = dependency.needer_squad()
    plan = RemovalPlan(
        kind=Kind.DEPENDENCY,
        target=dependency,
        what="dependency",
        label=f"the dependency {_quoted(dependency.what, 60)} ({dependency.key}) of {needer.name}",
        squad_pk=needer.pk,
        version=str(dependency.version),
    )
    if dependency.status in ("accepted", "at_risk"):
        provider = dependency.provider_squad()
        who = provider.name if provider is not None else dependency.to_function
        plan.warnings.append(
            consequence(
                f"{who} accepted it: it leaves their list and the board too, so tell them you "
                "no longer need it",
                [],
            )
        )

    def write(removal: Removal, by) -> dict:
        write_rows(
            Dependency, [dependency.pk], {"removal_id": removal.pk}, by=by, reason="Removed",
            where={"removal": None},
        )  # fmt: skip
        return {}

    plan.write = write
    return plan


def comment_where(comment: Comment) -> str:
    if comment.initiative_id:
        return f"the initiative {_quoted(comment.initiative.title, 60)}"
    titles = {name: title for name, title in SECTIONS.values()} | {"not_doing": "Not doing"}
    return f"“{titles.get(comment.section, comment.section)}”"


def comment_removal(comment: Comment) -> RemovalPlan:
    plan = RemovalPlan(
        kind=Kind.COMMENT,
        target=comment,
        what="comment",
        label=(
            f"a comment by {display_name(comment.author)} on {comment_where(comment)}: "
            f"{_quoted(comment.body, 100)}"
        ),
        squad_pk=comment.squad_id,
        owner_id=comment.author_id,
    )

    def write(removal: Removal, by) -> dict:
        write_rows(
            Comment, [comment.pk], {"removal_id": removal.pk}, by=by, reason="Removed",
            where={"removal": None},
        )  # fmt: skip
        return {}

    plan.write = write
    return plan


# ---------------------------------------------------------------------------------------
# The company's goals
# ---------------------------------------------------------------------------------------


def goal_removal(goal: Goal) -> RemovalPlan:
    links = list(
        ObjectiveGoal.objects.filter(goal=goal)
        .select_related("okr__squad__cycle")
        .order_by("okr__squad__name", "okr_id")
    )
    live = [link for link in links if link.okr.squad.removal_id is None]
    plan = RemovalPlan(
        kind=Kind.GOAL,
        target=goal,
        what="goal",
        label=f"the goal {_quoted(goal.name)}",
        version=str(goal.version),
    )
    if links:
        plan.takes.append(
            consequence(
                f"Its place among the goals of {_plural(len(links), 'objective')}",
                [f"{link.okr.squad.name} ({link.okr.squad.cycle.name})" for link in links],
            )
        )
    if live:
        squads = ", ".join(sorted({link.okr.squad.name for link in live}))
        plan.question = (
            f"Objectives serve this goal ({squads}). Removing the goal takes it off them, "
            "so they may serve no goal until it comes back; restoring it puts it back on them."
        )
        plan.answer = "Remove the goal and take it off their objectives"

    def write(removal: Removal, by) -> dict:
        # One row at a time, so each change is followed like any other (planning/changes.py).
        taken = []
        for link in ObjectiveGoal.objects.filter(goal=goal).order_by("pk"):
            taken.append([link.okr_id, link.goal_id])
            link.delete()
        write_rows(
            Goal, [goal.pk], {"removal_id": removal.pk}, by=by, reason="Removed",
            where={"removal": None},
        )  # fmt: skip
        return {"objective_links": taken}

    plan.write = write
    return plan


# ---------------------------------------------------------------------------------------
# Removing: one way for every kind
# ---------------------------------------------------------------------------------------

PLANS: dict[str, tuple[type, Callable[[object], RemovalPlan], tuple[str, ...]]] = {
    # kind: (model, plan, what to read with the row)
    Kind.JOURNEY: (Journey, journey_removal, ()),
    Kind.STAGE: (Stage, stage_removal, ("journey",)),
    Kind.SQUAD: (Squad, squad_removal, ()),
    Kind.INITIATIVE: (Initiative, initiative_removal, ("squad",)),
    Kind.KEY_RESULT: (KeyResult, key_result_removal, ("okr__squad",)),
    Kind.DEPENDENCY: (Dependency, dependency_removal, ()),
    Kind.COMMENT: (Comment, comment_removal, ("author__profile", "initiative")),
    Kind.GOAL: (Goal, goal_removal, ()),
}


class AlreadyRemoved(ValidationError):
    """Someone removed it before (this person's second submit, or another person)."""

    def __init__(self, removal: Removal) -> None:
        super().__init__("This was removed already.", code=ALREADY)
        self.removal = removal


def removal_plan(kind: str, target) -> RemovalPlan:
    return PLANS[kind][1](target)


def _remove(kind: str, target, *, by, seen: str, answered: bool) -> Removal:
    """Remove `target` if its plan is still the one the person confirmed (`seen`, its
    digest) and its question, if any, is answered. Raises AlreadyRemoved, or
    ValidationError with a sentence and a code (CHANGED, UNANSWERED, REFUSED)."""
    model, plan_of, related = PLANS[kind]
    with transaction.atomic():
        locked = model.everything.select_for_update().get(pk=target.pk)
        if locked.removal_id is not None:
            raise AlreadyRemoved(
                Removal.objects.select_related("removed_by__profile").get(pk=locked.removal_id)
            )
        current = model.everything.all()
        if related:
            current = current.select_related(*related)
        current = current.get(pk=target.pk)
        plan = plan_of(current)
        if plan.refusal:
            raise ValidationError(plan.refusal, code=REFUSED)
        if plan.digest != seen:
            raise ValidationError(CHANGED_MESSAGE, code=CHANGED)
        if plan.question and not answered:
            raise ValidationError(f"Tick “{plan.answer}” to go ahead, or cancel.", code=UNANSWERED)
        removal = Removal.objects.create(
            kind=kind,
            target_id=current.pk,
            label=plan.label[:300],
            squad_pk=plan.squad_pk,
            owner_id=plan.owner_id,
            removed_by=by,
            removed_at=timezone.now(),
        )
        details = plan.write(removal, by)
        removal.details = {**details, "took": plan.summary}
        removal.save(update_fields=["details"])
    return removal


def stage_remove(*, stage: Stage, by, seen: str, answered: bool = False) -> Removal:
    return _remove(Kind.STAGE, stage, by=by, seen=seen, answered=answered)


def journey_remove(*, journey: Journey, by, seen: str, answered: bool = False) -> Removal:
    return _remove(Kind.JOURNEY, journey, by=by, seen=seen, answered=answered)


def squad_remove(*, squad: Squad, by, seen: str, answered: bool = False) -> Removal:
    return _remove(Kind.SQUAD, squad, by=by, seen=seen, answered=answered)


def initiative_remove(*, initiative: Initiative, by, seen: str) -> Removal:
    return _remove(Kind.INITIATIVE, initiative, by=by, seen=seen, answered=False)


def key_result_remove(*, key_result: KeyResult, by, seen: str) -> Removal:
    return _remove(Kind.KEY_RESULT, key_result, by=by, seen=seen, answered=False)


def dependency_remove(*, dependency: Dependency, by, seen: str) -> Removal:
    return _remove(Kind.DEPENDENCY, dependency, by=by, seen=seen, answered=False)


def comment_remove(*, comment: Comment, by, seen: str) -> Removal:
    return _remove(Kind.COMMENT, comment, by=by, seen=seen, answered=False)


def goal_remove(*, goal: Goal, by, seen: str, answered: bool = False) -> Removal:
    return _remove(Kind.GOAL, goal, by=by, seen=seen, answered=answered)
