"""The scheduled review end to end: a real Celery worker, Redis as broker, PostgreSQL."""

from __future__ import annotations

import io
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone

from core.models import Cycle
from planning.models import Finding, ReviewRun
from planning.review import review
from planning.snapshot import snapshot_for_cycle
from planning.tasks import review_open_cycles

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.celery]

EXAMPLE = Path(settings.BASE_DIR) / "planning" / "demo" / "first-90-days.json"
TIMEOUT = 60.0


def wait_for_runs(worker, cycle: Cycle, trigger: str, count: int) -> list[ReviewRun]:
    deadline = time.monotonic() + TIMEOUT
    while True:
        runs = list(
            ReviewRun.objects.filter(cycle=cycle, trigger=trigger)
            .exclude(status=ReviewRun.Status.RUNNING)
            .order_by("id")
        )
        if len(runs) >= count:
            return runs
        assert worker.process.poll() is None, "the worker died:\n" + worker.output()
        assert time.monotonic() < deadline, (
            f"{len(runs)} of {count} {trigger} review(s) after {TIMEOUT:.0f}s; worker log:\n"
            + worker.output()
        )
        time.sleep(0.2)


def stored_findings(cycle: Cycle) -> dict[str, tuple]:
    return {
        f.identity: (f.pk, f.rule, tuple(f.subjects), f.state, f.first_seen, f.message)
        for f in Finding.objects.filter(cycle=cycle)
    }


def test_the_worker_runs_the_scheduled_review_and_a_second_run_changes_nothing(
    celery_worker_process, settings
):
    # Changes queue one coalesced review; make it come quickly so it is over before the
    # scheduled ones below.
    settings.REVIEW_COALESCE_SECONDS = 1
    call_command("import_plans", str(EXAMPLE), stdout=io.StringIO())
    cycle = Cycle.objects.get(key="fy2027")
    today = timezone.localdate()
    assert cycle.is_open(today)

    # The import saved dozens of rows in one transaction: exactly one review follows.
    [after_import] = wait_for_runs(celery_worker_process, cycle, "change", 1)
    assert after_import.status == "done", after_import.error
    time.sleep(3)
    assert ReviewRun.objects.filter(trigger="change").count() == 1

    # What celery beat sends every REVIEW_INTERVAL_SECONDS.
    review_open_cycles.delay()
    [scheduled] = wait_for_runs(celery_worker_process, cycle, "schedule", 1)
    assert scheduled.status == "done", scheduled.error

    expected = review(snapshot_for_cycle(cycle), today)
    first = stored_findings(cycle)
    assert expected, "the worked example always has findings (the unowned stages at least)"
    assert sorted((rule, subjects) for _, rule, subjects, *_ in first.values()) == sorted(
        (f.rule, f.subjects) for f in expected
    )
    assert {state for *_, state, _, _ in first.values()} == {"open"}

    review_open_cycles.delay()
    second_run = wait_for_runs(celery_worker_process, cycle, "schedule", 2)[1]
    assert second_run.status == "done", second_run.error
    assert (second_run.findings_new, second_run.findings_resolved) == (0, 0)
    assert stored_findings(cycle) == first
    assert "Task planning.tasks.review_open_cycles[" in celery_worker_process.output()
