"""Removing, restoring and purging: journeys, stages, squads, initiatives, key results,
dependencies and comments (docs/removing.md).

Nothing is deleted when a person removes it. The row, and the rows that belong to it, are
marked with one core.models.Removal (core/removal.py), which every default manager leaves
out; what the removal changes besides (coverage it ends, stages it clears, dependencies it
re-points or declines) is recorded on the Removal, so `removal_restore` puts back exactly
what went. After settings.REMOVAL_KEEP_DAYS, `removals_purge` deletes it for good.

Each kind has a plan (`<kind>_removal`): what goes, what it takes with it, what it warns of,
what it refuses, and the question a person must answer when a choice exists. The
confirmation page shows the plan; the removal (`<kind>_remove`) draws it again under a lock
and goes ahead only if it is still what the page showed (`RemovalPlan.digest`): a change
made meanwhile sends the person back to look again. This module is in the top layer
because a removal reaches across apps (a stage's coverage belongs to squads, an
initiative's dependencies to the dependencies app).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, ProtectedError, Q, RestrictedError
from django.utils import timezone

from core.models import Removal
from core.people import display_name
from core.removal import write_rows
from dependencies import services as dependency_services
from dependencies.models import OPEN_STATUSES, Dependency
from journeys.models import Journey, Stage
from journeys.services import journey_version
from planning.plan.presenters import SECTIONS
from squads.models import OKR, CheckIn, Comment, Initiative, KeyResult, Squad, SquadStage

logger = logging.getLogger(__name__)

Kind = Removal.Kind

# What a confirmation lists of one kind of thing before it says "and N more".
LISTED = 20
# Removals one run of the nightly purge deletes; the next night takes the rest.
PURGE_BATCH = 200

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
    return Dependency.objects.filter(Q(from_squad=squad) | Q(from_initiative__squad=squad))


def _asked_of(squad: Squad):
    """The open dependencies others need from this squad (or from one of its initiatives)."""
    return (
        Dependency.objects.filter(Q(to_squad=squad) | Q(to_initiative__squad=squad))
        .exclude(Q(from_squad=squad) | Q(from_initiative__squad=squad))
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
            before = {"id": dep.pk, "status": dep.status, "note": dep.note}
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


# ---------------------------------------------------------------------------------------
# Restoring
# ---------------------------------------------------------------------------------------

# Every removable model, in the order restoring brings rows back.
REMOVABLE = (Journey, Stage, Squad, Initiative, KeyResult, Dependency, Comment)


def _marked(removal: Removal) -> dict[type, list]:
    return {model: list(model.everything.filter(removal=removal)) for model in REMOVABLE}


def _removed(model, pk: int | None, removal: Removal) -> bool:
    """Whether the row is removed by another removal than this one."""
    if pk is None:
        return False
    found = model.everything.filter(pk=pk).values_list("removal_id", flat=True).first()
    return found is not None and found != removal.pk


def _restore_problems(removal: Removal, marked: dict[type, list]) -> list[str]:
    """Why restoring now would break a rule: what it belongs to is removed, or a key it held
    is taken by something made since."""
    problems = []
    for journey in marked[Journey]:
        if Journey.objects.filter(key=journey.key).exists():
            problems.append(f"A journey with the key “{journey.key}” was made since.")
    for stage in marked[Stage]:
        if _removed(Journey, stage.journey_id, removal):
            problems.append("Its journey was removed: restore the journey first.")
        elif Stage.objects.filter(journey_id=stage.journey_id, key=stage.key).exists():
            problems.append(f"The journey has a new stage with the key “{stage.key}”.")
    for squad in marked[Squad]:
        if Squad.objects.filter(key=squad.key).exists():
            problems.append(f"A squad with the key “{squad.key}” was formed since.")
    for initiative in marked[Initiative]:
        if _removed(Squad, initiative.squad_id, removal):
            problems.append("Its squad was removed: restore the squad first.")
        elif Initiative.objects.filter(squad_id=initiative.squad_id, key=initiative.key).exists():
            problems.append(f"The squad has a new initiative with the key “{initiative.key}”.")
    for key_result in marked[KeyResult]:
        okr = OKR.objects.get(pk=key_result.okr_id)
        if _removed(Squad, okr.squad_id, removal):
            problems.append("Its squad was removed: restore the squad first.")
        elif KeyResult.objects.filter(okr=okr, key=key_result.key).exists():
            problems.append(f"The OKR has a new key result with the key “{key_result.key}”.")
    for dep in marked[Dependency]:
        parties = [
            (Squad, dep.from_squad_id, "the squad that needs it"),
            (Initiative, dep.from_initiative_id, "the initiative that needs it"),
        ]
        if removal.kind == Kind.DEPENDENCY:
            parties += [
                (Squad, dep.to_squad_id, "the squad it is asked of"),
                (Initiative, dep.to_initiative_id, "the initiative it is asked of"),
            ]
        for model, pk, who in parties:
            if _removed(model, pk, removal):
                problems.append(f"{who[0].upper()}{who[1:]} was removed: restore it first.")
        if Dependency.objects.filter(key=dep.key).exists():
            problems.append(f"A dependency with the key “{dep.key}” was recorded since.")
    for comment in marked[Comment]:
        if _removed(Squad, comment.squad_id, removal):
            problems.append("Its squad was removed: restore the squad first.")
        elif _removed(Initiative, comment.initiative_id, removal):
            problems.append("The initiative it is on was removed: restore the initiative first.")
    return list(dict.fromkeys(problems))


def _undo_details(removal: Removal, by) -> list[str]:
    """Undo what the removal changed besides marking rows; say what could not be undone."""
    details, notes = removal.details or {}, []
    reason = f"Restored with {removal.label}"
    for squad_id, stage_id in details.get("coverage", []):
        if not Squad.everything.filter(pk=squad_id).exists():
            continue
        if SquadStage.objects.filter(squad_id=squad_id, stage_id=stage_id).exists():
            continue
        cover = SquadStage(squad_id=squad_id, stage_id=stage_id)
        cover._history_user = by
        cover._change_reason = reason[:100]
        cover.save()
    by_stage: dict[int, list[int]] = defaultdict(list)
    for initiative_id, stage_id in details.get("stages_cleared", []):
        by_stage[stage_id].append(initiative_id)
    for stage_id, initiative_ids in by_stage.items():
        # Only where nobody chose another stage meanwhile.
        write_rows(
            Initiative, initiative_ids, {"stage_id": stage_id}, by=by, reason=reason,
            where={"stage__isnull": True},
        )  # fmt: skip
    for dep_id, initiative_id in details.get("asked_of_squad", []):
        squad_id = Initiative.everything.filter(pk=initiative_id).values_list("squad_id", flat=True)
        done = write_rows(
            Dependency,
            [dep_id],
            {"to_initiative_id": initiative_id, "to_squad_id": None},
            by=by,
            reason=reason,
            where={"to_initiative__isnull": True, "to_squad_id__in": list(squad_id)},
        )
        if not done and Dependency.everything.filter(pk=dep_id).exists():
            dep = Dependency.everything.get(pk=dep_id)
            notes.append(f"“{dep.what}” ({dep.key}) was changed since, so it stays as it is.")
    for row in details.get("declined", []):
        done = write_rows(
            Dependency,
            [row["id"]],
            {"status": row["status"], "note": row["note"]},
            by=by,
            reason=reason,
            where={"status": "declined", "note": row["note_after"], "removal": None},
        )
        if not done and Dependency.everything.filter(pk=row["id"]).exists():
            dep = Dependency.everything.get(pk=row["id"])
            notes.append(
                f"“{dep.what}” ({dep.key}) was answered or changed since it was declined, so "
                "it stays as it is."
            )
    return notes


def _decline_on_removed_providers(dependencies: Iterable[Dependency], by) -> list[str]:
    """A dependency restored open never asks a removed squad or initiative: it is declined,
    saying why, as the provider's removal declined the others."""
    notes = []
    for dep in dependencies:
        if dep.status not in OPEN_STATUSES:
            continue
        provider = dep.provider_squad()
        initiative = dep.to_initiative
        gone = provider if provider is not None and provider.removal_id else None
        if gone is None and initiative is not None and initiative.removal_id:
            gone = initiative
        if gone is None:
            continue
        dependency_services.dependency_respond(
            dependency=dep, by=by, action="decline", reason=f"{gone} was removed"
        )
        notes.append(f"“{dep.what}” ({dep.key}) asks {gone}, which was removed: it is declined.")
    return notes


def removal_restore(*, removal: Removal, by) -> list[str]:
    """Put back everything the removal took away, as it was; return notes on what could not
    be put back exactly (a dependency answered since, say). Raises ValidationError with a
    sentence when it is restored or gone already (code ALREADY) or would break a rule
    (REFUSED), and then changes nothing."""
    with transaction.atomic():
        locked = Removal.objects.select_for_update().get(pk=removal.pk)
        if locked.restored_at is not None:
            raise ValidationError(
                f"{locked.label[:1].upper()}{locked.label[1:]} is back already.", code=ALREADY
            )
        if locked.purged_at is not None:
            raise ValidationError(
                f"{locked.label[:1].upper()}{locked.label[1:]} was deleted for good after "
                f"{settings.REMOVAL_KEEP_DAYS} days.",
                code=ALREADY,
            )
        marked = _marked(locked)
        if problems := _restore_problems(locked, marked):
            raise ValidationError("It cannot come back yet: " + " ".join(problems), code=REFUSED)
        for model in REMOVABLE:
            write_rows(
                model,
                [row.pk for row in marked[model]],
                {"removal_id": None},
                by=by,
                reason="Restored",
                where={"removal": locked},
            )
        notes = _undo_details(locked, by)
        restored_deps = Dependency.objects.filter(pk__in=[d.pk for d in marked[Dependency]])
        notes += _decline_on_removed_providers(
            restored_deps.select_related("to_squad", "to_initiative__squad"), by
        )
        locked.restored_at = timezone.now()
        locked.restored_by = by
        locked.save(update_fields=["restored_at", "restored_by"])
    removal.restored_at, removal.restored_by = locked.restored_at, by
    return notes


# ---------------------------------------------------------------------------------------
# Waiting removals and the purge
# ---------------------------------------------------------------------------------------


def waiting_removals():
    """The removals that can still be restored, newest first."""
    return Removal.objects.filter(restored_at__isnull=True, purged_at__isnull=True).order_by(
        "-removed_at", "-pk"
    )


def keep_until(removal: Removal) -> dt.datetime:
    return removal.removed_at + dt.timedelta(days=settings.REMOVAL_KEEP_DAYS)


# Deleted in this order: what needs or hangs on a row goes before it.
PURGE_ORDER = (Comment, Dependency, KeyResult, Initiative, Stage, Squad, Journey)


def removals_purge(*, now: dt.datetime | None = None) -> int:
    """Delete for good what was removed more than REMOVAL_KEEP_DAYS ago and not restored;
    the number of removals purged. A removal whose rows something still names (another
    squad's declined dependency on a removed squad) stays removed and restorable."""
    now = now or timezone.now()
    cutoff = now - dt.timedelta(days=settings.REMOVAL_KEEP_DAYS)
    due = list(
        waiting_removals().filter(removed_at__lt=cutoff).order_by("removed_at", "pk")[:PURGE_BATCH]
    )
    purged = 0
    for removal in due:
        try:
            with transaction.atomic():
                for model in PURGE_ORDER:
                    model.everything.filter(removal=removal).delete()
                Removal.objects.filter(
                    pk=removal.pk, purged_at__isnull=True, restored_at__isnull=True
                ).update(purged_at=now)
        except (ProtectedError, RestrictedError, IntegrityError) as error:
            logger.warning("Kept removal %s (%s): %s", removal.pk, removal.label, error)
            continue
        purged += 1
    return purged
