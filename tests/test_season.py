"""The planning season: cycles move from draft through reconciling, committed and in flight
to closed; committing is gated by the readiness check and keeps a baseline; drift since
commit shows on the season page, each squad's plan and the board; unfinished work carries
forward into the next cycle (docs/season.md)."""

from __future__ import annotations

import datetime as dt
import importlib
import threading
from decimal import Decimal

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core.keys import key_problem
from core.models import CYCLE_BACK, CYCLE_FORWARD, CYCLE_STATES, Capacity, Cycle
from dependencies.models import Dependency
from planning import season
from planning.models import (
    BaselineDependency,
    BaselineInitiative,
    CycleBaseline,
    CycleEvent,
    Finding,
)
from planning.planning_file import export_document
from planning.season import selectors, services
from squads.models import (
    OKR,
    CheckIn,
    Initiative,
    KeyResult,
    Membership,
    Plan,
    Squad,
    SquadStage,
)
from tests import factories as f

pytestmark = pytest.mark.django_db

ALLOWED = {(a, b) for a, b in CYCLE_FORWARD.items()} | {(a, b) for a, b in CYCLE_BACK.items()}


# ---------------------------------------------------------------------------------------
# A cycle where nothing blocks committing, and helpers to break one thing at a time
# ---------------------------------------------------------------------------------------


def okr_with_key_result(squad: Squad, key: str = "activation", **values) -> KeyResult:
    okr, _ = OKR.objects.get_or_create(
        squad=squad, cycle=squad.cycle, defaults={"objective": "Customers reach value sooner"}
    )
    defaults = {
        "name": key.replace("-", " ").title(),
        "unit": "%",
        "baseline": Decimal(30),
        "target": Decimal(40),
        "current": Decimal(30),
    }
    defaults.update(values)
    return KeyResult.objects.create(okr=okr, key=key, **defaults)


def approve(squad: Squad) -> None:
    Plan.objects.update_or_create(
        squad=squad, defaults={"approved_at": timezone.now(), "approved_by": squad.dri}
    )


@pytest.fixture
def ready(cycle, needing, providing, stage, wizard, assessment, dep):
    """fy2027 with nothing blocking commit: the one stage covered, both squads with an OKR
    whose key result is measurable, the blocking dependency accepted, both plans approved,
    Product within its capacity."""
    SquadStage.objects.create(squad=needing, stage=stage)
    okr_with_key_result(needing)
    okr_with_key_result(providing, "adoption")
    Dependency.objects.filter(pk=dep.pk).update(status="accepted")
    approve(needing)
    approve(providing)
    Capacity.objects.create(cycle=cycle, function="Product", headcount=Decimal(5))
    assert selectors.readiness(cycle).ready
    return cycle


def set_state(cycle: Cycle, state: str) -> Cycle:
    Cycle.objects.filter(pk=cycle.pk).update(state=state)
    cycle.refresh_from_db()
    return cycle


def commit(cycle: Cycle, by) -> CycleEvent:
    set_state(cycle, "reconciling")
    return services.cycle_move(cycle=cycle, to="committed", expected="reconciling", by=by)


def check(cycle: Cycle, key: str) -> selectors.Check:
    return next(c for c in selectors.readiness(cycle).checks if c.key == key)


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


# ---------------------------------------------------------------------------------------
# Readiness: each item turns from blocking to clear, linked to where it is fixed
# ---------------------------------------------------------------------------------------


def test_a_cycle_without_squads_or_a_mapped_journey_is_not_ready(cycle, alice):
    """Nothing formed and nothing mapped is not "every stage covered, every squad fine"."""
    assert not selectors.readiness(cycle).ready
    squads = check(cycle, "squads")
    assert [(b.text, b.url, b.action) for b in squads.blockers] == [
        ("No squad has formed in FY2027 yet.", "/squads/new/", "Form a squad")
    ]
    coverage = check(cycle, "coverage")
    assert [(b.url, b.action) for b in coverage.blockers] == [("/journeys/", "Map the journey")]
    assert "No journey has a stage yet" in coverage.blockers[0].text

    # Once a stage is mapped, the stage itself is what blocks, until a squad covers it.
    stage = f.stage("lifecycle", "onboarding", name="Onboarding")
    assert [b.text for b in check(cycle, "coverage").blockers] == [
        "No squad of FY2027 covers the Onboarding stage of lifecycle."
    ]
    squad = f.squad("first-90-days", dri=alice, cycle=cycle)
    SquadStage.objects.create(squad=squad, stage=stage)
    assert check(cycle, "coverage").clear
    assert all("No squad has formed" not in b.text for b in check(cycle, "squads").blockers)


def test_an_uncovered_stage_blocks_until_a_squad_covers_it(ready, needing, leo):
    uncovered = f.stage("lifecycle", "renewal", name="Renewal")
    found = check(ready, "coverage")
    assert [b.text for b in found.blockers] == [
        "No squad of FY2027 covers the Renewal stage of lifecycle."
    ]
    assert found.blockers[0].url == f"/journeys/lifecycle/stages/{uncovered.key}/cover/"

    # Once the review has raised it, the link is to the finding, where a squad is assigned.
    finding = Finding.objects.create(
        cycle=ready,
        kind="ownership_gap",
        rule="unowned_stage",
        severity="medium",
        subjects=["stage:lifecycle/renewal"],
        identity="renewal",
        message="No squad covers Renewal.",
        first_seen=timezone.now(),
        last_seen=timezone.now(),
    )
    assert check(ready, "coverage").blockers[0].url == f"/findings/{finding.pk}/stage/"

    SquadStage.objects.create(squad=needing, stage=uncovered)
    assert check(ready, "coverage").clear
    assert selectors.readiness(ready).ready


def test_a_squad_without_an_okr_blocks_until_it_has_one(ready, providing):
    OKR.objects.filter(squad=providing).delete()
    found = check(ready, "squads")
    assert [b.text for b in found.blockers] == ["Product-led Growth has no OKR for FY2027."]
    assert found.blockers[0].url == "/squads/product-led/okr/edit/"
    okr_with_key_result(providing, "adoption")
    assert check(ready, "squads").clear


def test_an_okr_without_key_results_blocks_until_one_is_added(ready, providing):
    KeyResult.objects.filter(okr__squad=providing).delete()
    found = check(ready, "squads")
    assert [b.text for b in found.blockers] == ["Product-led Growth's OKR has no key result."]
    assert found.blockers[0].url == "/squads/product-led/key-results/new/"
    okr_with_key_result(providing, "adoption")
    assert check(ready, "squads").clear


@pytest.mark.parametrize("missing", ["baseline", "target"])
def test_a_key_result_without_a_baseline_or_target_blocks_until_it_has_both(
    ready, needing, missing
):
    KeyResult.objects.filter(okr__squad=needing).update(**{missing: None})
    found = check(ready, "squads")
    assert [b.text for b in found.blockers] == [
        f"First 90 Days's key result \u201cActivation\u201d has no {missing}."
    ]
    assert found.blockers[0].url == "/squads/first-90-days/key-results/activation/edit/"
    KeyResult.objects.filter(okr__squad=needing).update(**{missing: Decimal(35)})
    assert check(ready, "squads").clear


def test_a_dri_who_can_no_longer_sign_in_blocks_until_the_squad_is_handed_over(
    ready, needing, alice, bob
):
    alice.is_active = False
    alice.save()
    found = check(ready, "squads")
    assert len(found.blockers) == 1
    assert "First 90 Days's DRI, Alice Archer, can no longer sign in" in found.blockers[0].text
    assert found.blockers[0].url == "/squads/first-90-days/#members"
    Squad.objects.filter(pk=needing.pk).update(dri=bob)
    assert check(ready, "squads").clear


@pytest.mark.parametrize(
    ("status", "blocks"),
    [
        ("requested", True),
        ("at_risk", True),
        ("declined", True),
        ("accepted", False),
        ("done", False),
    ],
)
def test_a_blocking_dependency_blocks_until_accepted_or_done(ready, dep, status, blocks):
    Dependency.objects.filter(pk=dep.pk).update(status=status)
    found = check(ready, "dependencies")
    assert found.clear is not blocks
    if blocks:
        assert found.blockers[0].url == "/board/?dep=messaging"
        assert "First 90 Days needs from Product-led Growth" in found.blockers[0].text


def test_a_dependency_that_blocks_nothing_does_not_block_committing(ready, dep, wizard):
    Dependency.objects.filter(pk=dep.pk).update(status="requested", blocking=False)
    assert check(ready, "dependencies").clear
    Dependency.objects.filter(pk=dep.pk).update(blocking=True)
    assert not check(ready, "dependencies").clear
    # The work that needed it was dropped: it blocks nothing any more.
    Initiative.objects.filter(pk=wizard.pk).update(status="dropped")
    assert check(ready, "dependencies").clear


def test_a_function_over_capacity_blocks_until_within_it(ready, needing):
    f.initiative(needing, "big", headcount=Decimal("5"))  # Product: 1 + 1 + 5 = 7 > 5
    found = check(ready, "capacity")
    assert [b.text for b in found.blockers] == [
        "Product has 7 people planned in FY2027 but can staff 5."
    ]
    assert found.blockers[0].url == "/functions/"
    Initiative.objects.filter(key="big").update(status="dropped")
    assert check(ready, "capacity").clear
    Initiative.objects.filter(key="big").update(status="planned")
    Capacity.objects.filter(cycle=ready).update(headcount=Decimal(7))
    assert check(ready, "capacity").clear


def test_a_draft_plan_blocks_until_its_dri_approves_it(ready, needing):
    Plan.objects.filter(squad=needing).update(approved_at=None)
    found = check(ready, "plans")
    assert [b.text for b in found.blockers] == [
        "The plan of First 90 Days is a draft: its DRI, Alice Archer, has not approved it."
    ]
    assert found.blockers[0].url == "/squads/first-90-days/plan/#plan-status"
    approve(needing)
    assert check(ready, "plans").clear


def _finding(cycle, severity="high", state="open", identity="x") -> Finding:
    return Finding.objects.create(
        cycle=cycle,
        kind="blocker",
        rule="overdue",
        severity=severity,
        subjects=["dependency:messaging"],
        identity=identity,
        message="Feature messaging is overdue.",
        state=state,
        first_seen=timezone.now(),
        last_seen=timezone.now(),
    )


def test_an_open_high_severity_finding_blocks_until_acknowledged_or_resolved(ready, olga):
    finding = _finding(ready)
    found = check(ready, "findings")
    assert [(b.text, b.url) for b in found.blockers] == [
        ("Feature messaging is overdue.", f"/findings/{finding.pk}/")
    ]
    Finding.objects.filter(pk=finding.pk).update(state="acknowledged")
    assert check(ready, "findings").clear
    Finding.objects.filter(pk=finding.pk).update(state="resolved")
    assert check(ready, "findings").clear


def test_an_open_finding_of_lower_severity_does_not_block(ready):
    _finding(ready, severity="medium")
    assert check(ready, "findings").clear


def grow(cycle: Cycle, dri, n: int) -> None:
    """Add `n` squads to the cycle, each with work, a dependency and something blocking."""
    for i in range(n):
        squad = f.squad(f"extra-{Squad.objects.count()}-{i}", dri=dri, cycle=cycle)
        okr_with_key_result(squad, baseline=None)
        f.initiative(squad, "work")
        Dependency.objects.create(
            key=f"need-{squad.key}",
            from_squad=squad,
            to_function="People",
            what="Hires",
            due=dt.date(2027, 3, 1),
            blocking=True,
        )


def queries_of(action) -> int:
    with CaptureQueriesContext(connection) as queries:
        action()
    return len(queries)


def test_readiness_reads_a_fixed_number_of_queries_whatever_the_number_of_squads(ready, dora):
    def read() -> None:
        assert not selectors.readiness(ready).ready

    grow(ready, dora, 2)
    few = queries_of(read)
    grow(ready, dora, 10)
    assert queries_of(read) == few


def test_the_season_pages_read_a_fixed_number_of_queries_whatever_the_size(ready, leo, dora):
    commit(ready, leo)
    services.cycle_move(cycle=ready, to="reconciling", expected="committed", by=leo, reason="Q2")
    client = client_for(leo)

    def pages() -> None:
        for url in ("/cycles/", "/cycles/fy2027/"):
            assert client.get(url).status_code == 200

    grow(ready, dora, 2)
    f.cycle("fy2028")
    pages()  # the first visit puts the cycle on screen, which the session keeps
    few = queries_of(pages)
    grow(ready, dora, 10)
    for key in ("fy2029", "fy2030", "fy2031"):
        f.cycle(key)
    # The first page after a change to the cycles reads them once more (core.cycles keeps
    # them per process while they have not moved), whatever their number.
    pages()
    assert queries_of(pages) == few


# ---------------------------------------------------------------------------------------
# The state machine
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("start", "to"), [(a, b) for a in CYCLE_STATES for b in CYCLE_STATES])
def test_every_move_is_allowed_or_refused_as_the_season_says(ready, leo, start, to):
    set_state(ready, start)
    if (start, to) in ALLOWED:
        event = services.cycle_move(
            cycle=ready, to=to, expected=start, by=leo, reason="Agreed at the planning offsite"
        )
        assert Cycle.objects.get(pk=ready.pk).state == to
        assert (event.from_state, event.to_state, event.by, event.action) == (
            start,
            to,
            leo,
            "moved",
        )
        assert event.reason == "Agreed at the planning offsite"
        assert CycleBaseline.objects.filter(cycle=ready).count() == (to == "committed")
    else:
        with pytest.raises(ValidationError):
            services.cycle_move(cycle=ready, to=to, expected=start, by=leo, reason="Why not")
        assert Cycle.objects.get(pk=ready.pk).state == start
        assert not CycleEvent.objects.filter(cycle=ready).exists()
        assert not CycleBaseline.objects.exists()


@pytest.mark.parametrize(("start", "to"), sorted(CYCLE_BACK.items()))
def test_a_move_back_needs_a_reason(ready, leo, start, to):
    set_state(ready, start)
    with pytest.raises(ValidationError) as refused:
        services.cycle_move(cycle=ready, to=to, expected=start, by=leo, reason="  \u200b ")
    assert "Say why" in str(refused.value)
    assert Cycle.objects.get(pk=ready.pk).state == start
    assert not CycleEvent.objects.exists()


def test_a_move_from_a_state_the_cycle_has_left_is_refused(ready, leo, olga):
    services.cycle_move(cycle=ready, to="reconciling", expected="draft", by=leo)
    # Someone who still saw it as a draft moves it: refused, nothing changes.
    with pytest.raises(ValidationError) as refused:
        services.cycle_move(cycle=ready, to="reconciling", expected="draft", by=leo)
    assert "was moved meanwhile: it is reconciling now" in str(refused.value)
    assert CycleEvent.objects.filter(cycle=ready).count() == 1


def test_committing_is_refused_with_the_list_while_anything_blocks(ready, needing, leo):
    Plan.objects.filter(squad=needing).update(approved_at=None)
    set_state(ready, "reconciling")
    with pytest.raises(services.NotReady) as refused:
        services.cycle_move(cycle=ready, to="committed", expected="reconciling", by=leo)
    assert refused.value.readiness.blocking == 1
    assert "1 thing still blocks it" in refused.value.message
    assert Cycle.objects.get(pk=ready.pk).state == "reconciling"
    assert not CycleBaseline.objects.exists()
    assert not CycleEvent.objects.exists()


def test_committing_anyway_needs_a_written_reason_which_the_history_keeps(ready, needing, leo):
    Plan.objects.filter(squad=needing).update(approved_at=None)
    set_state(ready, "reconciling")
    with pytest.raises(ValidationError) as refused:
        services.cycle_move(
            cycle=ready, to="committed", expected="reconciling", by=leo, override=True
        )
    assert "needs a written reason" in str(refused.value)
    assert Cycle.objects.get(pk=ready.pk).state == "reconciling"

    event = services.cycle_move(
        cycle=ready,
        to="committed",
        expected="reconciling",
        by=leo,
        override=True,
        reason="Alice is away; she approves on Monday.",
    )
    assert Cycle.objects.get(pk=ready.pk).state == "committed"
    assert (event.overridden, event.reason) == (1, "Alice is away; she approves on Monday.")
    assert CycleBaseline.objects.filter(cycle=ready).count() == 1


def test_committing_keeps_a_copy_of_every_initiative_and_dependency(
    ready, leo, wizard, assessment, dep
):
    f.initiative(wizard.squad, "gone", title="Dropped idea", status="dropped")
    commit(ready, leo)
    baseline = CycleBaseline.objects.get(cycle=ready)
    assert baseline.taken_by == leo
    rows = {
        (b.squad_key, b.key): (b.title, b.starts, b.ends, b.status, b.headcount)
        for b in BaselineInitiative.objects.filter(baseline=baseline)
    }
    assert rows == {
        (i.squad.key, i.key): (i.title, i.starts, i.ends, i.status, i.headcount)
        for i in Initiative.objects.filter(squad__cycle=ready)
    }
    assert len(rows) == 3
    [copy] = BaselineDependency.objects.filter(baseline=baseline)
    assert (copy.key, copy.from_ref, copy.to_ref, copy.due, copy.status, copy.needer) == (
        "messaging",
        "first-90-days/wizard",
        "product-led",
        dep.due,
        "accepted",
        "first-90-days",
    )


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_of_two_people_committing_at_once_only_one_succeeds(monkeypatch):
    cycle = f.cycle()
    leo = f.in_group(f.person("leo", "Leo Lang", function="Leadership"), "Leadership")
    priya = f.in_group(f.person("priya", "Priya Shah", function="Leadership"), "Leadership")
    with transaction.atomic():  # a squad and its DRI's membership commit together
        squad = f.squad("first-90-days", dri=priya, cycle=cycle)
    okr_with_key_result(squad)
    approve(squad)
    SquadStage.objects.create(squad=squad, stage=f.stage("lifecycle", "onboarding"))
    set_state(cycle, "reconciling")
    assert selectors.readiness(cycle).ready

    # The first to check readiness waits (a while at most) for the second to get as far:
    # without the lock and the compare-and-swap, both would then commit.
    first_inside, second_inside = threading.Event(), threading.Event()
    real = services.readiness

    def readiness(which):
        if not first_inside.is_set():
            first_inside.set()
            second_inside.wait(3)
        else:
            second_inside.set()
        return real(which)

    monkeypatch.setattr(services, "readiness", readiness)
    outcomes: dict[str, object] = {}

    def move(who):
        try:
            outcomes[who.username] = services.cycle_move(
                cycle=Cycle.objects.get(pk=cycle.pk),
                to="committed",
                expected="reconciling",
                by=who,
            )
        except ValidationError as refused:
            outcomes[who.username] = refused
        finally:
            connection.close()

    threads = [threading.Thread(target=move, args=(who,)) for who in (leo, priya)]
    threads[0].start()
    assert first_inside.wait(10)
    threads[1].start()
    for thread in threads:
        thread.join(30)

    succeeded = [o for o in outcomes.values() if isinstance(o, CycleEvent)]
    refused = [o for o in outcomes.values() if isinstance(o, ValidationError)]
    assert (len(succeeded), len(refused)) == (1, 1)
    assert "was moved meanwhile" in str(refused[0])
    assert CycleBaseline.objects.filter(cycle=cycle).count() == 1
    assert CycleEvent.objects.filter(cycle=cycle, to_state="committed").count() == 1
    assert Cycle.objects.get(pk=cycle.pk).state == "committed"


# ---------------------------------------------------------------------------------------
# Opening a cycle
# ---------------------------------------------------------------------------------------


def test_a_new_cycle_opens_as_a_draft_with_who_opened_it(db, leo):
    cycle = services.cycle_create(
        key="fy2028", name="FY2028", starts=dt.date(2028, 1, 1), ends=dt.date(2028, 12, 31), by=leo
    )
    assert cycle.state == "draft"
    [event] = CycleEvent.objects.filter(cycle=cycle)
    assert (event.action, event.to_state, event.by) == ("opened", "draft", leo)


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({"key": "fy 2028"}, "key", "Use letters, digits"),
        ({"key": "new"}, "key", "taken by the pages"),
        ({"key": "FY2027"}, "key", "Another cycle already uses this key."),
        ({"name": " \u200b"}, "name", "Name the cycle."),
        ({"ends": dt.date(2027, 12, 31)}, "ends", "The cycle must end after it starts."),
        ({"ends": dt.date(2028, 1, 1)}, "ends", "The cycle must end after it starts."),
        ({"starts": dt.date(1999, 1, 1)}, "starts", "out of range"),
    ],
)
def test_a_new_cycle_with_a_problem_is_refused_with_a_sentence(cycle, leo, values, field, message):
    typed = {
        "key": "fy2028",
        "name": "FY2028",
        "starts": dt.date(2028, 1, 1),
        "ends": dt.date(2028, 12, 31),
        **values,
    }
    with pytest.raises(ValidationError) as refused:
        services.cycle_create(by=leo, **typed)
    assert message in " ".join(refused.value.message_dict[field])
    assert Cycle.objects.count() == 1


def test_cycles_there_before_the_season_take_the_state_their_dates_say(db):
    today = timezone.localdate()
    past = Cycle.objects.create(
        key="past", name="Past", starts=dt.date(2020, 1, 1), ends=today - dt.timedelta(days=1)
    )
    running = Cycle.objects.create(
        key="now", name="Now", starts=today, ends=today + dt.timedelta(days=90)
    )
    coming = Cycle.objects.create(
        key="next",
        name="Next",
        starts=today + dt.timedelta(days=1),
        ends=today + dt.timedelta(days=100),
    )
    migration = importlib.import_module("core.migrations.0003_season_cycle_state")
    migration.states_from_dates(apps, None)
    states = dict(Cycle.objects.values_list("key", "state"))
    assert states == {past.key: "closed", running.key: "in_flight", coming.key: "draft"}


# ---------------------------------------------------------------------------------------
# Drift since commit
# ---------------------------------------------------------------------------------------


@pytest.fixture
def drifted(ready, leo, needing, providing, wizard, assessment, dep):
    """fy2027 committed; since then an initiative added, one dropped, one's dates moved,
    a dependency added, one declined and one's due date moved."""
    second = Dependency.objects.create(
        key="feedback",
        from_squad=providing,
        to_squad=needing,
        what="Customer feedback from onboarding calls",
        due=dt.date(2027, 2, 1),
    )
    commit(ready, leo)
    f.initiative(needing, "checklist", title="Day-one checklist")
    Initiative.objects.filter(pk=assessment.pk).update(status="dropped")
    Initiative.objects.filter(pk=wizard.pk).update(ends=dt.date(2027, 5, 31))
    Dependency.objects.create(
        key="csm-hiring",
        from_squad=needing,
        to_function="People",
        what="Hire 15 CSMs",
        due=dt.date(2027, 3, 31),
    )
    Dependency.objects.filter(pk=dep.pk).update(status="declined")
    Dependency.objects.filter(pk=second.pk).update(due=dt.date(2027, 2, 15))
    return ready


def test_drift_since_commit_lists_what_was_added_dropped_and_moved(drifted, leo):
    from core.access import Actor

    report = selectors.drift_report(drifted, Actor(user=leo, groups=frozenset({"Leadership"})))
    assert [c.ref for c in report.initiatives.added] == ["first-90-days/checklist"]
    assert [c.ref for c in report.initiatives.dropped] == ["product-led/assessment"]
    [moved] = report.initiatives.moved
    assert (moved.ref, moved.was, moved.now) == (
        "first-90-days/wizard",
        (dt.date(2027, 1, 4), dt.date(2027, 3, 31)),
        (dt.date(2027, 1, 4), dt.date(2027, 5, 31)),
    )
    assert [c.ref for c in report.dependencies.added] == ["csm-hiring"]
    assert [c.ref for c in report.dependencies.dropped] == ["messaging"]
    [due] = report.dependencies.moved
    assert (due.ref, due.was, due.now) == (
        "feedback",
        (dt.date(2027, 2, 1),),
        (dt.date(2027, 2, 15),),
    )


def test_the_season_page_shows_the_full_drift_report(drifted, carol):
    page = client_for(carol).get("/cycles/fy2027/").content.decode()
    section = page[page.index('id="drift"') :]
    for text in (
        "Day-one checklist",
        "Assessment tool",
        "In-app onboarding wizard",
        "Hire 15 CSMs",
        "Feature messaging for the wizard",
        "Customer feedback from onboarding calls",
        "15 Feb 2027",
    ):
        assert text in section


def test_a_squads_plan_shows_its_own_drift_since_commit(drifted, bob):
    page = client_for(bob).get("/squads/first-90-days/plan/").content.decode()
    since = page[page.index('id="since-commit"') : page.index('class="plan-toc')]
    assert "Day-one checklist" in since  # added
    assert "In-app onboarding wizard" in since and "31 May 2027" in since  # moved
    assert "Hire 15 CSMs" in since  # a dependency it needs, added
    assert "Feature messaging" in since  # declined: dropped
    assert "Assessment tool" not in since  # another squad's
    assert "Customer feedback" not in since  # needed by another squad


def test_the_board_shows_the_dependencies_drift_since_commit(drifted, carol):
    page = client_for(carol).get("/board/").content.decode()
    since = page[page.index('id="since-commit"') :]
    since = since[: since.index("</section>")]
    assert "Dependency added" in since and "csm-hiring" in since
    assert "Dependency dropped" in since and "messaging" in since
    assert "Due moved" in since and "15 Feb 2027" in since
    assert "Day-one checklist" not in since


def test_nothing_since_commit_before_the_first_commit(ready, bob):
    assert (
        'id="since-commit"'
        not in client_for(bob).get("/squads/first-90-days/plan/").content.decode()
    )
    assert 'id="since-commit"' not in client_for(bob).get("/board/").content.decode()
    assert selectors.drift_report(ready, None) is None


def test_a_changed_draft_plan_a_person_may_not_read_is_left_out_of_the_report(drifted, carol, leo):
    Cycle.objects.filter(pk=drifted.pk).update(restrict_drafts=True)
    Plan.objects.filter(squad__key="first-90-days").update(approved_at=None)
    page = client_for(carol).get("/cycles/fy2027/").content.decode()
    assert "Day-one checklist" not in page
    assert "In-app onboarding wizard" not in page
    assert "2 changes to draft plans you cannot read are left out." in page
    assert "Day-one checklist" in client_for(leo).get("/cycles/fy2027/").content.decode()


def test_baseline_dates_give_each_initiative_as_committed(drifted, wizard):
    dates = season.baseline_dates(drifted)
    assert dates == {
        "first-90-days/wizard": (dt.date(2027, 1, 4), dt.date(2027, 3, 31)),
        "product-led/assessment": (dt.date(2027, 1, 4), dt.date(2027, 3, 31)),
    }
    assert season.baseline_dates(f.cycle("fy2028")) == {}


def test_committing_again_measures_drift_from_the_new_baseline(drifted, leo):
    services.cycle_move(
        cycle=drifted, to="reconciling", expected="committed", by=leo, reason="Re-plan Q2"
    )
    Dependency.objects.filter(key="messaging").update(status="accepted")
    services.cycle_move(cycle=drifted, to="committed", expected="reconciling", by=leo)
    assert CycleBaseline.objects.filter(cycle=drifted).count() == 2
    from core.access import Actor

    report = selectors.drift_report(drifted, Actor(user=leo, groups=frozenset({"Leadership"})))
    assert report.count == 0
    assert season.baseline_dates(drifted)["first-90-days/wizard"][1] == dt.date(2027, 5, 31)


# ---------------------------------------------------------------------------------------
# Carrying work forward
# ---------------------------------------------------------------------------------------


@pytest.fixture
def in_flight(ready, leo, needing, providing, wizard, assessment, dep, stage):
    """fy2027 committed and in flight, with finished work besides the unfinished."""
    f.initiative(needing, "shipped", title="Welcome email", status="done")
    f.initiative(needing, "cancelled", title="Webinar series", status="dropped")
    kr = KeyResult.objects.get(okr__squad=needing)
    CheckIn.objects.create(key_result=kr, value=Decimal(34), confidence=6, author=needing.dri)
    KeyResult.objects.filter(pk=kr.pk).update(current=Decimal(34))
    Dependency.objects.create(
        key="old-done",
        from_squad=needing,
        to_squad=providing,
        what="Done already",
        due=dt.date(2027, 2, 1),
        status="done",
    )
    commit(ready, leo)
    services.cycle_move(cycle=ready, to="in_flight", expected="committed", by=leo)
    return ready


def carry(source, by, **picks):
    everything = {
        "initiative_ids": [
            i.pk
            for i in Initiative.objects.filter(squad__cycle=source).exclude(
                status__in=["done", "dropped"]
            )
        ],
        "dependency_ids": list(
            Dependency.objects.filter(from_initiative__squad__cycle=source)
            .exclude(status__in=["done", "declined"])
            .values_list("pk", flat=True)
        ),
        "key_result_ids": list(
            KeyResult.objects.filter(okr__cycle=source).values_list("pk", flat=True)
        ),
    }
    everything.update(picks)
    return services.cycle_carry_forward(
        source=source,
        key="fy2028",
        name="FY2028",
        starts=dt.date(2028, 1, 1),
        ends=dt.date(2028, 12, 31),
        by=by,
        **everything,
    )


def test_carrying_forward_copies_the_picked_unfinished_work_and_its_squads(
    in_flight, leo, alice, bob, dora, pete, stage, wizard, dep
):
    carried = carry(in_flight, leo)
    new = carried.cycle
    assert (new.key, new.name, new.state) == ("fy2028", "FY2028", "draft")
    assert (carried.squads, carried.initiatives, carried.dependencies, carried.key_results) == (
        2,
        2,
        1,
        2,
    )
    squads = {s.name: s for s in Squad.objects.filter(cycle=new)}
    first = squads["First 90 Days"]
    assert first.key == "first-90-days-fy2028"
    assert first.dri == alice
    assert set(
        Membership.objects.filter(squad=first).values_list("person__username", "function")
    ) == {
        ("alice", "Customer Success"),
        ("bob", "Product"),
    }
    assert list(first.stages.all()) == [stage]
    assert squads["Product-led Growth"].dri == dora
    assert Plan.objects.get(squad=first).approved_at is None

    copied = Initiative.objects.get(squad=first)
    assert (
        copied.key,
        copied.title,
        copied.starts,
        copied.ends,
        copied.status,
        copied.headcount,
    ) == (wizard.key, wizard.title, wizard.starts, wizard.ends, wizard.status, wizard.headcount)
    assert copied.history.get().history_user == leo

    kr = KeyResult.objects.get(okr__squad=first)
    assert (kr.key, kr.baseline, kr.current, kr.target) == (
        "activation",
        Decimal(34),
        Decimal(34),
        Decimal(40),
    )
    assert OKR.objects.get(squad=first).cycle == new
    assert not CheckIn.objects.filter(key_result=kr).exists()

    new_dep = Dependency.objects.get(key="messaging-fy2028")
    assert new_dep.from_initiative == copied
    assert new_dep.to_squad == squads["Product-led Growth"]
    assert (new_dep.what, new_dep.due, new_dep.status, new_dep.blocking, new_dep.owner) == (
        dep.what,
        dep.due,
        "accepted",
        True,
        dep.owner,
    )

    [event] = CycleEvent.objects.filter(cycle=new)
    assert (event.action, event.source, event.by) == ("carried", in_flight, leo)
    assert ["first-90-days", "first-90-days-fy2028", "First 90 Days"] in event.details["squads"]


def test_finished_and_unpicked_work_stays_behind(in_flight, leo, wizard, assessment, providing):
    carry(in_flight, leo, initiative_ids=[wizard.pk], dependency_ids=[], key_result_ids=[])
    new = Cycle.objects.get(key="fy2028")
    assert list(Initiative.objects.filter(squad__cycle=new).values_list("key", flat=True)) == [
        "wizard"
    ]
    assert not Dependency.objects.filter(key__endswith="fy2028").exists()
    assert not KeyResult.objects.filter(okr__cycle=new).exists()
    # Only the squad of the picked work comes along.
    assert list(Squad.objects.filter(cycle=new).values_list("key", flat=True)) == [
        "first-90-days-fy2028"
    ]


def test_the_old_cycle_is_untouched(in_flight, leo):
    before = export_document("fy2027")
    baselines = list(CycleBaseline.objects.values_list("pk", flat=True))
    versions = list(Initiative.objects.order_by("pk").values_list("pk", "version", "updated_at"))
    carry(in_flight, leo)
    assert export_document("fy2027") == before
    assert Cycle.objects.get(key="fy2027").state == "in_flight"
    assert list(CycleBaseline.objects.values_list("pk", flat=True)) == baselines
    assert (
        list(
            Initiative.objects.filter(squad__cycle=in_flight)
            .order_by("pk")
            .values_list("pk", "version", "updated_at")
        )
        == versions
    )


def test_carried_keys_are_unique_and_end_with_the_new_cycle(in_flight, leo, dora):
    # A squad already holds the key the copy would take, and a key that names the old
    # cycle gets the new one in its place.
    f.squad("first-90-days-fy2028", dri=dora, cycle=f.cycle("other"))
    f.squad("growth-fy2027", dri=dora, cycle=in_flight)
    okr_with_key_result(Squad.objects.get(key="growth-fy2027"), "reach")
    carry(in_flight, leo)
    keys = set(Squad.objects.filter(cycle__key="fy2028").values_list("key", flat=True))
    assert keys == {"first-90-days-fy2028-2", "product-led-fy2028", "growth-fy2028"}
    assert (
        services.carried_key("x" * 80, old_cycle="fy2027", new_cycle="fy2028", taken=set())
        == "x" * 73 + "-fy2028"
    )
    # A long cycle key leaves room for the copy's own: a valid key, never over the limit.
    long = services.carried_key(
        "first-90-days", old_cycle="fy2027", new_cycle="q" * 80, taken=set()
    )
    assert long == "first-90-days-" + "q" * 40
    assert key_problem(long) is None


def test_carrying_forward_from_a_cycle_not_yet_committed_is_refused(ready, leo):
    for state in ("draft", "reconciling"):
        set_state(ready, state)
        with pytest.raises(ValidationError) as refused:
            carry(ready, leo)
        assert "work carries forward from a cycle that is committed" in str(refused.value)
    assert not Cycle.objects.filter(key="fy2028").exists()


def test_work_finished_since_the_form_opened_is_refused_and_nothing_is_opened(
    in_flight, leo, wizard
):
    Initiative.objects.filter(pk=wizard.pk).update(status="done")
    with pytest.raises(ValidationError) as refused:
        carry(in_flight, leo, initiative_ids=[wizard.pk])
    assert "no longer unfinished" in str(refused.value)
    assert not Cycle.objects.filter(key="fy2028").exists()
    assert Squad.objects.filter(cycle__key="fy2028").count() == 0


def test_carrying_nothing_is_refused(in_flight, leo):
    with pytest.raises(ValidationError) as refused:
        carry(in_flight, leo, initiative_ids=[], dependency_ids=[], key_result_ids=[])
    assert "Pick at least one" in str(refused.value)
    assert not Cycle.objects.filter(key="fy2028").exists()


# ---------------------------------------------------------------------------------------
# The pages, through HTTP
# ---------------------------------------------------------------------------------------

NEW_CYCLE = {"name": "FY2028", "key": "fy2028", "starts": "2028-01-01", "ends": "2028-12-31"}


def test_everyone_signed_in_reads_the_cycles_and_leadership_opens_one(cycle, carol, leo):
    page = client_for(carol).get("/cycles/").content.decode()
    assert "FY2027" in page and "Draft" in page
    assert "Open a new cycle" not in page
    assert 'href="/cycles/"' in page  # the Season link in the main navigation

    response = client_for(leo).post("/cycles/", NEW_CYCLE)
    assert response.status_code == 302
    assert response["Location"] == "/cycles/fy2028/"
    assert Cycle.objects.get(key="fy2028").state == "draft"


def test_only_leadership_opens_a_cycle(cycle, carol, bob, olga):
    for person in (carol, bob, olga):
        assert client_for(person).post("/cycles/", NEW_CYCLE).status_code == 403
    assert not Cycle.objects.filter(key="fy2028").exists()


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ({"key": ""}, "Give it a key."),
        ({"key": "fy2027"}, "Another cycle already uses this key."),
        ({"ends": "2027-12-31"}, "The cycle must end after it starts."),
        ({"starts": "next year"}, "Write the date as YYYY-MM-DD"),
        ({"name": ""}, "Name the cycle."),
    ],
)
def test_a_new_cycle_with_a_problem_shows_the_form_again_with_a_sentence(
    cycle, leo, typed, message
):
    response = client_for(leo).post("/cycles/", {**NEW_CYCLE, **typed})
    assert response.status_code == 200
    page = response.content.decode()
    assert message in page
    assert 'value="FY2028"' in page or typed.get("name") == ""  # what was typed stays
    assert Cycle.objects.count() == 1


def test_the_season_pages_ask_to_sign_in_and_answer_404_for_an_unknown_cycle(cycle, carol):
    anonymous = Client()
    for url in ("/cycles/", "/cycles/fy2027/", "/cycles/fy2027/carry-forward/"):
        assert anonymous.get(url)["Location"].startswith("/accounts/login/")
    client = client_for(carol)
    assert client.get("/cycles/nope/").status_code == 404
    assert (
        client_for(f.in_group(f.person("lee"), "Leadership"))
        .get("/cycles/nope/carry-forward/")
        .status_code
        == 404
    )
    assert (
        client.post("/cycles/nope/move/", {"to": "reconciling", "seen": "draft"}).status_code == 404
    )


def test_wrong_methods_are_405(cycle, leo):
    client = client_for(leo)
    assert client.put("/cycles/").status_code == 405
    assert client.post("/cycles/fy2027/", {}).status_code == 405
    assert client.get("/cycles/fy2027/move/").status_code == 405
    assert client.delete("/cycles/fy2027/carry-forward/").status_code == 405


def test_every_change_needs_the_csrf_token(cycle, leo):
    client = Client(enforce_csrf_checks=True)
    client.force_login(leo)
    assert client.post("/cycles/", NEW_CYCLE).status_code == 403
    assert (
        client.post("/cycles/fy2027/move/", {"to": "reconciling", "seen": "draft"}).status_code
        == 403
    )
    assert client.post("/cycles/fy2027/carry-forward/", NEW_CYCLE).status_code == 403
    assert Cycle.objects.get(key="fy2027").state == "draft"
    assert Cycle.objects.count() == 1


def test_leadership_moves_the_season_on_its_page_and_the_history_says_who(ready, leo, carol):
    client = client_for(leo)
    page = client.get("/cycles/fy2027/").content.decode()
    assert "Start reconciling" in page and "Ready to commit?" in page
    response = client.post(
        "/cycles/fy2027/move/", {"to": "reconciling", "seen": "draft"}, follow=True
    )
    assert "FY2027 is reconciling now." in response.content.decode()
    response = client.post(
        "/cycles/fy2027/move/", {"to": "committed", "seen": "reconciling"}, follow=True
    )
    page = response.content.decode()
    assert "FY2027 is committed." in page
    history = page[page.index('id="history"') :]
    assert "Leo Lang" in history and "reconciling" in history and "committed" in history

    reader = client_for(carol).get("/cycles/fy2027/").content.decode()
    assert "Mark in flight" not in reader and 'action="/cycles/fy2027/move/"' not in reader


def test_a_season_page_puts_its_cycle_on_screen_so_its_links_open_on_it(ready, leo, dora):
    """The readiness check's links lead to pages that show the cycle on screen: from the
    next cycle's page, "Assign a squad" offers that cycle's squads, not the last one's."""
    following = f.cycle("fy2028")
    f.squad("renewal-fy2028", dri=dora, cycle=following, name="Renewal Squad")
    client = client_for(leo)
    client.post("/cycle/", {"cycle": "fy2027", "next": "/"})  # chosen at the top before

    page = client.get("/cycles/fy2028/").content.decode()
    assert '<option value="fy2028" selected>' in page
    assert 'href="/journeys/lifecycle/stages/onboarding/cover/"' in page
    cover = client.get("/journeys/lifecycle/stages/onboarding/cover/").content.decode()
    assert "Squads of FY2028" in cover
    assert "Renewal Squad" in cover and "First 90 Days" not in cover

    client.get("/cycles/fy2027/")
    cover = client.get("/journeys/lifecycle/stages/onboarding/cover/").content.decode()
    assert "Squads of FY2027" in cover and "First 90 Days" in cover


def test_only_leadership_moves_a_cycle(ready, carol, alice, olga):
    for person in (carol, alice, olga):
        response = client_for(person).post(
            "/cycles/fy2027/move/", {"to": "reconciling", "seen": "draft"}
        )
        assert response.status_code == 403
    assert Cycle.objects.get(key="fy2027").state == "draft"


def test_a_refused_commit_shows_what_blocks_and_keeps_the_reason_typed(ready, needing, leo):
    Plan.objects.filter(squad=needing).update(approved_at=None)
    set_state(ready, "reconciling")
    response = client_for(leo).post(
        "/cycles/fy2027/move/",
        {"to": "committed", "seen": "reconciling", "reason": "Board meets Friday"},
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "FY2027 is not committed: 1 thing still blocks it" in page
    assert "The plan of First 90 Days is a draft" in page
    assert 'href="/squads/first-90-days/plan/#plan-status"' in page
    assert "Board meets Friday" in page
    assert Cycle.objects.get(pk=ready.pk).state == "reconciling"

    response = client_for(leo).post(
        "/cycles/fy2027/move/",
        {
            "to": "committed",
            "seen": "reconciling",
            "override": "on",
            "reason": "Board meets Friday",
        },
        follow=True,
    )
    page = response.content.decode()
    assert "1 thing still blocked; your reason is in the cycle&#x27;s history." in page
    assert "although 1 thing still blocked" in page
    assert Cycle.objects.get(pk=ready.pk).state == "committed"


def test_a_move_back_without_a_reason_is_refused_on_the_page(ready, leo):
    set_state(ready, "reconciling")
    response = client_for(leo).post("/cycles/fy2027/move/", {"to": "draft", "seen": "reconciling"})
    assert response.status_code == 200
    assert "Say why FY2027 goes back to draft" in response.content.decode()
    assert Cycle.objects.get(pk=ready.pk).state == "reconciling"


def test_a_move_from_a_page_that_is_out_of_date_is_refused_with_where_it_stands(ready, leo):
    set_state(ready, "reconciling")
    response = client_for(leo).post(
        "/cycles/fy2027/move/", {"to": "reconciling", "seen": "draft", "reason": "Kick-off"}
    )
    page = response.content.decode()
    assert "was moved meanwhile: it is reconciling now" in page
    assert "What you wrote, not saved:" in page and "Kick-off" in page
    assert Cycle.objects.get(pk=ready.pk).state == "reconciling"
    assert not CycleEvent.objects.exists()


def test_a_move_form_that_was_tampered_with_is_refused(ready, leo):
    response = client_for(leo).post("/cycles/fy2027/move/", {"to": "launched", "seen": "draft"})
    assert response.status_code == 200
    assert "reload the page" in response.content.decode()
    assert Cycle.objects.get(pk=ready.pk).state == "draft"


@pytest.mark.parametrize("to", ["50%", "%s", "<b>"])
def test_a_move_form_with_any_text_in_its_hidden_field_is_refused(ready, leo, to):
    response = client_for(leo).post("/cycles/fy2027/move/", {"to": to, "seen": "draft"})
    assert response.status_code == 200
    assert "reload the page" in response.content.decode()
    assert Cycle.objects.get(pk=ready.pk).state == "draft"


def test_user_text_on_the_season_pages_is_escaped(cycle, leo):
    Cycle.objects.filter(pk=cycle.pk).update(name="<script>alert(1)</script>")
    set_state(cycle, "reconciling")
    services.cycle_move(
        cycle=cycle,
        to="draft",
        expected="reconciling",
        by=leo,
        reason="<img src=x onerror=alert(2)>",
    )
    for url in ("/cycles/", "/cycles/fy2027/"):
        page = client_for(leo).get(url).content.decode()
        assert "<script>alert(1)" not in page and "&lt;script&gt;" in page
    assert "<img src=x" not in client_for(leo).get("/cycles/fy2027/").content.decode()


def test_leadership_carries_work_forward_on_a_form_with_the_unfinished_work_picked(
    in_flight, leo, wizard
):
    client = client_for(leo)
    page = client.get("/cycles/fy2027/").content.decode()
    assert 'href="/cycles/fy2027/carry-forward/"' in page
    form = client.get("/cycles/fy2027/carry-forward/").content.decode()
    assert f'value="{wizard.pk}" id="carry-initiative-{wizard.pk}" checked' in form
    assert "Welcome email" not in form  # done
    assert "Webinar series" not in form  # dropped
    assert "Done already" not in form  # a dependency that is done

    response = client.post(
        "/cycles/fy2027/carry-forward/",
        {**NEW_CYCLE, "initiatives": [wizard.pk]},
        follow=True,
    )
    page = response.content.decode()
    assert response.redirect_chain[-1][0] == "/cycles/fy2028/"
    assert (
        "FY2028 is open, as a draft, with 1 squad, 1 initiative, 0 dependencies and 0 key results"
        in page
    )
    assert "Carried forward from" in page and "first-90-days-fy2028" in page
    # It lists what came by name, each where it now lives.
    carried = page[page.index('id="carried"') : page.index('id="moves"')]
    assert (
        f'Initiatives: <a href="/squads/first-90-days-fy2028/plan/#initiative-{wizard.key}">'
        f"{wizard.title}</a> (First 90 Days)."
    ) in carried
    assert "Key results:" not in carried  # none picked


def test_the_next_cycles_page_lists_the_key_results_carried(in_flight, leo):
    kr = KeyResult.objects.filter(okr__cycle=in_flight).order_by("okr__squad__key").first()
    carry(in_flight, leo, initiative_ids=[], dependency_ids=[], key_result_ids=[kr.pk])
    page = client_for(leo).get("/cycles/fy2028/").content.decode()
    squad = Squad.objects.get(cycle__key="fy2028")
    assert (
        f'Key results: <a href="/squads/{squad.key}/#kr-{kr.key}">{kr.name}</a> ({squad.name}).'
    ) in page
    assert "Initiatives:" not in page


def test_the_carry_forward_form_keeps_what_was_typed_and_picked_when_refused(
    in_flight, leo, wizard
):
    response = client_for(leo).post(
        "/cycles/fy2027/carry-forward/",
        {**NEW_CYCLE, "key": "fy2027", "initiatives": [wizard.pk]},
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "Another cycle already uses this key." in page
    assert f'value="{wizard.pk}" id="carry-initiative-{wizard.pk}" checked' in page
    assert 'value="FY2028"' in page
    assert Cycle.objects.count() == 1


def test_picked_work_that_is_not_the_cycles_is_refused_with_a_sentence(in_flight, leo, cycle):
    stranger = f.initiative(f.squad("elsewhere", dri=leo, cycle=f.cycle("other")), "x")
    response = client_for(leo).post(
        "/cycles/fy2027/carry-forward/", {**NEW_CYCLE, "initiatives": [stranger.pk]}
    )
    assert "no longer unfinished in FY2027" in response.content.decode()
    assert not Cycle.objects.filter(key="fy2028").exists()


def test_only_leadership_carries_work_forward(in_flight, alice, olga, carol):
    for person in (alice, olga, carol):
        client = client_for(person)
        assert client.get("/cycles/fy2027/carry-forward/").status_code == 403
        assert client.post("/cycles/fy2027/carry-forward/", NEW_CYCLE).status_code == 403
    assert not Cycle.objects.filter(key="fy2028").exists()


def test_a_cycle_with_more_work_than_a_form_carries_picks_whole_squads(
    in_flight, leo, wizard, settings
):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 12  # leaves room for 2 checkboxes
    client = client_for(leo)
    form = client.get("/cycles/fy2027/carry-forward/").content.decode()
    assert "pick whole squads" in form
    first = Squad.objects.get(key="first-90-days")
    response = client.post("/cycles/fy2027/carry-forward/", {**NEW_CYCLE, "squads": [first.pk]})
    assert response.status_code == 302
    new = Squad.objects.get(cycle__key="fy2028", key="first-90-days-fy2028")
    assert list(Initiative.objects.filter(squad=new).values_list("key", flat=True)) == ["wizard"]
    assert Dependency.objects.filter(key="messaging-fy2028").exists()
    # The key result has not reached its target: it comes along.
    assert KeyResult.objects.filter(okr__squad=new).count() == 1


def test_a_removed_squads_stages_are_uncovered_again(ready, needing, providing, leo):
    """Removing a squad takes its coverage with it: the stage it covered blocks again, and
    restoring the squad clears it."""
    from planning import removals, restores

    stage = f.stage("lifecycle", "renewal", name="Renewal")
    SquadStage.objects.create(squad=providing, stage=stage)
    assert check(ready, "coverage").clear

    removal = removals.squad_remove(
        squad=providing, by=leo, seen=removals.squad_removal(providing).digest, answered=True
    )

    assert [b.text for b in check(ready, "coverage").blockers] == [
        "No squad of FY2027 covers the Renewal stage of lifecycle."
    ]
    restores.removal_restore(removal=removal, by=leo)
    assert check(ready, "coverage").clear
