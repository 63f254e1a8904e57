"""Thin edges: a saved or deleted plan object queues a review of the cycles it belongs to.

Connected in PlanningConfig.ready(). The work (coalescing, after-commit, failing softly)
is planning.tasks.review_enqueue. Bulk writes (bulk_create, update) send no signals: code
that uses them calls review_enqueue itself.
"""

from __future__ import annotations

from django.db.models.signals import post_delete, post_save

from core.models import Capacity
from dependencies.models import Dependency
from journeys.models import Stage
from planning.tasks import review_enqueue, review_enqueue_open_cycles
from squads.models import OKR, Initiative, KeyResult, Membership, Squad, SquadStage


def _squad_cycles(*squad_ids: int | None) -> set[int]:
    ids = {pk for pk in squad_ids if pk is not None}
    if not ids:
        return set()
    return set(Squad.objects.filter(pk__in=ids).values_list("cycle_id", flat=True))


def _initiative_changed(instance: Initiative, **kwargs) -> None:
    cycles = _squad_cycles(instance.squad_id)
    if kwargs.get("signal") is post_save:
        # Dependencies from other cycles that this initiative provides judge its end date.
        for from_squad, from_initiative_squad in Dependency.objects.filter(
            to_initiative=instance
        ).values_list("from_squad__cycle_id", "from_initiative__squad__cycle_id"):
            cycles.add(from_squad or from_initiative_squad)
    review_enqueue(cycles)


def _dependency_changed(instance: Dependency, **kwargs) -> None:
    if instance.from_squad_id is not None:
        review_enqueue(_squad_cycles(instance.from_squad_id))
    elif instance.from_initiative_id is not None:
        review_enqueue(
            Initiative.objects.filter(pk=instance.from_initiative_id).values_list(
                "squad__cycle_id", flat=True
            )
        )


def _squad_changed(instance: Squad, **kwargs) -> None:
    review_enqueue([instance.cycle_id])


def _capacity_changed(instance: Capacity, **kwargs) -> None:
    review_enqueue([instance.cycle_id])


def _squad_part_changed(instance: Membership | SquadStage, **kwargs) -> None:
    review_enqueue(_squad_cycles(instance.squad_id))


def _okr_changed(instance: OKR, **kwargs) -> None:
    review_enqueue([instance.cycle_id])


def _key_result_changed(instance: KeyResult, **kwargs) -> None:
    review_enqueue(OKR.objects.filter(pk=instance.okr_id).values_list("cycle_id", flat=True))


def _stage_changed(instance: Stage, **kwargs) -> None:
    review_enqueue_open_cycles()


RECEIVERS = [
    (Initiative, _initiative_changed),
    (Dependency, _dependency_changed),
    (Squad, _squad_changed),
    (Capacity, _capacity_changed),
    (Membership, _squad_part_changed),
    (SquadStage, _squad_part_changed),
    (OKR, _okr_changed),
    (KeyResult, _key_result_changed),
    (Stage, _stage_changed),
]


def saved_without_signal(instance) -> None:
    """For writes made with update() (compare-and-swap saves): queue the review that a
    save() of this instance would have queued."""
    receivers = dict(RECEIVERS)
    receiver = receivers.get(type(instance))
    if receiver is not None:
        receiver(instance, signal=post_save)


def _on_save(receiver):
    def handler(sender, instance, raw=False, **kwargs):
        if not raw:  # fixtures load rows as they are
            receiver(instance, **kwargs)

    return handler


def connect() -> None:
    for model, receiver in RECEIVERS:
        uid = f"review-{model._meta.label_lower}"
        post_save.connect(_on_save(receiver), sender=model, weak=False, dispatch_uid=uid)
        post_delete.connect(
            lambda sender, instance, _r=receiver, **kw: _r(instance, **kw),
            sender=model,
            weak=False,
            dispatch_uid=uid,
        )
