"""Background work for the review: the periodic sweep and the coalesced review after a change."""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass

from celery import shared_task
from celery.signals import worker_process_init
from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.utils import timezone

from core.models import Cycle
from planning.services import review_run, review_runs_expire

logger = logging.getLogger(__name__)


@shared_task(acks_late=True, ignore_result=True)
def review_cycle(cycle_id: int, trigger: str = "schedule", today: str | None = None) -> None:
    """Review one cycle. Idempotent: a rerun refreshes the same findings.

    `today` (YYYY-MM-DD) fixes the date the review judges against; default: today.
    """
    if trigger == "change":
        # From now on a new change must queue a new review: this one may not see it.
        _pending_clear(cycle_id)
    cycle = Cycle.objects.filter(pk=cycle_id).first()
    if cycle is None:
        logger.info("Cycle %s no longer exists; nothing to review", cycle_id)
        return
    review_run(cycle=cycle, trigger=trigger, today=dt.date.fromisoformat(today) if today else None)


@shared_task(acks_late=True, ignore_result=True)
def review_open_cycles() -> None:
    """The periodic sweep (celery beat): queue a review for every cycle that has not ended,
    and mark failed the runs whose worker went away since."""
    review_runs_expire()
    today = timezone.localdate()
    for cycle_id in Cycle.objects.filter(ends__gte=today).values_list("pk", flat=True):
        review_cycle.delay(cycle_id, "schedule")


# --- reviewing after a change ------------------------------------------------------------


def review_enqueue(cycle_ids: Iterable[int]) -> None:
    """Queue a review of each cycle once the current transaction commits, coalescing bursts.

    However many changes a transaction (or a flurry of requests) makes, each cycle gets one
    review, REVIEW_COALESCE_SECONDS later. Never raises: if the broker or the cache is
    down, the change still commits and the periodic sweep catches up.
    """
    for cycle_id in sorted(set(cycle_ids)):
        if cycle_id is not None and not _queued_in_this_transaction(cycle_id):
            transaction.on_commit(_EnqueueAfterCommit(cycle_id), robust=True)


def review_enqueue_open_cycles() -> None:
    """After a change that concerns every cycle (a journey's stages): review all open ones."""
    review_enqueue(
        Cycle.objects.filter(ends__gte=timezone.localdate()).values_list("pk", flat=True)
    )


def review_enqueue_after_import(report) -> None:
    """The importer's hook: review the cycles a planning file changed.

    Saves made by the import queue their cycles through the signals as well; this also
    covers a file whose changes reach a cycle only indirectly.
    """
    if not report.changed:
        return
    review_enqueue(Cycle.objects.filter(key__in=report.cycles).values_list("pk", flat=True))


class _EnqueueAfterCommit:
    def __init__(self, cycle_id: int) -> None:
        self.cycle_id = cycle_id

    def __call__(self) -> None:
        review_enqueue_now(self.cycle_id)


def _queued_in_this_transaction(cycle_id: int) -> bool:
    # Django drops the callbacks of a transaction or savepoint that rolls back, so looking
    # at the pending ones is exactly "already queued by work that will commit".
    pending = getattr(connection, "run_on_commit", None) or ()
    return any(
        isinstance(func, _EnqueueAfterCommit) and func.cycle_id == cycle_id
        for _, func, *_ in pending
    )


def review_enqueue_now(cycle_id: int) -> bool:
    """Queue a coalesced review of a cycle unless one is already waiting. True if queued."""
    delay = settings.REVIEW_COALESCE_SECONDS
    key = _pending_key(cycle_id)
    try:
        # Outlives the countdown, so a review lost with a dead worker cannot block
        # the next change's review for long.
        if not cache.add(key, timezone.now().isoformat(), timeout=delay + 120):
            return False
    except Exception:
        logger.warning("Cache unavailable; queueing the review of cycle %s anyway", cycle_id)
    try:
        # expires: a review stuck in a queue for long is superseded by the periodic one.
        review_cycle.apply_async(
            (cycle_id, "change"), countdown=delay, expires=delay + 600, retry=False
        )
    except Exception:
        logger.warning(
            "Could not queue a review of cycle %s; the periodic review will catch up",
            cycle_id,
            exc_info=True,
        )
        _pending_clear(cycle_id)
        return False
    review_waiting_mark(cycle_id, trigger="change", for_seconds=delay + REVIEW_WAITING_GRACE)
    return True


def _pending_key(cycle_id: int) -> str:
    # The database name keeps a test database and a development one apart on one Redis.
    return f"review-pending:{connection.settings_dict['NAME']}:{cycle_id}"


def _pending_clear(cycle_id: int) -> None:
    try:
        cache.delete(_pending_key(cycle_id))
    except Exception:
        logger.warning("Cache unavailable; could not clear the review mark of %s", cycle_id)


# --- what the findings page shows is on its way ---------------------------------------------

# How long past its expected start a queued review still shows as on its way; after that
# the findings page stops waiting for it (the worker is most likely down).
REVIEW_WAITING_GRACE = 120


@dataclass(frozen=True)
class Waiting:
    """A review of a cycle asked for at `since`, by a change or by someone ("manual")."""

    trigger: str
    since: dt.datetime


def _waiting_key(cycle_id: int) -> str:
    return f"review-waiting:{connection.settings_dict['NAME']}:{cycle_id}"


def review_waiting_mark(cycle_id: int, *, trigger: str, for_seconds: int) -> None:
    """Note that a review of the cycle is queued, for everyone's findings page: it shows the
    review on its way until a run that started since then has ended. Never raises."""
    try:
        cache.set(
            _waiting_key(cycle_id), f"{trigger}|{timezone.now().isoformat()}", timeout=for_seconds
        )
    except Exception:
        logger.warning("Cache unavailable; could not mark the review of %s queued", cycle_id)


def review_waiting(cycle_id: int) -> Waiting | None:
    """The review of the cycle last queued, while it may still be on its way; None when
    nothing was queued lately (or the cache cannot say)."""
    try:
        value = cache.get(_waiting_key(cycle_id))
    except Exception:
        return None
    if not value:
        return None
    trigger, _, since = str(value).partition("|")
    try:
        return Waiting(trigger=trigger, since=dt.datetime.fromisoformat(since))
    except ValueError:
        return None


# --- warming up ----------------------------------------------------------------------------


def review_warm_up() -> None:
    """Load what the review loads once per process (overlap detection's sentence model)."""
    try:
        from planning.overlap import semantic_available
    except ImportError:
        return
    try:
        semantic_available()
    except Exception:
        logger.exception("Could not load the overlap model ahead of the first review")


@worker_process_init.connect
def _warm_up_worker_process(**kwargs) -> None:
    # In the background: Celery gives a new worker process only seconds to report for
    # duty, and loading the model takes longer. A review arriving meanwhile waits for it.
    threading.Thread(target=review_warm_up, name="review-warm-up", daemon=True).start()


# --- the daily digest --------------------------------------------------------------------


@shared_task(acks_late=True, ignore_result=True)
def send_daily_digests(today: str | None = None) -> int:
    """Celery beat, each morning: one digest per DRI and provider who wants it. Idempotent:
    a rerun on the same day sends nothing to those who already had theirs."""
    from planning.digest import send_daily_digests as send

    return send(dt.date.fromisoformat(today) if today else None)


# --- removals past their keeping ------------------------------------------------------------


@shared_task(acks_late=True, ignore_result=True)
def purge_removals() -> int:
    """Celery beat, each night: delete for good what was removed more than REMOVAL_KEEP_DAYS
    ago and not restored (planning.restores.removals_purge). Idempotent: a rerun finds
    nothing left to delete, or the rest of a night too big for one batch."""
    from planning.restores import removals_purge

    return removals_purge()
