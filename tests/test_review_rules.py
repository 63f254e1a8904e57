"""Each review rule on plain objects: the cases that fire and the near-misses that must not."""

from __future__ import annotations

import datetime as dt
import itertools
import random
from decimal import Decimal
from types import SimpleNamespace

import pytest

from core.graphs import simple_cycles
from planning import review as r
from planning.review import FindingData, review
from planning.snapshot import (
    DependencyFacts,
    InitiativeFacts,
    KeyResultFacts,
    Snapshot,
    SquadFacts,
    StageFacts,
)

TODAY = dt.date(2027, 2, 10)
D = dt.date
MARCH_1 = D(2027, 3, 1)
JAN_4 = D(2027, 1, 4)


def initiative(ref: str = "alpha/work", **values) -> InitiativeFacts:
    squad, key = ref.split("/")
    defaults = {
        "title": key.replace("-", " ").capitalize(),
        "description": "",
        "function": "Product",
        "stage": None,
        "segment": None,
        "starts": D(2027, 1, 4),
        "ends": D(2027, 3, 31),
        "headcount": Decimal(1),
        "status": "planned",
    }
    defaults.update(values)
    if not isinstance(defaults["headcount"], Decimal):
        defaults["headcount"] = Decimal(str(defaults["headcount"]))
    return InitiativeFacts(squad=squad, key=key, **defaults)


def dependency(
    key: str = "dep",
    frm: str = "alpha/work",
    to: str | None = "beta",
    *,
    to_function: str = "",
    due: dt.date = MARCH_1,
    blocking: bool = True,
    status: str = "requested",
    owner: str | None = None,
    what: str = "Feature messaging",
) -> DependencyFacts:
    """`frm`/`to` as the planning file writes them: "squad" or "squad/initiative"."""
    from_initiative = frm if "/" in frm else None
    to_initiative = to if to and "/" in to else None
    return DependencyFacts(
        key=key,
        from_squad=frm.split("/")[0],
        from_initiative=from_initiative,
        to_squad=to.split("/")[0] if to else None,
        to_initiative=to_initiative,
        to_function=to_function,
        what=what,
        due=due,
        blocking=blocking,
        status=status,
        owner=owner,
    )


def squad(key: str, *, dri: str = "priya", members=(), stages=()) -> SquadFacts:
    return SquadFacts(
        key=key,
        name=key.replace("-", " ").title() + " Squad",
        dri=dri,
        members=(dri, *members),
        stages=tuple(stages),
    )


def snapshot(
    *,
    initiatives=(),
    dependencies=(),
    squads=None,
    key_results=(),
    stages=(),
    capacity=None,
    provider_initiatives=(),
) -> Snapshot:
    squads = list(squads) if squads is not None else [squad("alpha"), squad("beta", dri="omar")]
    return Snapshot(
        cycle="fy2027",
        cycle_name="FY2027",
        starts=D(2027, 1, 1),
        ends=D(2027, 12, 31),
        squads=squads,
        initiatives=list(initiatives),
        dependencies=list(dependencies),
        key_results=list(key_results),
        stages=list(stages),
        capacity={k: Decimal(str(v)) for k, v in (capacity or {}).items()},
        provider_initiatives={i.ref: i for i in provider_initiatives},
        people={"priya": "Priya Shah", "omar": "Omar Haddad", "marco": "Marco Rossi"},
        squad_names={s.key: s.name for s in squads},
    )


def rules_fired(findings: list[FindingData]) -> list[tuple[str, tuple[str, ...]]]:
    return [(f.rule, f.subjects) for f in findings]


# --- overdue -----------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["requested", "accepted", "at_risk"])
def test_overdue_fires_the_day_after_the_due_date(status):
    snap = snapshot(
        initiatives=[initiative("alpha/campaign", title="Enrollment campaign")],
        dependencies=[
            dependency("msg", "alpha/campaign", "beta", due=D(2027, 2, 9), status=status)
        ],
    )

    [finding] = r.rule_overdue(snap, TODAY)

    assert finding.kind == "blocker"
    assert finding.subjects == ("dependency:msg", "squad:alpha", "squad:beta")
    assert finding.severity == "high"
    assert "Enrollment campaign (Alpha Squad)" in finding.message
    assert "feature messaging from Beta Squad" in finding.message
    assert "9 Feb 2027" in finding.message


def test_overdue_and_never_accepted_is_one_finding_that_names_both_facts():
    snap = snapshot(
        initiatives=[initiative("alpha/campaign", title="Enrollment campaign")],
        dependencies=[dependency("msg", "alpha/campaign", "beta", due=D(2027, 2, 1))],
    )

    [finding] = [f for f in review(snap, TODAY) if f.rule in ("overdue", "unaccepted")]

    assert (finding.rule, finding.subjects[0]) == ("overdue", "dependency:msg")
    assert "past due since 1 Feb 2027" in finding.message
    assert "never accepted by Beta Squad" in finding.message
    assert "Omar Haddad should accept it with a new date or say no" in finding.message
    assert finding.as_json()["rule"] == "overdue"


@pytest.mark.parametrize(("blocking", "severity"), [(True, "high"), (False, "medium")])
def test_overdue_and_never_accepted_keeps_the_severity_of_the_two(blocking, severity):
    snap = snapshot(dependencies=[dependency(due=D(2027, 2, 1), blocking=blocking)])
    before = r.rule_unaccepted(
        snapshot(dependencies=[dependency(due=TODAY, blocking=blocking)]), TODAY
    )
    assert [f.severity for f in before] == [severity]
    assert [f.severity for f in review(snap, TODAY)] == [severity]


def test_higher_picks_the_most_severe():
    assert r.higher("medium", "high") == "high"
    assert r.higher("low", "medium", "low") == "medium"
    assert r.higher("low") == "low"


def test_an_accepted_dependency_past_due_does_not_say_never_accepted():
    snap = snapshot(dependencies=[dependency(due=D(2027, 2, 1), status="accepted")])
    [finding] = r.rule_overdue(snap, TODAY)
    assert "never accepted" not in finding.message
    assert "accepted but not delivered" in finding.message


@pytest.mark.parametrize(
    ("due", "status"),
    [
        (TODAY, "requested"),  # due today is not yet overdue
        (TODAY + dt.timedelta(days=1), "requested"),  # the day before it is due
        (D(2027, 1, 1), "done"),
        (D(2027, 1, 1), "declined"),
    ],
)
def test_overdue_near_misses(due, status):
    snap = snapshot(dependencies=[dependency(due=due, status=status)])
    assert r.rule_overdue(snap, TODAY) == []


def test_overdue_is_medium_when_it_blocks_nothing_and_names_the_owner():
    snap = snapshot(
        dependencies=[dependency(due=D(2027, 2, 1), blocking=False, owner="omar")],
    )
    [finding] = r.rule_overdue(snap, TODAY)
    assert finding.severity == "medium"
    assert "Omar Haddad" in finding.message
    assert "omar" not in finding.message.replace("Omar", "")


# --- declined ----------------------------------------------------------------------------


@pytest.mark.parametrize("needer_status", ["proposed", "planned", "in_progress", "done"])
def test_declined_fires_while_the_needing_initiative_is_not_dropped(needer_status):
    snap = snapshot(
        initiatives=[initiative("alpha/work", status=needer_status)],
        dependencies=[dependency("d", "alpha/work", "beta", status="declined")],
    )
    [finding] = r.rule_declined(snap, TODAY)
    assert (finding.rule, finding.subjects[0], finding.severity) == (
        "declined",
        "dependency:d",
        "high",
    )
    assert finding.message.startswith("Beta Squad declined")


def test_declined_fires_when_a_squad_needs_it():
    snap = snapshot(dependencies=[dependency("d", "alpha", "beta", status="declined")])
    assert len(r.rule_declined(snap, TODAY)) == 1


def test_declined_near_misses_dropped_work_and_other_statuses():
    dropped = snapshot(
        initiatives=[initiative("alpha/work", status="dropped")],
        dependencies=[dependency("d", "alpha/work", "beta", status="declined")],
    )
    assert r.rule_declined(dropped, TODAY) == []
    for status in ("requested", "accepted", "at_risk", "done"):
        snap = snapshot(dependencies=[dependency(status=status)])
        assert r.rule_declined(snap, TODAY) == []


# --- unaccepted --------------------------------------------------------------------------


@pytest.mark.parametrize("days_left", [14, 5, 0])
def test_unaccepted_fires_within_14_days_of_due(days_left):
    due = TODAY + dt.timedelta(days=days_left)
    snap = snapshot(
        initiatives=[initiative("alpha/campaign", title="Enrollment campaign")],
        dependencies=[dependency("msg", "alpha/campaign", "beta", due=due, owner="omar")],
    )
    [finding] = r.rule_unaccepted(snap, TODAY)
    assert finding.subjects[0] == "dependency:msg"
    assert "still only requested" in finding.message
    assert "Omar Haddad should accept it or say no" in finding.message


def test_unaccepted_near_misses():
    fifteen_days = snapshot(dependencies=[dependency(due=TODAY + dt.timedelta(days=15))])
    assert r.rule_unaccepted(fifteen_days, TODAY) == []
    for status in ("accepted", "at_risk", "done", "declined"):
        snap = snapshot(dependencies=[dependency(due=TODAY, status=status)])
        assert r.rule_unaccepted(snap, TODAY) == []


@pytest.mark.parametrize("days_late", [1, 3, 40])
def test_unaccepted_leaves_a_past_due_dependency_to_overdue(days_late):
    snap = snapshot(dependencies=[dependency(due=TODAY - dt.timedelta(days=days_late))])
    assert r.rule_unaccepted(snap, TODAY) == []
    assert [f.rule for f in review(snap, TODAY)] == ["overdue"]


def test_unaccepted_names_the_providing_squads_dri_when_there_is_no_owner():
    snap = snapshot(dependencies=[dependency(due=TODAY, blocking=False)])
    [finding] = r.rule_unaccepted(snap, TODAY)
    assert "Omar Haddad should accept it" in finding.message
    assert finding.severity == "medium"


# --- late_provider -----------------------------------------------------------------------


def test_late_provider_fires_when_the_provider_ends_the_day_after_due():
    snap = snapshot(
        initiatives=[
            initiative("alpha/wizard", title="Onboarding wizard"),
            initiative("beta/assessment", title="Assessment tool", ends=D(2027, 4, 1)),
        ],
        dependencies=[dependency("a", "alpha/wizard", "beta/assessment", due=D(2027, 3, 31))],
    )
    [finding] = r.rule_late_provider(snap, TODAY)
    assert finding.subjects == ("dependency:a", "squad:alpha", "squad:beta")
    assert "Assessment tool (Beta Squad) is planned to end only on 1 Apr 2027" in finding.message


def test_late_provider_sees_a_provider_in_another_cycle():
    elsewhere = initiative("gamma/platform", ends=D(2027, 6, 30))
    snap = snapshot(
        dependencies=[dependency("a", "alpha", "gamma/platform", due=D(2027, 3, 31))],
        provider_initiatives=[elsewhere],
    )
    assert [f.rule for f in r.rule_late_provider(snap, TODAY)] == ["late_provider"]


def test_late_provider_near_misses():
    provider = initiative("beta/assessment", ends=D(2027, 3, 31))
    equal = snapshot(
        initiatives=[provider],
        dependencies=[dependency("a", "alpha", "beta/assessment", due=D(2027, 3, 31))],
    )
    assert r.rule_late_provider(equal, TODAY) == []
    done = snapshot(
        initiatives=[initiative("beta/assessment", ends=D(2027, 6, 1))],
        dependencies=[dependency("a", "alpha", "beta/assessment", status="done")],
    )
    assert r.rule_late_provider(done, TODAY) == []
    squad_provider = snapshot(dependencies=[dependency("a", "alpha", "beta")])
    assert r.rule_late_provider(squad_provider, TODAY) == []
    function_provider = snapshot(dependencies=[dependency("a", "alpha", None, to_function="HR")])
    assert r.rule_late_provider(function_provider, TODAY) == []


# --- needed_before_due -------------------------------------------------------------------


def test_needed_before_due_fires_when_the_needer_starts_the_day_before_due():
    snap = snapshot(
        initiatives=[initiative("alpha/wizard", title="Onboarding wizard", starts=D(2027, 3, 30))],
        dependencies=[dependency("a", "alpha/wizard", "beta", due=D(2027, 3, 31))],
    )
    [finding] = r.rule_needed_before_due(snap, TODAY)
    assert finding.subjects[0] == "dependency:a"
    assert finding.severity == "medium"  # not started yet
    assert "is planned to start on 30 Mar 2027" in finding.message
    assert "due only on 31 Mar 2027" in finding.message


def test_needed_before_due_is_high_once_the_needer_has_started():
    snap = snapshot(
        initiatives=[initiative("alpha/program", starts=D(2027, 1, 4))],
        dependencies=[
            dependency("hire", "alpha/program", None, to_function="People", due=D(2027, 3, 31))
        ],
    )
    [finding] = r.rule_needed_before_due(snap, TODAY)
    assert finding.severity == "high"
    assert finding.subjects == ("dependency:hire", "squad:alpha")
    assert "from the People team" in finding.message


def test_needed_before_due_near_misses():
    def case(*, starts=JAN_4, status="requested", blocking=True, frm="alpha/w", **kw):
        return snapshot(
            initiatives=[initiative("alpha/w", starts=starts, **kw)],
            dependencies=[
                dependency("a", frm, "beta", due=D(2027, 3, 31), status=status, blocking=blocking)
            ],
        )

    assert len(r.rule_needed_before_due(case(), TODAY)) == 1  # the case the misses vary
    assert r.rule_needed_before_due(case(starts=D(2027, 3, 31), ends=D(2027, 4, 30)), TODAY) == []
    assert r.rule_needed_before_due(case(status="done"), TODAY) == []
    assert r.rule_needed_before_due(case(blocking=False), TODAY) == []
    assert r.rule_needed_before_due(case(frm="alpha"), TODAY) == []  # a squad starts nothing
    dropped = snapshot(
        initiatives=[initiative("alpha/w", status="dropped")],
        dependencies=[dependency("a", "alpha/w", "beta", due=D(2027, 3, 31))],
    )
    assert r.rule_needed_before_due(dropped, TODAY) == []


# --- cycle -------------------------------------------------------------------------------


def test_a_loop_of_three_blocking_dependencies_is_one_finding_listing_them():
    snap = snapshot(
        squads=[squad("alpha"), squad("beta", dri="omar"), squad("gamma")],
        dependencies=[
            dependency("ab", "alpha", "beta"),
            dependency("bc", "beta", "gamma"),
            dependency("ca", "gamma", "alpha"),
            dependency("side", "alpha", "gamma/other"),
        ],
    )
    [finding] = r.rule_cycle(snap, TODAY)
    assert finding.severity == "high"
    assert finding.identifying_subjects == ("dependency:ab", "dependency:bc", "dependency:ca")
    assert {"squad:alpha", "squad:beta", "squad:gamma"} <= set(finding.subjects)
    assert "Alpha Squad waits for Beta Squad, which waits for Gamma Squad" in finding.message


def test_each_loop_is_reported_once_and_parallel_dependencies_make_separate_loops():
    snap = snapshot(
        dependencies=[
            dependency("ab1", "alpha", "beta"),
            dependency("ab2", "alpha", "beta"),
            dependency("ba", "beta", "alpha"),
        ]
    )
    found = sorted(f.identifying_subjects for f in r.rule_cycle(snap, TODAY))
    assert found == [
        ("dependency:ab1", "dependency:ba"),
        ("dependency:ab2", "dependency:ba"),
    ]


def test_a_loop_of_non_blocking_dependencies_is_no_finding():
    snap = snapshot(
        dependencies=[
            dependency("ab", "alpha", "beta", blocking=False),
            dependency("ba", "beta", "alpha", blocking=False),
        ]
    )
    assert r.rule_cycle(snap, TODAY) == []
    one_soft = snapshot(
        dependencies=[
            dependency("ab", "alpha", "beta"),
            dependency("ba", "beta", "alpha", blocking=False),
        ]
    )
    assert r.rule_cycle(one_soft, TODAY) == []


def test_a_loop_follows_references_as_written():
    # alpha/work needs beta; beta/other needs alpha/work: "beta" and "beta/other" are
    # different parties, so this is no loop.
    snap = snapshot(
        dependencies=[
            dependency("x", "alpha/work", "beta"),
            dependency("y", "beta/other", "alpha/work"),
        ]
    )
    assert r.rule_cycle(snap, TODAY) == []
    closed = snapshot(
        dependencies=[
            dependency("x", "alpha/work", "beta"),
            dependency("y", "beta", "alpha/work"),
        ]
    )
    assert len(r.rule_cycle(closed, TODAY)) == 1


def test_a_delivered_or_declined_dependency_breaks_the_loop_and_self_needs_are_no_loop():
    for status in ("done", "declined"):
        snap = snapshot(
            dependencies=[
                dependency("ab", "alpha", "beta"),
                dependency("ba", "beta", "alpha", status=status),
            ]
        )
        assert r.rule_cycle(snap, TODAY) == []
    selfish = snapshot(dependencies=[dependency("aa", "alpha", "alpha")])
    assert r.rule_cycle(selfish, TODAY) == []


def test_a_long_acyclic_chain_has_no_loop_and_no_recursion_limit():
    chain = [dependency(f"d{i}", f"s{i}", f"s{i + 1}") for i in range(20_000)]
    assert r.rule_cycle(snapshot(dependencies=chain), TODAY) == []
    chain.append(dependency("back", "s20000", "s0"))
    [finding] = r.rule_cycle(snapshot(dependencies=chain), TODAY)
    assert len(finding.identifying_subjects) == 20_001


def _brute_force_cycles(graph: dict[str, list[str]]) -> set[tuple[str, ...]]:
    """Every elementary cycle, rotated to start at its smallest node."""
    found = set()
    nodes = sorted(graph)
    for size in range(2, len(nodes) + 1):
        for combo in itertools.permutations(nodes, size):
            if combo[0] != min(combo):
                continue
            hops = zip(combo, combo[1:] + combo[:1], strict=True)
            if all(b in graph[a] for a, b in hops):
                found.add(combo)
    return found


@pytest.mark.parametrize("seed", range(25))
def test_simple_cycles_finds_every_elementary_loop_once(seed):
    rng = random.Random(seed)
    nodes = [f"n{i}" for i in range(rng.randint(2, 6))]
    graph = {n: sorted({m for m in nodes if m != n and rng.random() < 0.45}) for n in nodes}
    found = simple_cycles(graph, limit=10_000)
    rotated = []
    for loop in found:
        i = loop.index(min(loop))
        rotated.append(tuple(loop[i:] + loop[:i]))
    assert len(rotated) == len(set(rotated))
    assert set(rotated) == _brute_force_cycles(graph)


def test_simple_cycles_stops_at_its_limit_in_a_dense_tangle():
    nodes = [f"n{i}" for i in range(12)]
    complete = {n: [m for m in nodes if m != n] for n in nodes}
    assert len(simple_cycles(complete, limit=50)) == 50


# --- over_capacity -----------------------------------------------------------------------


def test_over_capacity_fires_above_the_functions_capacity():
    snap = snapshot(
        initiatives=[
            initiative("alpha/a", headcount=2),
            initiative("alpha/b", headcount=2),
            initiative("beta/c", headcount=3),
            initiative("beta/d", headcount=9, status="dropped"),
        ],
        capacity={"Product": 6},
    )
    [finding] = r.rule_over_capacity(snap, TODAY)
    assert finding.kind == "resource_conflict"
    assert finding.subjects == ("function:Product", "squad:alpha", "squad:beta")
    assert finding.severity == "medium"
    assert finding.message.startswith("Product has 7 people planned on 3 initiatives in FY2027")
    assert "can staff 6" in finding.message and "worth 1 person" in finding.message


def test_over_capacity_is_high_when_far_over():
    snap = snapshot(initiatives=[initiative(headcount="8.5")], capacity={"Product": 6})
    [finding] = r.rule_over_capacity(snap, TODAY)
    assert finding.severity == "high"
    assert "8.5 people" in finding.message


def test_over_capacity_near_misses():
    at_capacity = snapshot(
        initiatives=[
            initiative("alpha/a", headcount="1.5"),
            initiative("alpha/b", headcount="3.5"),
        ],
        capacity={"Product": 5},
    )
    assert r.rule_over_capacity(at_capacity, TODAY) == []
    no_capacity_row = snapshot(initiatives=[initiative(function="Sales", headcount=50)])
    assert r.rule_over_capacity(no_capacity_row, TODAY) == []
    only_dropped = snapshot(
        initiatives=[initiative(headcount=10, status="dropped")], capacity={"Product": 1}
    )
    assert r.rule_over_capacity(only_dropped, TODAY) == []


# --- overcommitted_person ----------------------------------------------------------------


def test_a_person_in_four_squads_is_overcommitted():
    squads = [
        squad(k, dri=f"dri-{k}", members=["marco"]) for k in ("alpha", "beta", "gamma", "delta")
    ]
    [finding] = r.rule_overcommitted_person(snapshot(squads=squads), TODAY)
    assert finding.identifying_subjects == ("person:marco",)
    assert {"squad:alpha", "squad:delta"} <= set(finding.subjects)
    assert finding.message.startswith("Marco Rossi is a member of 4 squads in FY2027")


def test_a_person_in_exactly_three_squads_is_not_overcommitted():
    squads = [squad(k, dri=f"dri-{k}", members=["marco"]) for k in ("alpha", "beta", "gamma")]
    assert r.rule_overcommitted_person(snapshot(squads=squads), TODAY) == []


# --- unowned_stage -----------------------------------------------------------------------


def test_a_stage_no_squad_covers_is_an_ownership_gap():
    stages = [
        StageFacts("lifecycle/onboarding", "Onboarding", "lifecycle", "Customer lifecycle"),
        StageFacts("lifecycle/renewal", "Renewal", "lifecycle", "Customer lifecycle"),
    ]
    squads = [squad("alpha", stages=["lifecycle/onboarding"])]
    [finding] = r.rule_unowned_stage(snapshot(squads=squads, stages=stages), TODAY)
    assert (finding.kind, finding.subjects) == ("ownership_gap", ("stage:lifecycle/renewal",))
    assert "Renewal stage of Customer lifecycle" in finding.message


def test_a_stage_covered_by_any_squad_is_owned():
    stages = [StageFacts("lifecycle/onboarding", "Onboarding", "lifecycle", "Lifecycle")]
    squads = [squad("alpha"), squad("beta", stages=["lifecycle/onboarding"])]
    assert r.rule_unowned_stage(snapshot(squads=squads, stages=stages), TODAY) == []


# --- unmeasurable_key_result -------------------------------------------------------------


@pytest.mark.parametrize(
    ("baseline", "target", "missing"),
    [(None, Decimal(44), "no baseline"), (Decimal(40), None, "no target"), (None, None, "and no")],
)
def test_a_key_result_without_baseline_or_target_is_unmeasurable(baseline, target, missing):
    kr = KeyResultFacts("alpha", "activation", "Activation rate", baseline, target)
    [finding] = r.rule_unmeasurable_key_result(snapshot(key_results=[kr]), TODAY)
    assert finding.subjects == ("key_result:alpha/activation", "squad:alpha")
    assert missing in finding.message
    assert "Alpha Squad" in finding.message


def test_a_zero_baseline_is_a_baseline():
    kr = KeyResultFacts("alpha", "enrolled", "Enrolled", Decimal(0), Decimal(200))
    assert r.rule_unmeasurable_key_result(snapshot(key_results=[kr]), TODAY) == []


# --- similar_initiatives -----------------------------------------------------------------


def test_overlap_groups_become_findings_with_initiatives_and_squads(monkeypatch):
    seen = {}

    def fake_find_overlaps(initiatives, *, squad_names=None, threshold=None):
        seen["refs"] = [i.ref for i in initiatives]
        return [
            SimpleNamespace(
                refs=("alpha/onboarding", "beta/onboarding"),
                score=0.8612,
                message="Alpha and Beta both plan onboarding for the same customers.",
            )
        ]

    monkeypatch.setattr(r, "_overlap_finder", lambda: fake_find_overlaps)
    snap = snapshot(
        initiatives=[
            initiative("alpha/onboarding", headcount=4),
            initiative("beta/onboarding", headcount=3),
            initiative("beta/old", status="dropped"),
        ]
    )
    [finding] = r.rule_similar_initiatives(snap, TODAY)
    assert seen["refs"] == ["alpha/onboarding", "beta/onboarding"]  # dropped work is not compared
    assert finding.kind == "overlap"
    assert finding.subjects == (
        "initiative:alpha/onboarding",
        "initiative:beta/onboarding",
        "squad:alpha",
        "squad:beta",
    )
    assert finding.score == 0.86
    assert finding.severity == "high"
    assert finding.as_json()["score"] == 0.86


def test_a_small_or_loose_overlap_is_medium(monkeypatch):
    groups = [SimpleNamespace(refs=("alpha/a", "beta/b"), score=0.9, message="m")]
    monkeypatch.setattr(r, "_overlap_finder", lambda: lambda *a, **k: groups)
    snap = snapshot(initiatives=[initiative("alpha/a"), initiative("beta/b")])
    assert [f.severity for f in r.rule_similar_initiatives(snap, TODAY)] == ["medium"]


def test_no_overlap_finder_means_no_overlap_findings(monkeypatch):
    monkeypatch.setattr(r, "_overlap_finder", lambda: None)
    snap = snapshot(initiatives=[initiative("alpha/a"), initiative("beta/a")])
    assert r.rule_similar_initiatives(snap, TODAY) == []


# --- the review as a whole ---------------------------------------------------------------


def test_review_runs_every_rule_and_sorts_its_findings(monkeypatch):
    monkeypatch.setattr(r, "_overlap_finder", lambda: None)
    snap = snapshot(
        initiatives=[initiative("alpha/work", headcount=3)],
        dependencies=[dependency("late", due=D(2027, 2, 1), status="accepted")],
        stages=[StageFacts("j/s", "Stage", "j", "Journey")],
        key_results=[KeyResultFacts("alpha", "kr", "KR", None, Decimal(1))],
        capacity={"Product": 2},
    )
    found = review(snap, TODAY)
    assert [f.rule for f in found] == [
        "overdue",
        "needed_before_due",
        "over_capacity",
        "unowned_stage",
        "unmeasurable_key_result",
    ]
    assert review(snap, TODAY) == found  # deterministic
    for finding in found:
        data = finding.as_json()
        assert set(data) == {"kind", "rule", "severity", "subjects", "message"}
        assert data["subjects"] == sorted(data["subjects"])
        assert data["severity"] in {"high", "medium", "low"}
        assert data["message"].endswith(".")


def test_identity_depends_on_the_rule_and_identifying_subjects_only():
    one = FindingData("blocker", "overdue", "high", ("dependency:d", "squad:a"), "x")
    moved = FindingData("blocker", "overdue", "medium", ("squad:b", "dependency:d"), "y")
    other_rule = FindingData("blocker", "unaccepted", "high", ("dependency:d", "squad:a"), "x")
    assert one.identity == moved.identity
    assert one.identity != other_rule.identity
    assert moved.subjects == ("dependency:d", "squad:b")


# --- an acknowledged finding that got worse ----------------------------------------------


def _capacity_finding(planned: float, capacity: float = 10) -> FindingData:
    snap = snapshot(
        initiatives=[initiative("alpha/work", function="Product", headcount=planned)],
        capacity={"Product": capacity},
    )
    [finding] = r.rule_over_capacity(snap, TODAY)
    return finding


def _as_acknowledged(finding: FindingData) -> r.Acknowledged:
    return r.Acknowledged(
        severity=finding.severity,
        score=finding.score,
        measure=finding.measure,
        facts=finding.facts,
        initiatives=sum(1 for s in finding.subjects if s.startswith("initiative:")),
    )


def test_a_larger_overrun_is_worse_and_the_note_says_by_how_much():
    then, now = _capacity_finding(12), _capacity_finding(14.5)
    assert (then.severity, now.severity) == ("medium", "high")
    assert r.worsened(_as_acknowledged(then), now) == (
        "Re-opened: was medium severity when acknowledged, now high; "
        "was 2 people over capacity when acknowledged, now 4.5."
    )
    # Worse within the same severity: the overrun alone says so.
    assert r.worsened(_as_acknowledged(_capacity_finding(11)), _capacity_finding(12)) == (
        "Re-opened: was 1 person over capacity when acknowledged, now 2."
    )


@pytest.mark.parametrize(("then", "now"), [(12, 12), (14.5, 12), (12, 11)])
def test_the_same_or_a_smaller_overrun_is_not_worse(then, now):
    assert r.worsened(_as_acknowledged(_capacity_finding(then)), _capacity_finding(now)) == ""


def test_a_blocker_that_gains_a_fact_is_worse():
    def late_provider(today):
        snap = snapshot(
            initiatives=[initiative("alpha/work"), initiative("beta/tool", ends=D(2027, 4, 1))],
            dependencies=[dependency("d", "alpha/work", "beta/tool", due=D(2027, 2, 15))],
        )
        [finding] = r.rule_late_provider(snap, today)
        return finding

    before_due, after_due = late_provider(TODAY), late_provider(D(2027, 2, 20))
    assert "past_due" not in before_due.facts and "past_due" in after_due.facts
    note = r.worsened(_as_acknowledged(before_due), after_due)
    assert note == "Re-opened: now past its due date, which it was not when acknowledged."
    # Acknowledged once it was past due already: the same fact again is not news.
    assert r.worsened(_as_acknowledged(after_due), late_provider(D(2027, 2, 25))) == ""


def test_an_accepted_dependency_past_due_that_turns_at_risk_is_worse():
    def overdue(status):
        snap = snapshot(dependencies=[dependency(due=D(2027, 2, 1), status=status)])
        return r.rule_overdue(snap, TODAY)[0]

    note = r.worsened(_as_acknowledged(overdue("accepted")), overdue("at_risk"))
    assert note == "Re-opened: now at risk, which it was not when acknowledged."
    # Days late grow by themselves: an overdue finding a day later is not worse.
    later = r.rule_overdue(
        snapshot(dependencies=[dependency(due=D(2027, 2, 1), status="accepted")]), D(2027, 3, 1)
    )[0]
    assert r.worsened(_as_acknowledged(overdue("accepted")), later) == ""


def _overlap(refs: tuple[str, ...], score: float) -> FindingData:
    return FindingData(
        kind="overlap",
        rule="similar_initiatives",
        severity="medium",
        subjects=tuple(f"initiative:{ref}" for ref in refs),
        message="Alike",
        score=score,
    )


def test_an_overlap_is_worse_with_more_initiatives_or_a_clearly_higher_score():
    two = _overlap(("alpha/a", "beta/b"), 0.6)
    three = _overlap(("alpha/a", "beta/b", "gamma/c"), 0.6)
    assert r.worsened(_as_acknowledged(two), three) == (
        "Re-opened: was 2 alike initiatives when acknowledged, now 3."
    )
    assert r.worsened(_as_acknowledged(two), _overlap(("alpha/a", "beta/b"), 0.7)) == (
        "Re-opened: the initiatives were 0.6 alike when acknowledged, now 0.7."
    )
    # A hundredth more alike is a reworded description, not a worse overlap.
    assert r.worsened(_as_acknowledged(two), _overlap(("alpha/a", "beta/b"), 0.61)) == ""


def test_what_was_not_kept_when_acknowledged_is_never_taken_for_worse():
    unknown = r.Acknowledged(severity="")
    assert r.worsened(unknown, _capacity_finding(20)) == ""
    assert r.worsened(r.Acknowledged(severity="medium"), _capacity_finding(20)) == (
        "Re-opened: was medium severity when acknowledged, now high."
    )


def test_measure_and_facts_stay_out_of_the_contracts_json():
    finding = _capacity_finding(14.5)
    assert finding.measure == 4.5
    assert set(finding.as_json()) == {"kind", "rule", "severity", "subjects", "message"}
