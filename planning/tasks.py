from __future__ import annotations

import logging

from celery import shared_task
from django.utils import timezone

from planning.models import Cycle
from planning.services import review_run

logger = logging.getLogger(__name__)


@shared_task(acks_late=True, ignore_result=True)
def review_cycle(cycle_id: int, trigger: str = "schedule") -> None:
    """Review one cycle. Idempotent: a rerun refreshes the same findings."""
    cycle = Cycle.objects.filter(pk=cycle_id).first()
    if cycle is None:
        logger.info("Cycle %s no longer exists; nothing to review", cycle_id)
        return
    review_run(cycle=cycle, trigger=trigger)


@shared_task(acks_late=True, ignore_result=True)
def review_open_cycles() -> None:
    """The periodic sweep: queue a review for every cycle that has not ended."""
    today = timezone.localdate()
    for cycle_id in Cycle.objects.filter(ends__gte=today).values_list("pk", flat=True):
        review_cycle.delay(cycle_id, "schedule")
