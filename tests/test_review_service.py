"""Storing the review: findings keep a lifecycle across runs, one run at a time, all or nothing."""

from __future__ import annotations

import datetime as dt
import threading
import time
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import close_old_connections, connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from core.models import Capacity, Cycle
from dependencies.models import Dependency
from planning import review as review_module
from planning import services, tasks
from planning.models import Finding, Notification, ReviewRun
from planning.services import (
    finding_acknowledge,
    finding_dismiss,
    finding_reopen,
    review_lock,
    review_run,
)
from squads.models import OKR, KeyResult, Membership, SquadStage
from tests import factories as f

TODAY = dt.date(2027, 2, 10)


@pytest.fixture(autouse=True)
def no_overlap_finder(monkeypatch):
    # Overlap detection has tests of its own; here it would only add findings to count.
    monkeypatch.setattr(review_module, "_overlap_finder", lambda: None)


@pytest.fixture
def world(db):
    # One transaction, as the squad's DRI must be a member by the time it commits.
    with transaction.atomic():
        return _world()


def _world() -> dict:
    cycle = f.cycle()
    priya = f.person("priya", "Priya Shah", "Customer Success")
    omar = f.person("omar", "Omar Haddad")
    olga = f.person("olga", "Olga Ops", "Operations")
    alpha = f.squad("alpha", dri=priya, cycle=cycle, function="Customer Success")
    beta = f.squad("beta", dri=omar, cycle=cycle)
    campaign = f.initiative(alpha, "campaign", title="Enrollment campaign", function="Marketing")
    feedback = Dependency.objects.create(
        key="feedback",
        from_initiative=campaign,
        to_squad=beta,
        what="Customer feedback",
        due=dt.date(2027, 2, 1),
        blocking=False,
        status="requested",
        owner=omar,
    )
    return {
        "cycle": cycle,
        "priya": priya,
        "omar": omar,
        "olga": olga,
        "alpha": alpha,
        "beta": beta,
        "campaign": campaign,
        "feedback": feedback,
    }


def run(world, today=TODAY) -> ReviewRun:
    return review_run(cycle=world["cycle"], today=today, trigger="test")


def stored(world) -> dict[tuple[str, str], Finding]:
    """Stored findings by (rule, first subject)."""
    return {(x.rule, x.subjects[0]): x for x in Finding.objects.filter(cycle=world["cycle"])}


OVERDUE = ("overdue", "dependency:feedback")
UNACCEPTED = ("unaccepted", "dependency:feedback")


def test_a_run_stores_what_the_review_found(world):
    result = run(world)

    findings = stored(world)
    # Past due and never accepted: one finding, not an overdue and an unaccepted one.
    assert set(findings) == {OVERDUE}
    overdue = findings[OVERDUE]
    assert overdue.state == "open"
    assert overdue.kind == "blocker"
    assert overdue.severity == "medium"
    assert overdue.subjects == ["dependency:feedback", "squad:alpha", "squad:beta"]
    assert overdue.first_seen == overdue.last_seen
    assert "Enrollment campaign" in overdue.message
    assert result.status == "done" and result.finished_at is not None
    assert "never accepted by Beta" in overdue.message
    assert (result.findings_open, result.findings_new, result.findings_resolved) == (1, 1, 0)
    assert [x.rule for x in result.findings] == ["overdue"]


def test_running_again_changes_nothing_but_last_seen(world):
    run(world)
    before = {key: (x.pk, x.first_seen, x.last_seen, x.state) for key, x in stored(world).items()}

    again = run(world)

    after = stored(world)
    assert Finding.objects.count() == 1
    for key, (pk, first_seen, last_seen, state) in before.items():
        assert after[key].pk == pk
        assert after[key].first_seen == first_seen
        assert after[key].state == state
        assert after[key].last_seen > last_seen
    assert (again.findings_new, again.findings_resolved) == (0, 0)


def test_a_finding_whose_condition_no_longer_holds_resolves_and_can_come_back(world):
    run(world)
    first = stored(world)[OVERDUE]
    world["feedback"].status = "done"
    world["feedback"].save()

    result = run(world)

    resolved = stored(world)[OVERDUE]
    assert resolved.state == "resolved"
    assert resolved.state_changed_by is None and resolved.state_changed_at is not None
    assert result.findings_resolved == 1

    world["feedback"].status = "accepted"
    world["feedback"].save()
    run(world)
    back = stored(world)[OVERDUE]
    assert back.pk == first.pk
    assert back.state == "open"
    assert back.first_seen == first.first_seen
    assert Finding.objects.filter(rule="overdue").count() == 1


def test_the_day_before_due_nothing_is_overdue(world):
    run(world, today=dt.date(2027, 1, 31))
    assert OVERDUE not in stored(world)
    run(world, today=dt.date(2027, 2, 1))
    assert OVERDUE not in stored(world)
    assert stored(world)[UNACCEPTED].state == "open"
    run(world, today=dt.date(2027, 2, 2))
    assert stored(world)[OVERDUE].state == "open"
    # Once past due, the overdue finding says it was never accepted; unaccepted is over.
    assert "never accepted" in stored(world)[OVERDUE].message
    assert stored(world)[UNACCEPTED].state == "resolved"


def test_a_dismissed_finding_stays_dismissed_until_its_subjects_change(world):
    run(world)
    finding = stored(world)[OVERDUE]
    finding_dismiss(finding=finding, by=world["olga"], reason="Feedback comes from the survey.")

    run(world)
    # An unrelated change leaves the dismissal alone.
    Capacity.objects.create(cycle=world["cycle"], function="Sales", headcount=Decimal(3))
    run(world)

    kept = stored(world)[OVERDUE]
    assert kept.state == "dismissed"
    assert kept.dismissed_reason == "Feedback comes from the survey."
    assert kept.state_changed_by == world["olga"]
    assert kept.last_seen > finding.last_seen

    # The dependency itself changes (new date, still overdue): the dismissal no longer holds.
    world["feedback"].due = dt.date(2027, 2, 5)
    world["feedback"].save()
    result = run(world)

    reopened = stored(world)[OVERDUE]
    assert reopened.pk == finding.pk
    assert reopened.state == "open"
    assert reopened.dismissed_reason == ""
    assert "5 Feb 2027" in reopened.message
    assert result.findings_new == 1


def test_an_acknowledged_finding_stays_acknowledged_and_still_resolves(world):
    run(world)
    finding = finding_acknowledge(finding=stored(world)[OVERDUE], by=world["priya"])
    assert finding.state_changed_by == world["priya"]
    assert finding.state_changed_at is not None

    run(world)
    assert stored(world)[OVERDUE].state == "acknowledged"

    world["feedback"].status = "done"
    world["feedback"].save()
    run(world)
    assert stored(world)[OVERDUE].state == "resolved"


def test_state_changes_are_checked(world):
    run(world)
    finding = stored(world)[OVERDUE]

    with pytest.raises(ValidationError):
        finding_dismiss(finding=finding, by=world["olga"], reason="  ")
    with pytest.raises(ValidationError):
        finding_reopen(finding=finding, by=world["olga"])  # it is open already

    stale = Finding.objects.get(pk=finding.pk)
    finding_acknowledge(finding=finding, by=world["priya"])
    with pytest.raises(ValidationError, match="changed meanwhile"):
        finding_dismiss(finding=stale, by=world["olga"], reason="Not ours")
    assert Finding.objects.get(pk=finding.pk).state == "acknowledged"

    reopened = finding_reopen(finding=finding, by=world["olga"])
    assert reopened.state == "open"
    assert Finding.objects.get(pk=finding.pk).state_changed_by == world["olga"]


def test_a_crash_in_a_rule_leaves_the_previous_findings_intact(world, monkeypatch):
    run(world)
    before = list(Finding.objects.values_list("pk", "state", "last_seen", "message"))

    def broken(snapshot, today):
        raise RuntimeError("rule exploded")

    monkeypatch.setattr(review_module, "RULES", [*review_module.RULES, broken])
    with pytest.raises(RuntimeError, match="rule exploded"):
        run(world)

    assert list(Finding.objects.values_list("pk", "state", "last_seen", "message")) == before
    failed = ReviewRun.objects.get(status="failed")
    assert "rule exploded" in failed.error
    assert failed.finished_at is not None


def test_a_crash_half_way_through_storing_writes_nothing(world, monkeypatch):
    run(world)
    before = list(Finding.objects.values_list("pk", "state", "last_seen", "message"))
    # The next run would resolve both findings and open a high-severity one.
    world["feedback"].status = "done"
    world["feedback"].save()
    Dependency.objects.create(
        key="urgent",
        from_squad=world["alpha"],
        to_squad=world["beta"],
        what="Pricing page",
        due=dt.date(2027, 2, 1),
        blocking=True,
        status="accepted",
    )

    def broken(**kwargs):
        raise RuntimeError("mail queue exploded")

    monkeypatch.setattr(services, "notifications_for_findings", broken)
    with pytest.raises(RuntimeError):
        run(world)

    assert list(Finding.objects.values_list("pk", "state", "last_seen", "message")) == before
    assert not [x for x in Finding.objects.all() if "dependency:urgent" in x.subjects]


def test_new_high_severity_findings_notify_the_dris_once(
    world, mailoutbox, django_capture_on_commit_callbacks
):
    Dependency.objects.create(
        key="pricing",
        from_squad=world["alpha"],
        to_squad=world["beta"],
        what="Pricing page copy",
        due=dt.date(2027, 2, 1),
        blocking=True,
        status="accepted",
    )
    with django_capture_on_commit_callbacks(execute=True):
        run(world)

    [finding] = [
        x for x in Finding.objects.filter(rule="overdue") if x.subjects[0] == "dependency:pricing"
    ]
    assert finding.severity == "high"
    notes = Notification.objects.filter(finding=finding)
    assert {n.recipient.username for n in notes} == {"priya", "omar"}
    assert all(n.read_at is None and n.message == finding.message for n in notes)
    # Medium findings (the non-blocking feedback) notify nobody.
    assert Notification.objects.exclude(finding=finding).count() == 0
    assert sorted(m.to[0] for m in mailoutbox) == ["omar@example.com", "priya@example.com"]
    mail = next(m for m in mailoutbox if m.to == ["priya@example.com"])
    assert "Hello Priya Shah" in mail.body
    assert finding.message in mail.body
    assert "FY2027" in mail.subject

    with django_capture_on_commit_callbacks(execute=True):
        run(world)
    assert Notification.objects.count() == 2
    assert len(mailoutbox) == 2


# --- an acknowledged finding that gets worse ---------------------------------------------


def _over_capacity(world) -> Finding:
    return Finding.objects.get(cycle=world["cycle"], rule="over_capacity")


def _plan_marketing(world, headcount: str) -> None:
    world["campaign"].headcount = Decimal(headcount)
    world["campaign"].save()


def test_an_acknowledged_finding_that_gets_worse_opens_again_with_a_note(
    world, mailoutbox, django_capture_on_commit_callbacks
):
    Capacity.objects.create(cycle=world["cycle"], function="Marketing", headcount=Decimal(10))
    _plan_marketing(world, "12")
    run(world)
    finding = finding_acknowledge(finding=_over_capacity(world), by=world["olga"])
    assert finding.severity == "medium"
    assert finding.acknowledged_message == finding.message

    # Shrinking it, or leaving it be, keeps the acknowledgement.
    _plan_marketing(world, "11")
    run(world)
    assert _over_capacity(world).state == "acknowledged"

    _plan_marketing(world, "14.5")
    with django_capture_on_commit_callbacks(execute=True):
        result = run(world)

    worse = _over_capacity(world)
    assert worse.pk == finding.pk and worse.first_seen == finding.first_seen
    assert worse.state == "open"
    assert worse.state_changed_by is None
    assert worse.reopened_note == (
        "Re-opened: was medium severity when acknowledged, now high; "
        "was 2 people over capacity when acknowledged, now 4.5."
    )
    assert "4.5 people" in worse.message
    assert result.findings_new == 1
    # The DRI concerned hears of it as of a new high-severity finding, note first.
    [note] = Notification.objects.filter(finding=worse)
    assert note.recipient == world["priya"]
    assert note.message == f"{worse.reopened_note} {worse.message}"
    [mail] = mailoutbox
    assert mail.to == ["priya@example.com"]
    assert "Re-opened high-severity resource conflict" in mail.subject
    assert worse.reopened_note in mail.body

    # Running again changes nothing more and tells nobody twice.
    with django_capture_on_commit_callbacks(execute=True):
        run(world)
    assert _over_capacity(world).state == "open"
    assert Notification.objects.filter(finding=worse).count() == 1

    # Acknowledged again: the note has been answered, and the new baseline is 4.5 over.
    finding_acknowledge(finding=worse, by=world["olga"])
    again = _over_capacity(world)
    assert again.reopened_note == "" and again.acknowledged_measure == 4.5
    run(world)
    assert _over_capacity(world).state == "acknowledged"


def test_a_worse_finding_still_medium_opens_again_without_telling_anyone(world, mailoutbox):
    Capacity.objects.create(cycle=world["cycle"], function="Marketing", headcount=Decimal(10))
    _plan_marketing(world, "11")
    run(world)
    finding_acknowledge(finding=_over_capacity(world), by=world["olga"])

    _plan_marketing(world, "12")
    run(world)

    worse = _over_capacity(world)
    assert (worse.state, worse.severity) == ("open", "medium")
    assert worse.reopened_note == (
        "Re-opened: was 1 person over capacity when acknowledged, now 2."
    )
    # As for a new medium finding: nobody is notified.
    assert not Notification.objects.filter(finding=worse).exists()


def test_a_blocker_acknowledged_before_its_date_opens_again_once_it_is_overdue(world):
    tool = f.initiative(world["beta"], "tool", ends=dt.date(2027, 4, 1))
    Dependency.objects.create(
        key="tool",
        from_initiative=world["campaign"],
        to_initiative=tool,
        what="Assessment tool",
        due=dt.date(2027, 2, 15),
        status="accepted",
    )
    run(world)
    late = Finding.objects.get(rule="late_provider")
    finding_acknowledge(finding=late, by=world["priya"])

    run(world, today=dt.date(2027, 2, 15))  # due today: not yet late
    assert Finding.objects.get(pk=late.pk).state == "acknowledged"
    run(world, today=dt.date(2027, 2, 16))

    reopened = Finding.objects.get(pk=late.pk)
    assert reopened.state == "open"
    assert reopened.reopened_note == (
        "Re-opened: now past its due date, which it was not when acknowledged."
    )


def test_a_dismissed_finding_that_gets_worse_follows_the_dismissal_rule(world):
    Capacity.objects.create(cycle=world["cycle"], function="Marketing", headcount=Decimal(10))
    _plan_marketing(world, "12")
    run(world)
    finding_dismiss(finding=_over_capacity(world), by=world["olga"], reason="Contractors")
    # Its subjects change (more planned): the dismissal ends, as for any change, with no
    # note: nobody acknowledged it.
    _plan_marketing(world, "14.5")
    run(world)
    reopened = _over_capacity(world)
    assert reopened.state == "open" and reopened.reopened_note == ""


@pytest.mark.postgres
def test_findings_acknowledged_before_the_upgrade_keep_what_they_were(transactional_db):
    before = [("planning", "0015_content_types_follow")]
    executor = MigrationExecutor(connection)
    heads = executor.loader.graph.leaf_nodes()
    executor.migrate(before)
    try:
        old = executor.loader.project_state(before).apps
        cycle = old.get_model("core", "Cycle").objects.create(
            key="fy2027", name="FY2027", starts=dt.date(2027, 1, 1), ends=dt.date(2027, 12, 31)
        )
        now = timezone.now()
        old.get_model("planning", "Finding").objects.create(
            cycle=cycle,
            kind="resource_conflict",
            rule="over_capacity",
            severity="medium",
            subjects=["function:Marketing"],
            identity="x" * 64,
            message="Marketing has 12 people planned",
            state="acknowledged",
            first_seen=now,
            last_seen=now,
        )
    finally:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(heads)

    upgraded = Finding.objects.get()
    assert upgraded.state == "acknowledged"
    assert upgraded.acknowledged_severity == "medium"
    assert upgraded.acknowledged_message == "Marketing has 12 people planned"
    # How far over it was was never kept: only a higher severity can count as worse.
    assert upgraded.acknowledged_measure is None and upgraded.acknowledged_facts is None


class _Group:
    def __init__(self, refs, score):
        self.refs, self.score, self.message = tuple(refs), score, "These overlap."


def test_an_acknowledged_overlap_that_grows_carries_on_open_with_a_note(world, monkeypatch):
    groups = [_Group(["alpha/campaign", "beta/feedback-loop"], 0.62)]
    monkeypatch.setattr(review_module, "_overlap_finder", lambda: lambda live, **kw: groups)
    f.initiative(world["beta"], "feedback-loop")
    gamma = f.squad("gamma", dri=world["olga"], cycle=world["cycle"])
    f.initiative(gamma, "survey")
    run(world)
    overlap = Finding.objects.get(rule="similar_initiatives")
    finding_acknowledge(finding=overlap, by=world["olga"])

    # A third squad's initiative joins the group: the same overlap, grown.
    groups[:] = [_Group(["alpha/campaign", "beta/feedback-loop", "gamma/survey"], 0.62)]
    result = run(world)

    [grown] = Finding.objects.filter(rule="similar_initiatives")
    assert grown.pk == overlap.pk
    assert grown.state == "open"
    assert "initiative:gamma/survey" in grown.subjects
    assert grown.reopened_note == "Re-opened: was 2 alike initiatives when acknowledged, now 3."
    assert result.findings_resolved == 0

    # Reviewed again, it is the same finding: nothing new, nothing resolved.
    again = run(world)
    assert Finding.objects.filter(rule="similar_initiatives").count() == 1
    assert (again.findings_new, again.findings_resolved) == (0, 0)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_second_review_of_the_same_cycle_waits_for_the_first(monkeypatch):
    monkeypatch.setattr(review_module, "_overlap_finder", lambda: None)
    cycle = f.cycle()
    other = f.cycle("fy2028")
    holding, release = threading.Event(), threading.Event()

    def hold_the_lock():
        try:
            with transaction.atomic():
                review_lock(cycle)
                holding.set()
                release.wait(10)
        finally:
            close_old_connections()
            connection.close()

    done = {}

    def review(which):
        try:
            done[which.key] = review_run(cycle=which, today=TODAY, trigger="test")
        finally:
            connection.close()

    holder = threading.Thread(target=hold_the_lock)
    holder.start()
    assert holding.wait(10)
    blocked = threading.Thread(target=review, args=(cycle,))
    blocked.start()
    free = threading.Thread(target=review, args=(other,))
    free.start()
    free.join(10)
    time.sleep(0.5)

    assert "fy2028" in done  # another cycle's review does not wait
    assert blocked.is_alive()  # this one waits for the lock
    assert "fy2027" not in done
    release.set()
    holder.join(10)
    blocked.join(10)
    assert done["fy2027"].status == "done"


# --- queueing reviews after changes ------------------------------------------------------


@pytest.fixture
def queued(monkeypatch, settings):
    """Record review_cycle.apply_async calls instead of talking to a broker."""
    calls = []
    settings.REVIEW_COALESCE_SECONDS = 45

    def apply_async(args, countdown=None, **kwargs):
        calls.append((args, countdown))

    monkeypatch.setattr(tasks.review_cycle, "apply_async", apply_async)
    return calls


@pytest.fixture
def committed_world(transactional_db, queued, world):
    """The world, committed, with no review queued or marked as waiting yet."""
    tasks._pending_clear(world["cycle"].pk)
    queued.clear()
    yield world
    tasks._pending_clear(world["cycle"].pk)


def test_a_burst_of_changes_queues_one_review_after_commit(committed_world, queued):
    world = committed_world
    cycle = world["cycle"]
    with transaction.atomic():
        for n in range(5):
            f.initiative(world["beta"], f"work-{n}")
        world["feedback"].status = "accepted"
        world["feedback"].save()
        Capacity.objects.create(cycle=cycle, function="Product", headcount=Decimal(4))
        assert queued == []  # nothing before the commit
    assert queued == [((cycle.pk, "change"), 45)]

    # A flurry of separate edits while that review waits: still one review.
    world["campaign"].headcount = Decimal(2)
    world["campaign"].save()
    f.initiative(world["alpha"], "another")
    assert len(queued) == 1

    # Once the review starts, the next change queues the next review.
    tasks.review_cycle(cycle.pk, "change", today=TODAY.isoformat())
    world["campaign"].delete()
    assert queued[1:] == [((cycle.pk, "change"), 45)]


def test_changes_that_roll_back_queue_nothing(committed_world, queued):
    with pytest.raises(RuntimeError), transaction.atomic():
        f.initiative(committed_world["beta"], "doomed")
        raise RuntimeError
    assert queued == []


def test_a_broker_outage_does_not_fail_the_change(committed_world, monkeypatch, caplog):
    world = committed_world

    def down(*args, **kwargs):
        raise ConnectionError("broker is down")

    monkeypatch.setattr(tasks.review_cycle, "apply_async", down)
    f.initiative(world["beta"], "still-saved")
    assert "Could not queue a review" in caplog.text
    # The waiting mark was cleared, so the next change tries again.
    calls = []
    monkeypatch.setattr(tasks.review_cycle, "apply_async", lambda *a, **k: calls.append(a))
    f.initiative(world["beta"], "saved-too")
    assert len(calls) == 1


def test_the_periodic_sweep_reviews_only_open_cycles(world, monkeypatch):
    ended = Cycle.objects.create(
        key="fy2020", name="FY2020", starts=dt.date(2020, 1, 1), ends=dt.date(2020, 12, 31)
    )
    delayed = []
    monkeypatch.setattr(tasks.review_cycle, "delay", lambda *args: delayed.append(args))

    tasks.review_open_cycles()

    assert (world["cycle"].pk, "schedule") in delayed
    assert all(args[0] != ended.pk for args in delayed)


def test_the_task_reviews_the_cycle_and_is_idempotent(world):
    tasks.review_cycle(world["cycle"].pk, "schedule", today=TODAY.isoformat())
    tasks.review_cycle(world["cycle"].pk, "schedule", today=TODAY.isoformat())
    assert Finding.objects.count() == 1
    assert ReviewRun.objects.filter(status="done", trigger="schedule").count() == 2
    tasks.review_cycle(999_999, "schedule")  # a deleted cycle is nothing to do


def _change(world: dict, what: str) -> None:
    if what == "membership":
        Membership.objects.create(squad=world["beta"], person=world["olga"], function="Ops")
    elif what == "squad":
        world["beta"].name = "Beta Renamed"
        world["beta"].save()
    elif what == "stage covered":
        SquadStage.objects.create(squad=world["alpha"], stage=f.stage())
    elif what == "key result":
        okr = OKR.objects.create(squad=world["alpha"], cycle=world["cycle"], objective="Win")
        KeyResult.objects.create(okr=okr, key="kr", name="Activation")
    elif what == "stage":
        f.stage("lifecycle", "renewal")


@pytest.mark.parametrize("what", ["membership", "squad", "stage covered", "key result", "stage"])
def test_every_kind_of_plan_change_queues_a_review(committed_world, queued, what):
    with transaction.atomic():
        _change(committed_world, what)
    assert queued == [((committed_world["cycle"].pk, "change"), 45)]


# --- runs whose worker went away ---------------------------------------------------------


@pytest.mark.postgres
def test_expiring_marks_runs_with_a_lapsed_lease_failed_but_never_one_still_committing(
    transactional_db,
):
    cycle = f.cycle()
    now = timezone.now()
    lapsed = dict(cycle=cycle, today=now.date(), lease_expires_at=now - dt.timedelta(seconds=1))
    committing = ReviewRun.objects.create(trigger="change", **lapsed)
    gone = ReviewRun.objects.create(trigger="schedule", **lapsed)
    alive = ReviewRun.objects.create(
        cycle=cycle, trigger="manual", today=now.date(), lease_expires_at=now + dt.timedelta(1)
    )

    # Another connection holds the first run's row, as a review does while it commits.
    locked, release = threading.Event(), threading.Event()

    def hold_row() -> None:
        try:
            with transaction.atomic():
                list(ReviewRun.objects.select_for_update().filter(pk=committing.pk))
                locked.set()
                release.wait(30)
        finally:
            connection.close()

    holder = threading.Thread(target=hold_row)
    holder.start()
    try:
        assert locked.wait(30)
        assert services.review_runs_expire(cycle=cycle) == 1
    finally:
        release.set()
        holder.join()

    states = dict(ReviewRun.objects.values_list("pk", "status"))
    assert states == {committing.pk: "running", gone.pk: "failed", alive.pk: "running"}
    gone.refresh_from_db()
    assert gone.is_abandoned(timezone.now()) and gone.finished_at is not None
    # Once the row is free again, the first goes the same way; the living run never does.
    assert services.review_runs_expire(cycle=cycle) == 1
    assert ReviewRun.objects.get(pk=committing.pk).status == "failed"
    assert ReviewRun.objects.get(pk=alive.pk).status == "running"
