"""The findings inbox's own writes: resolving a finding by hand, "run the review now" with a
fallback, and reading notifications (the review's run and its findings: planning.services)."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from core.models import Cycle
from planning.models import Finding, FindingEvent, Notification, ReviewRun
from planning.services import finding_event_record, review_run, review_runs_expire

logger = logging.getLogger(__name__)

QUEUED, DONE = "queued", "done"


def finding_resolve(*, finding: Finding, by, now: dt.datetime | None = None) -> Finding:
    """Someone says it is fixed. If the next review still finds it, it opens again."""
    allowed = (Finding.State.OPEN, Finding.State.ACKNOWLEDGED)
    if finding.state not in allowed:
        raise ValidationError(
            f"A finding that is {finding.get_state_display().lower()} cannot be resolved."
        )
    now = now or timezone.now()
    with transaction.atomic():
        # Compare-and-swap on the state the person saw, as planning.services does.
        changed = Finding.objects.filter(pk=finding.pk, state=finding.state).update(
            state=Finding.State.RESOLVED,
            dismissed_reason="",
            state_changed_by=by,
            state_changed_at=now,
            reopened_note="",
        )
        if changed:
            finding_event_record(
                finding=finding, action=FindingEvent.Action.RESOLVED, by=by, at=now
            )
    if not changed:
        finding.refresh_from_db()
        raise ValidationError(
            f"This finding was changed meanwhile; it is now {finding.get_state_display().lower()}."
        )
    finding.state = Finding.State.RESOLVED
    finding.dismissed_reason = ""
    finding.state_changed_by = by
    finding.state_changed_at = now
    finding.reopened_note = ""
    return finding


def review_now(*, cycle: Cycle) -> str:
    """Run the review of a cycle now: queued for the worker ("queued"), or run here and
    finished ("done") when Celery runs tasks eagerly or the broker refuses the task.

    Raises what the review raised when it ran here and failed (the run is marked failed).
    """
    from planning.tasks import REVIEW_WAITING_GRACE, review_cycle, review_waiting_mark

    # A run whose worker went away shows as failed from now on, not as still running.
    review_runs_expire(cycle=cycle)
    if review_cycle.app.conf.task_always_eager:
        review_run(cycle=cycle, trigger="manual")
        return DONE
    try:
        review_cycle.apply_async((cycle.pk, "manual"), retry=False)
    except Exception:
        logger.warning(
            "No broker took the review of cycle %s; running it in the request",
            cycle.pk,
            exc_info=True,
        )
        review_run(cycle=cycle, trigger="manual")
        return DONE
    review_waiting_mark(cycle.pk, trigger="manual", for_seconds=REVIEW_WAITING_GRACE)
    return QUEUED


def review_latest(cycle: Cycle | None) -> ReviewRun | None:
    if cycle is None:
        return None
    return ReviewRun.objects.filter(cycle=cycle).order_by("-started_at", "-id").first()


def notifications_mark_read(*, user, ids: Iterable[int], now: dt.datetime | None = None) -> int:
    """Mark these notifications of this person read; others' are never touched."""
    ids = list(ids)
    if not ids:
        return 0
    return Notification.objects.filter(recipient=user, pk__in=ids, read_at__isnull=True).update(
        read_at=now or timezone.now()
    )
