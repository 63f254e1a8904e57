"""State changes for cycles, plans, initiatives and the review."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from planning.models import Cycle, ReviewRun


def review_run(*, cycle: Cycle, today: dt.date | None = None, trigger: str) -> ReviewRun:
    """Run the review over one cycle and store what it found, all in one transaction."""
    today = today or timezone.localdate()
    with transaction.atomic():
        run = ReviewRun.objects.create(cycle=cycle, trigger=trigger, today=today)
        run.status = ReviewRun.Status.DONE
        run.finished_at = timezone.now()
        run.findings_open = cycle.findings.filter(state="open").count()
        run.save(update_fields=["status", "finished_at", "findings_open"])
    return run
