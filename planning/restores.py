"""Restoring what people removed, and deleting it for good after the keeping time
(docs/removing.md; removing itself is planning/removals.py).

Restoring clears the `removal` mark of every row a removal took, and undoes what the removal
recorded besides (the coverage it ended, the stages it cleared, the dependencies it
re-pointed or declined, the objectives a goal was taken off), unless someone changed that
since: then it stays, and the notes returned say so. The nightly purge deletes what was
removed more than REMOVAL_KEEP_DAYS ago.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Iterable

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError, RestrictedError
from django.utils import timezone

from core.models import Removal
from core.removal import write_rows
from dependencies import services as dependency_services
from dependencies.models import OPEN_STATUSES, Dependency
from journeys.models import Journey, Stage
from planning.removals import ALREADY, REFUSED, Kind
from squads.models import (
    OKR,
    Comment,
    Goal,
    Initiative,
    KeyResult,
    ObjectiveGoal,
    Squad,
    SquadStage,
)

logger = logging.getLogger(__name__)

# Removals one run of the nightly purge deletes; the next night takes the rest.
PURGE_BATCH = 200

# ---------------------------------------------------------------------------------------
# Restoring
# ---------------------------------------------------------------------------------------

# Every removable model, in the order restoring brings rows back.
REMOVABLE = (Journey, Stage, Squad, Initiative, KeyResult, Dependency, Comment, Goal)


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
    for goal in marked[Goal]:
        if Goal.objects.filter(key=goal.key).exists():
            problems.append(f"A goal with the key “{goal.key}” was made since.")
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
    for okr_id, goal_id in details.get("objective_links", []):
        # One row at a time, as any link is made (planning/changes.py follows each).
        if not OKR.objects.filter(pk=okr_id).exists():
            continue
        if not ObjectiveGoal.objects.filter(okr_id=okr_id, goal_id=goal_id).exists():
            ObjectiveGoal.objects.create(okr_id=okr_id, goal_id=goal_id)
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
            # Removals recorded before statuses kept their reason hold none.
            {
                "status": row["status"],
                "note": row["note"],
                "status_reason": row.get("status_reason", ""),
            },
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
PURGE_ORDER = (Comment, Dependency, KeyResult, Initiative, Stage, Squad, Journey, Goal)


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
