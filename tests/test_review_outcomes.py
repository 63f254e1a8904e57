"""The review rules of customer outcomes on plain objects, and late dependencies naming where
the customer feels them: the cases that fire and the near-misses that must not."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from decimal import Decimal

import pytest

from journeys.models import EMOTION_CHOICES, VALUE_CHOICES
from planning import review as r
from planning import review_outcomes as o
from planning.review import review
from planning.snapshot import (
    GoalFacts,
    MilestoneFacts,
    MomentFacts,
    ObjectiveFacts,
    ReadingFacts,
    SegmentFacts,
    StageFacts,
    TouchpointFacts,
)
from tests.test_review_rules import dependency, initiative, snapshot, squad

TODAY = dt.date(2027, 2, 10)
D = dt.date

MIDMARKET = SegmentFacts("midmarket", "Mid-market SaaS teams", Decimal("80.00"), "%")
ENTERPRISE = SegmentFacts("enterprise", "Enterprise", Decimal("90.00"), "%")


def stage(ref="life/onboarding", name="Onboarding", **values) -> StageFacts:
    journey = ref.split("/")[0]
    defaults = {"emotion_today": 0, "emotion_target": 1}
    defaults.update(values)
    return StageFacts(ref, name, journey, "Lifecycle", **defaults)


def moment(ref="life/onboarding/week-2", when="Week 2", touchpoints=()) -> MomentFacts:
    journey, stage_key, key = ref.split("/")
    return MomentFacts(journey, stage_key, key, when, tuple(touchpoints))


def touch(speaker: str, segment: str | None = None, channel: str = "email") -> TouchpointFacts:
    """`speaker` as "squad:KEY" or a function's name."""
    if speaker.startswith("squad:"):
        name = speaker.split(":", 1)[1].title() + " Squad"
        return TouchpointFacts(channel, speaker, name, segment)
    # As the snapshot reads a function: spaces tidied, case ignored.
    function = " ".join(speaker.split())
    return TouchpointFacts(channel, f"function:{function.casefold()}", function, segment)


def milestone(
    key="team-live",
    name="Team live",
    segment="midmarket",
    expected_day=60,
    moment=None,
    success=True,
    reading=None,
) -> MilestoneFacts:
    return MilestoneFacts(segment, key, name, expected_day, moment, success, reading)


def reading(rate=None, days=None) -> ReadingFacts:
    return ReadingFacts(
        D(2027, 2, 1),
        Decimal(str(days)) if days is not None else None,
        Decimal(str(rate)) if rate is not None else None,
    )


def outcomes(
    *,
    goals=(),
    objectives=(),
    milestones=(),
    moments=(),
    segments=(MIDMARKET, ENTERPRISE),
    journey_segments=None,
    **values,
):
    snap = snapshot(**values)
    snap.goals = list(goals)
    snap.objectives = list(objectives)
    snap.milestones = list(milestones)
    snap.moments = list(moments)
    snap.segments = {s.key: s for s in segments}
    snap.journey_segments = (
        journey_segments if journey_segments is not None else {"life": ("midmarket",)}
    )
    return snap


def subjects_of(findings) -> list[tuple[str, ...]]:
    return [f.subjects for f in findings]


def test_the_words_of_emotions_and_values_follow_the_models_scales():
    assert {k: v.lower() for k, v in EMOTION_CHOICES} == o.EMOTION_WORDS
    assert set(dict(VALUE_CHOICES)) == set(o.VALUE_WORDS)


# --- goal_without_objective --------------------------------------------------------------


def test_a_goal_no_objective_of_the_cycle_serves_is_an_ownership_gap():
    snap = outcomes(goals=[GoalFacts("first-month", "Customers reach value in their first month")])
    snap.cycle_name = "FY27 Q1"

    [finding] = o.rule_goal_without_objective(snap, TODAY)

    assert (finding.kind, finding.severity) == ("ownership_gap", "medium")
    assert finding.subjects == ("goal:first-month",)
    assert finding.message == (
        "No squad's objective in FY27 Q1 serves the goal \u201cCustomers reach value in "
        "their first month\u201d."
    )


def test_a_goal_one_squad_serves_and_a_company_without_goals_are_no_gap():
    served = GoalFacts("first-month", "First month", served_by=("alpha",))
    assert o.rule_goal_without_objective(outcomes(goals=[served]), TODAY) == []
    assert o.rule_goal_without_objective(outcomes(), TODAY) == []


# --- objective_without_goal --------------------------------------------------------------


def test_an_objective_serving_no_goal_is_a_gap_once_the_company_has_goals():
    snap = outcomes(
        goals=[GoalFacts("first-month", "First month", served_by=("beta",))],
        objectives=[
            ObjectiveFacts("alpha", "Make onboarding   delightful"),
            ObjectiveFacts("beta", "Grow", goals=("first-month",)),
        ],
    )

    [finding] = o.rule_objective_without_goal(snap, TODAY)

    assert (finding.rule, finding.severity, finding.subjects) == (
        "objective_without_goal",
        "low",
        ("squad:alpha",),
    )
    assert finding.message == (
        "Alpha Squad's objective \u201cMake onboarding delightful\u201d serves none of the "
        "company's goals; link it to the goal it moves forward."
    )


def test_objectives_without_goals_review_as_before_when_the_company_has_no_goal():
    snap = outcomes(objectives=[ObjectiveFacts("alpha", "Make onboarding delightful")])
    assert o.rule_objective_without_goal(snap, TODAY) == []


def test_a_blank_objective_or_one_linked_to_any_goal_is_no_gap():
    snap = outcomes(
        goals=[GoalFacts("g", "Goal")],
        objectives=[
            ObjectiveFacts("alpha", "  "),
            ObjectiveFacts("beta", "Grow", goals=("an-older-goal",)),
        ],
    )
    assert o.rule_objective_without_goal(snap, TODAY) == []


def test_a_long_objective_is_quoted_shortened():
    snap = outcomes(goals=[GoalFacts("g", "Goal")], objectives=[ObjectiveFacts("alpha", "x" * 300)])
    [finding] = o.rule_objective_without_goal(snap, TODAY)
    assert "x" * 99 + "\u2026\u201d" in finding.message
    assert "x" * 100 not in finding.message


# --- moment_without_touchpoint -----------------------------------------------------------


def test_a_silent_moment_in_a_journey_with_touchpoints_is_a_gap():
    snap = outcomes(
        squads=[squad("alpha", stages=["life/onboarding"]), squad("beta")],
        stages=[stage()],
        moments=[
            moment("life/onboarding/day-1", "Day 1", [touch("Customer Success")]),
            moment("life/onboarding/week-2", "Week 2"),
        ],
    )

    [finding] = o.rule_moment_without_touchpoint(snap, TODAY)

    assert (finding.kind, finding.severity) == ("ownership_gap", "low")
    assert finding.subjects == (
        "moment:life/onboarding/week-2",
        "squad:alpha",
        "stage:life/onboarding",
    )
    assert finding.identifying_subjects == (
        "moment:life/onboarding/week-2",
        "stage:life/onboarding",
    )
    assert finding.message == (
        "Nobody speaks to customers at \u201cWeek 2\u201d in the Onboarding stage of "
        "Lifecycle; record who reaches them there and through which channel."
    )


def test_moments_of_a_journey_without_any_touchpoint_are_no_gap():
    snap = outcomes(
        stages=[stage(), stage("other/start", "Start")],
        moments=[
            moment("life/onboarding/week-2", "Week 2"),
            moment("other/start/day-1", "Day 1", [touch("Sales")]),
        ],
    )
    # Another journey's touchpoints do not count; the moment that has one is no gap.
    assert o.rule_moment_without_touchpoint(snap, TODAY) == []
    assert o.rule_moment_without_touchpoint(outcomes(moments=[moment()]), TODAY) == []


def test_a_moment_whose_only_speaker_was_removed_is_silent():
    """A touchpoint naming only a squad removed since names nobody who still speaks (the
    snapshot leaves its speaker blank): the moment is a gap, as if it had none."""
    snap = outcomes(
        stages=[stage()],
        moments=[
            moment("life/onboarding/day-1", "Day 1", [touch("Customer Success")]),
            moment("life/onboarding/week-2", "Week 2", [TouchpointFacts("email", "", "", None)]),
        ],
    )
    [finding] = o.rule_moment_without_touchpoint(snap, TODAY)
    assert finding.subjects[0] == "moment:life/onboarding/week-2"


# --- competing_touchpoints ---------------------------------------------------------------


def test_two_functions_messaging_one_segment_at_one_moment_compete():
    snap = outcomes(
        stages=[stage()],
        moments=[
            moment(
                touchpoints=[
                    touch("Customer Success", "midmarket"),
                    touch("Marketing", "midmarket", channel="in_app"),
                ]
            )
        ],
    )

    [finding] = o.rule_competing_touchpoints(snap, TODAY)

    assert (finding.kind, finding.rule, finding.severity) == (
        "resource_conflict",
        "competing_touchpoints",
        "medium",
    )
    assert finding.subjects == ("moment:life/onboarding/week-2", "segment:midmarket")
    assert finding.message == (
        "Customer Success and Marketing both message Mid-market SaaS teams at \u201cWeek 2\u201d "
        "in the Onboarding stage of Lifecycle; agree who speaks to them there and say it once."
    )


def test_a_touchpoint_for_all_segments_competes_in_each_of_the_journeys_segments():
    snap = outcomes(
        stages=[stage()],
        journey_segments={"life": ("midmarket", "enterprise")},
        moments=[
            moment(
                touchpoints=[
                    touch("squad:alpha"),
                    touch("Marketing", "enterprise"),
                    touch("Sales", "enterprise"),
                ]
            )
        ],
    )

    found = o.rule_competing_touchpoints(snap, TODAY)

    assert subjects_of(found) == [
        ("moment:life/onboarding/week-2", "segment:enterprise", "squad:alpha"),
    ]
    assert found[0].message.startswith("Alpha Squad, Marketing and Sales all message Enterprise")
    assert found[0].measure == 3


@pytest.mark.parametrize(
    "touchpoints",
    [
        # One speaker through two channels.
        [touch("Marketing", "midmarket"), touch("marketing ", "midmarket", channel="call")],
        [touch("squad:alpha", "midmarket"), touch("squad:alpha", None, channel="call")],
        # Two speakers, each to a different segment.
        [touch("Marketing", "midmarket"), touch("Sales", "enterprise")],
        # A touchpoint whose speaker is no longer there.
        [touch("Marketing", "midmarket"), TouchpointFacts("email", "", "", "midmarket")],
    ],
)
def test_competing_touchpoints_near_misses(touchpoints):
    snap = outcomes(stages=[stage()], moments=[moment(touchpoints=touchpoints)])
    assert o.rule_competing_touchpoints(snap, TODAY) == []


def test_two_speakers_at_different_moments_do_not_compete():
    snap = outcomes(
        stages=[stage()],
        moments=[
            moment("life/onboarding/day-1", "Day 1", [touch("Marketing", "midmarket")]),
            moment("life/onboarding/week-2", "Week 2", [touch("Sales", "midmarket")]),
        ],
    )
    assert o.rule_competing_touchpoints(snap, TODAY) == []


def test_identity_of_competing_touchpoints_is_the_moment_and_the_segment():
    def found(*speakers):
        snap = outcomes(
            stages=[stage()],
            moments=[moment(touchpoints=[touch(s, "midmarket") for s in speakers])],
        )
        return o.rule_competing_touchpoints(snap, TODAY)[0]

    two, three = found("squad:alpha", "Sales"), found("squad:alpha", "squad:beta", "Sales")
    assert two.identity == three.identity
    note = r.worsened(_acknowledged(two), three)
    assert note == "Re-opened: 2 speakers when acknowledged, now 3."


# --- unaddressed_gap ---------------------------------------------------------------------

COVERED = [squad("alpha", stages=["life/renewal"]), squad("beta", dri="omar")]


def test_a_covered_stage_two_steps_short_of_its_emotion_target_with_no_work_is_a_gap():
    snap = outcomes(
        squads=COVERED,
        stages=[stage("life/renewal", "Renewal", emotion_today=-1, emotion_target=1)],
        initiatives=[initiative("alpha/other", stage="life/onboarding")],
    )

    [finding] = o.rule_unaddressed_gap(snap, TODAY)

    assert (finding.kind, finding.severity) == ("ownership_gap", "medium")
    assert finding.subjects == ("squad:alpha", "stage:life/renewal")
    assert finding.identifying_subjects == ("stage:life/renewal",)
    assert finding.message == (
        "Nothing in FY2027 is aimed at the Renewal stage of Lifecycle, where customers feel "
        "unhappy today against happy as the target; plan an initiative that closes the gap."
    )


def test_a_value_gap_of_two_steps_is_a_gap_too_and_both_are_named():
    snap = outcomes(
        squads=COVERED,
        stages=[
            stage(
                "life/renewal",
                "Renewal",
                emotion_today=-2,
                emotion_target=2,
                value_today=1,
                value_target=3,
            )
        ],
    )
    [finding] = o.rule_unaddressed_gap(snap, TODAY)
    assert finding.message.endswith(
        "where customers feel very unhappy today against delighted as the target and get only "
        "promised value today against repeat value as the target; plan an initiative that "
        "closes the gap."
    )
    assert (finding.measure, finding.facts) == (4, ("emotion_gap", "value_gap"))


@pytest.mark.parametrize(
    ("values", "initiatives"),
    [
        # One step short on both scales.
        ({"emotion_today": 0, "emotion_target": 1, "value_today": 2, "value_target": 3}, []),
        # A value target without a value today is not a gap.
        ({"value_target": 4}, []),
        # Work aimed at the stage, whatever its squad.
        (
            {"emotion_today": -2, "emotion_target": 2},
            [initiative("beta/win-back", stage="life/renewal")],
        ),
        # Work serving a milestone felt at a moment of the stage.
        (
            {"emotion_today": -2, "emotion_target": 2},
            [initiative("beta/renew", milestones=("midmarket/renewed",))],
        ),
    ],
)
def test_unaddressed_gap_near_misses(values, initiatives):
    snap = outcomes(
        squads=COVERED,
        stages=[stage("life/renewal", "Renewal", **values)],
        initiatives=initiatives,
        milestones=[milestone("renewed", "Renewed", moment="life/renewal/day-300", success=False)],
    )
    assert o.rule_unaddressed_gap(snap, TODAY) == []


def test_dropped_work_does_not_close_a_gap():
    snap = outcomes(
        squads=COVERED,
        stages=[stage("life/renewal", "Renewal", emotion_today=-1, emotion_target=1)],
        initiatives=[initiative("beta/win-back", stage="life/renewal", status="dropped")],
    )
    assert [f.rule for f in o.rule_unaddressed_gap(snap, TODAY)] == ["unaddressed_gap"]


def test_a_stage_no_squad_covers_is_the_unowned_stage_finding_only(monkeypatch):
    monkeypatch.setattr(r, "_overlap_finder", lambda: None)
    snap = outcomes(
        stages=[stage("life/renewal", "Renewal", emotion_today=-1, emotion_target=1)],
    )
    assert [(f.rule, f.subjects) for f in review(snap, TODAY)] == [
        ("unowned_stage", ("stage:life/renewal",))
    ]
    # Once a squad covers it, with nothing aimed at the gap, the gap is the finding.
    snap.squads = COVERED
    assert [f.rule for f in review(snap, TODAY)] == ["unaddressed_gap"]


def test_a_wider_gap_reopens_an_acknowledged_finding():
    def gap(today_emotion):
        snap = outcomes(
            squads=COVERED,
            stages=[stage("life/renewal", "Renewal", emotion_today=today_emotion)],
        )
        return o.rule_unaddressed_gap(snap, TODAY)[0]

    assert r.worsened(_acknowledged(gap(-1)), gap(-2)) == (
        "Re-opened: the gap was 2 steps when acknowledged, now 3."
    )
    assert r.worsened(_acknowledged(gap(-2)), gap(-1)) == ""


# --- expansion_before_success ------------------------------------------------------------

EXPANSION = stage("life/expansion", "Expansion", expansion=True)
SEATS = initiative(
    "growth/seats", title="Seat expansion offer", stage="life/expansion", segment="midmarket"
)


def expansion(*, reading_=None, initiatives=(SEATS,), milestones=None, **values):
    snap = outcomes(
        squads=[squad("growth"), squad("alpha")],
        stages=[EXPANSION, stage()],
        initiatives=list(initiatives),
        milestones=milestones if milestones is not None else [milestone(reading=reading_)],
        **values,
    )
    snap.squad_names["growth"] = "Growth"
    return snap


def test_expansion_work_before_customers_reach_success_is_a_blocker():
    [finding] = o.rule_expansion_before_success(expansion(reading_=reading(rate=42)), TODAY)

    assert (finding.kind, finding.severity) == ("blocker", "high")
    assert finding.subjects == ("initiative:growth/seats", "segment:midmarket", "squad:growth")
    assert finding.identifying_subjects == ("initiative:growth/seats", "segment:midmarket")
    assert finding.message == (
        "Expansion work \u201cSeat expansion offer\u201d (Growth) is aimed at Mid-market SaaS "
        "teams before they reach success: 42% reached \u201cTeam live\u201d by day 60 against "
        "80%."
    )
    assert finding.measure == 38


def test_no_reading_or_a_late_one_is_not_success_yet():
    [unread] = o.rule_expansion_before_success(expansion(), TODAY)
    assert unread.message.endswith(
        "before they reach success: no reading yet shows how many reach \u201cTeam live\u201d "
        "by day 60."
    )
    [late] = o.rule_expansion_before_success(
        expansion(reading_=reading(rate=85, days="75.5")), TODAY
    )
    assert late.message.endswith(
        "before they reach success: customers took 75.5 days to reach \u201cTeam live\u201d, "
        "expected by day 60."
    )


def test_expansion_work_for_every_segment_is_judged_for_each_of_the_journeys_segments():
    snap = expansion(
        initiatives=[replace(SEATS, segment=None)],
        journey_segments={"life": ("midmarket", "enterprise")},
        milestones=[
            milestone(reading=reading(rate=80)),
            milestone("live", "Live", "enterprise", reading=reading(rate=50)),
        ],
    )
    assert subjects_of(o.rule_expansion_before_success(snap, TODAY)) == [
        ("initiative:growth/seats", "segment:enterprise", "squad:growth")
    ]


@pytest.mark.parametrize(
    ("initiatives", "milestones"),
    [
        # Customers reached it: the threshold exactly, within the expected day.
        ([SEATS], [milestone(reading=reading(rate=80, days=60))]),
        # Not an expansion stage.
        ([replace(SEATS, stage="life/onboarding")], [milestone()]),
        # Dropped work.
        ([replace(SEATS, status="dropped")], [milestone()]),
        # The segment has milestones, none of them its success milestone.
        ([SEATS], [milestone(success=False)]),
        # Another segment's success milestone.
        ([SEATS], [milestone(segment="enterprise")]),
    ],
)
def test_expansion_before_success_near_misses(initiatives, milestones):
    snap = expansion(initiatives=initiatives, milestones=milestones)
    assert o.rule_expansion_before_success(snap, TODAY) == []


def test_a_completion_rate_is_compared_only_with_a_threshold_in_percent():
    snap = expansion(
        reading_=reading(rate=10),
        segments=[replace(MIDMARKET, success_unit="seats"), ENTERPRISE],
    )
    assert o.rule_expansion_before_success(snap, TODAY) == []


def test_a_threshold_without_a_unit_is_compared_as_the_milestone_map_does():
    """The map marks the success milestone behind when the rate is below a threshold whose
    unit is "%" or blank; the review says the same of the same reading."""
    snap = expansion(
        reading_=reading(rate=10),
        segments=[replace(MIDMARKET, success_unit=""), ENTERPRISE],
    )
    [finding] = o.rule_expansion_before_success(snap, TODAY)
    assert finding.message.endswith(
        "before they reach success: 10% reached \u201cTeam live\u201d by day 60 against 80%."
    )


def test_fewer_customers_reaching_success_reopens_an_acknowledged_finding():
    def found(rate):
        return o.rule_expansion_before_success(expansion(reading_=reading(rate=rate)), TODAY)[0]

    assert r.worsened(_acknowledged(found(60)), found(42)) == (
        "Re-opened: was 20 points short of success when acknowledged, now 38."
    )
    assert r.worsened(_acknowledged(found(42)), found(60)) == ""


# --- late dependencies name where the customer feels them --------------------------------

WIZARD = initiative(
    "alpha/wizard",
    title="Setup wizard",
    stage="life/onboarding",
    segment="midmarket",
    starts=D(2027, 1, 4),
)


def late(*, needer=WIZARD, milestones=(), moments=(), **dep_values):
    values = {"due": D(2027, 2, 1), "status": "accepted"}
    values.update(dep_values)
    return outcomes(
        stages=[stage()],
        initiatives=[needer, initiative("beta/tool", ends=D(2027, 4, 1))],
        dependencies=[dependency("d", "alpha/wizard", "beta/tool", **values)],
        milestones=list(milestones),
        moments=list(moments),
    )


FIRST_MILESTONE = milestone(
    "first", "first milestone", expected_day=14, moment="life/onboarding/week-2", success=False
)


@pytest.mark.parametrize(
    ("rule", "values"),
    [
        (r.rule_overdue, {}),
        (r.rule_overdue, {"status": "requested"}),
        (r.rule_declined, {"status": "declined"}),
        (r.rule_late_provider, {"due": D(2027, 3, 1)}),
        (r.rule_needed_before_due, {"due": D(2027, 3, 1)}),
    ],
)
def test_a_late_dependency_names_the_moment_its_work_serves(rule, values):
    snap = late(
        needer=replace(WIZARD, milestones=("midmarket/first",)),
        milestones=[FIRST_MILESTONE],
        moments=[moment()],
        **values,
    )

    [finding] = rule(snap, TODAY)

    assert finding.message.endswith(
        "; left as it is, this puts Week 2: first milestone at risk for Mid-market SaaS teams."
    )


def test_without_a_milestone_it_names_the_stage_its_work_is_aimed_at():
    snap = late(milestones=[milestone("elsewhere", "Elsewhere", "enterprise")])
    [finding] = r.rule_overdue(snap, TODAY)
    assert finding.message.endswith(
        "; left as it is, this puts Onboarding at risk for Mid-market SaaS teams."
    )
    [for_everyone] = r.rule_overdue(
        late(needer=replace(WIZARD, segment=None), milestones=[FIRST_MILESTONE]), TODAY
    )
    assert for_everyone.message.endswith("; left as it is, this puts Onboarding at risk.")


def test_several_milestones_are_named_in_order_and_their_segments_once():
    served = [
        milestone("c", "Third", "enterprise", expected_day=30, success=False),
        FIRST_MILESTONE,
        milestone("b", "Second", expected_day=20, success=False),
        milestone("d", "Fourth", expected_day=40, success=False),
    ]
    snap = late(
        needer=replace(WIZARD, milestones=tuple(m.ref for m in served)),
        milestones=served,
        moments=[moment()],
    )
    [finding] = r.rule_overdue(snap, TODAY)
    assert finding.message.endswith(
        "this puts Week 2: first milestone, Second, Third and 1 more at risk for Enterprise "
        "and Mid-market SaaS teams."
    )


def test_late_dependencies_read_as_before_without_milestones_or_a_needing_initiative():
    before = r.rule_overdue(late(), TODAY)[0].message
    assert "at risk for" not in before and before.endswith(
        "agree a new date or a way around it with Omar Haddad."
    )
    # A squad needs it: no initiative, no moment or stage to name.
    snap = outcomes(
        stages=[stage()],
        dependencies=[dependency("d", "alpha", "beta", due=D(2027, 2, 1), status="accepted")],
        milestones=[FIRST_MILESTONE],
    )
    assert "left as it is" not in r.rule_overdue(snap, TODAY)[0].message
    # Work aimed at no stage and serving no milestone.
    snap = late(needer=replace(WIZARD, stage=None), milestones=[FIRST_MILESTONE])
    assert "left as it is" not in r.rule_overdue(snap, TODAY)[0].message


def test_an_unaccepted_dependency_not_yet_due_keeps_its_message():
    snap = late(
        needer=replace(WIZARD, milestones=("midmarket/first",)),
        milestones=[FIRST_MILESTONE],
        status="requested",
        due=D(2027, 2, 20),
    )
    [finding] = r.rule_unaccepted(snap, TODAY)
    assert "at risk" not in finding.message


# --- a dismissed finding and its subjects ------------------------------------------------


def test_the_digest_of_earlier_rules_ignores_the_facts_only_outcome_rules_judge():
    plain = snapshot(stages=[StageFacts("life/renewal", "Renewal", "life", "Lifecycle")])
    rich = outcomes(stages=[stage("life/renewal", "Renewal", value_today=1, expansion=True)])
    [unowned] = r.rule_unowned_stage(plain, TODAY)
    assert r.SubjectStates(plain).digest(unowned) == r.SubjectStates(rich).digest(unowned)


def test_the_digest_of_an_outcome_finding_follows_its_subjects():
    def gap_digest(**values):
        snap = outcomes(squads=COVERED, stages=[stage("life/renewal", "Renewal", **values)])
        [finding] = o.rule_unaddressed_gap(snap, TODAY)
        return r.SubjectStates(snap).digest(finding)

    same = gap_digest(emotion_today=-1)
    assert gap_digest(emotion_today=-1) == same
    assert gap_digest(emotion_today=-2) != same

    def expansion_digest(rate):
        snap = expansion(reading_=reading(rate=rate))
        [finding] = o.rule_expansion_before_success(snap, TODAY)
        return r.SubjectStates(snap).digest(finding)

    assert expansion_digest(42) != expansion_digest(43)


def _acknowledged(finding) -> r.Acknowledged:
    return r.Acknowledged(
        severity=finding.severity,
        score=finding.score,
        measure=finding.measure,
        facts=finding.facts,
    )
