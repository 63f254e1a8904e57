"""The review rules of customer outcomes, and where the customer feels a late dependency.

Goals no objective serves and objectives that serve no goal, moments nobody speaks at and
moments several teams speak at, stages short of their emotion or value target with no
work aimed at them, and expansion work aimed at customers who have not reached success
yet (docs/review.md, "Review rules of customer outcomes"). Each rule is pure, like those
of planning/review.py, which runs them all.

The dependency blockers end with where the customer feels them (felt_by_customers); the
daily digest and the dependency news say the same through planning/customer_impact.py,
which reads the same facts from the database and words them with customer_at_risk.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING

from journeys.outcomes import rate_threshold
from planning.review_base import (
    BLOCKER,
    HIGH,
    LOW,
    MEDIUM,
    OWNERSHIP_GAP,
    RESOURCE_CONFLICT,
    FindingData,
    Names,
    join_names,
    number,
)

if TYPE_CHECKING:
    from planning.snapshot import DependencyFacts, Snapshot


# --- where the customer feels a late dependency ------------------------------------------

# Places a late dependency puts at risk named in one sentence; the rest are counted.
MAX_PLACES = 3


def customer_at_risk(places: Sequence[str], segments: Sequence[str]) -> str:
    """ "puts Week 2: Team live at risk for Mid-market SaaS teams", or "" with no place.

    `places` name moments ("Week 2: Team live"), milestones or a stage, in the order
    given; `segments` are segments' names, said once each in alphabetical order."""
    places = list(dict.fromkeys(p for p in places if p))
    if not places:
        return ""
    named = places[:MAX_PLACES]
    if len(places) > MAX_PLACES:
        named.append(f"{len(places) - MAX_PLACES} more")
    who = sorted({s for s in segments if s}, key=str.casefold)
    return f"puts {join_names(named)} at risk" + (f" for {join_names(who)}" if who else "")


def place_of_milestone(name: str, when: str | None) -> str:
    """How a served milestone is named where it is felt: its moment's "when" and its name."""
    return f"{when}: {name}" if when else name


def milestone_order(expected_day: int, name: str) -> tuple:
    """The order served milestones are named in, the same in the review and the emails."""
    return (expected_day, name.casefold(), name)


def with_consequence(message: str, consequence: str) -> str:
    """A blocker's sentence ending with where the customer feels it."""
    if not consequence:
        return message
    return f"{message.rstrip('.')}; left as it is, this {consequence}."


def felt_by_customers(snapshot: Snapshot, dep: DependencyFacts) -> str:
    """Where the customer feels a dependency that holds up its needing initiative: the
    moments of the milestones it serves and their segments, else the stage it is aimed at
    (and its segment). Nothing while the company maps no milestone at all, so that plans
    written before time-to-value maps read as they did."""
    if dep.from_initiative is None or not snapshot.milestones:
        return ""
    needer = snapshot.initiative(dep.from_initiative)
    if needer is None:
        return ""
    segments = snapshot.segments
    served = [m for m in (snapshot.milestone(ref) for ref in needer.milestones) if m]
    if served:
        served.sort(key=lambda m: milestone_order(m.expected_day, m.name))
        places = []
        for milestone in served:
            moment = snapshot.moment(milestone.moment) if milestone.moment else None
            places.append(place_of_milestone(milestone.name, moment.when if moment else None))
        who = [segments[m.segment].name for m in served if m.segment in segments]
        return customer_at_risk(places, who)
    stage = snapshot.stage(needer.stage) if needer.stage else None
    if stage is None:
        return ""
    who = [segments[needer.segment].name] if needer.segment in segments else []
    return customer_at_risk([stage.name], who)


# --- customer outcomes -------------------------------------------------------------------

# The words of journeys.models' EMOTION_CHOICES and VALUE_CHOICES inside a sentence (this
# module imports no model; tests/test_review_outcomes.py keeps the two in step).
EMOTION_WORDS = {-2: "very unhappy", -1: "unhappy", 0: "neutral", 1: "happy", 2: "delighted"}
VALUE_WORDS = {
    0: "no value",
    1: "only promised value",
    2: "first value",
    3: "repeat value",
    4: "expanding value",
}
# A stage this many steps short of its target on the emotion curve or the value scale is a
# gap someone's work must be aimed at.
GAP_STEPS = 2
# An objective is quoted up to this many characters in a finding.
OBJECTIVE_QUOTED = 100


def _quote(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "\u2026"


def _covering(snapshot: Snapshot) -> dict[str, list[str]]:
    """The squads of the cycle covering each stage."""
    covering: dict[str, list[str]] = defaultdict(list)
    for squad in snapshot.squads:
        for ref in squad.stages:
            covering[ref].append(squad.key)
    return covering


def _where(snapshot: Snapshot, stage_ref: str) -> str:
    """ "the Onboarding stage of Lifecycle"."""
    stage = snapshot.stage(stage_ref)
    if stage is None:
        return f"the stage {stage_ref}"
    return f"the {stage.name} stage of {stage.journey_name or stage.journey}"


def rule_goal_without_objective(snapshot: Snapshot, today: dt.date) -> list[FindingData]:
    """A live company goal, in effect during the cycle, that no squad's objective serves."""
    return [
        FindingData(
            kind=OWNERSHIP_GAP,
            rule="goal_without_objective",
            severity=MEDIUM,
            subjects=(f"goal:{goal.key}",),
            message=(
                f"No squad's objective in {snapshot.cycle_name} serves the goal "
                f"\u201c{goal.name}\u201d."
            ),
        )
        for goal in snapshot.goals
        if not goal.served_by
    ]


def rule_objective_without_goal(snapshot: Snapshot, today: dt.date) -> list[FindingData]:
    """A squad's objective that serves no company goal, once the company has goals in
    effect during the cycle (without any, objectives have nothing to serve)."""
    if not snapshot.goals:
        return []
    names = Names(snapshot)
    return [
        FindingData(
            kind=OWNERSHIP_GAP,
            rule="objective_without_goal",
            severity=LOW,
            subjects=(f"squad:{objective.squad}",),
            message=(
                f"{names.squad(objective.squad)}'s objective "
                f"\u201c{_quote(objective.objective, OBJECTIVE_QUOTED)}\u201d serves none of "
                "the company's goals; link it to the goal it moves forward."
            ),
        )
        for objective in snapshot.objectives
        if objective.objective.strip() and not objective.goals
    ]


def rule_moment_without_touchpoint(snapshot: Snapshot, today: dt.date) -> list[FindingData]:
    """A moment nobody speaks to the customer at, in a journey where touchpoints are
    recorded (a journey without any has simply not been mapped that far). A touchpoint that
    names only a squad removed since has no speaker: nobody speaks there any more."""
    mapped = {m.journey for m in snapshot.moments if m.touchpoints}
    covering = _covering(snapshot)
    return [
        FindingData(
            kind=OWNERSHIP_GAP,
            rule="moment_without_touchpoint",
            severity=LOW,
            subjects=(
                f"moment:{moment.ref}",
                f"stage:{moment.stage_ref}",
                *(f"squad:{key}" for key in covering.get(moment.stage_ref, ())),
            ),
            message=(
                f"Nobody speaks to customers at \u201c{moment.when}\u201d in "
                f"{_where(snapshot, moment.stage_ref)}; record who reaches them there and "
                "through which channel."
            ),
        )
        for moment in snapshot.moments
        if moment.journey in mapped and not any(t.speaker for t in moment.touchpoints)
    ]


def rule_competing_touchpoints(snapshot: Snapshot, today: dt.date) -> list[FindingData]:
    """Two or more speakers (functions or squads) messaging the same segment at the same
    moment. A touchpoint naming no segment speaks to all of its journey's segments; a
    touchpoint's speaker is its squad when it names one, else its function."""
    findings = []
    for moment in snapshot.moments:
        speakers: dict[str | None, dict[str, str]] = defaultdict(dict)
        for touchpoint in moment.touchpoints:
            if not touchpoint.speaker:
                continue
            audience = (
                (touchpoint.segment,)
                if touchpoint.segment
                else snapshot.journey_segments.get(moment.journey) or (None,)
            )
            for segment in audience:
                speakers[segment].setdefault(touchpoint.speaker, touchpoint.speaker_name)
        for segment, who in speakers.items():
            if len(who) < 2:
                continue
            named = sorted(who.values(), key=str.casefold)
            facts = snapshot.segments.get(segment) if segment else None
            audience_name = facts.name if facts else (segment or "customers")
            findings.append(
                FindingData(
                    kind=RESOURCE_CONFLICT,
                    rule="competing_touchpoints",
                    severity=MEDIUM,
                    subjects=(
                        f"moment:{moment.ref}",
                        *((f"segment:{segment}",) if segment else ()),
                        *(s for s in who if s.startswith("squad:")),
                    ),
                    message=(
                        f"{join_names(named)} {'both' if len(named) == 2 else 'all'} message "
                        f"{audience_name} at \u201c{moment.when}\u201d in "
                        f"{_where(snapshot, moment.stage_ref)}; agree who speaks to them "
                        "there and say it once."
                    ),
                    measure=float(len(who)),
                )
            )
    return findings


def _aimed_at_stages(snapshot: Snapshot) -> set[str]:
    """The stages live, not-dropped initiatives of the cycle are aimed at: their own stage,
    and the stages of the moments of the milestones they serve."""
    aimed = set()
    for initiative in snapshot.initiatives:
        if initiative.status == "dropped":
            continue
        if initiative.stage:
            aimed.add(initiative.stage)
        for ref in initiative.milestones:
            milestone = snapshot.milestone(ref)
            if milestone is not None and milestone.moment:
                aimed.add(milestone.moment.rsplit("/", 1)[0])
    return aimed


def rule_unaddressed_gap(snapshot: Snapshot, today: dt.date) -> list[FindingData]:
    """A stage at least GAP_STEPS short of its target on the emotion curve or the value
    scale (both ends recorded), that a squad covers but no initiative of the cycle is aimed
    at. A stage no squad covers is the unowned_stage finding's alone: naming its owner comes
    first, and the gap is theirs to plan for."""
    covering = _covering(snapshot)
    aimed = _aimed_at_stages(snapshot)
    findings = []
    for stage in snapshot.stages:
        if stage.ref in aimed or not covering.get(stage.ref):
            continue
        gaps, facts, measure = [], [], 0
        if stage.emotion_today is not None and stage.emotion_target is not None:
            gap = stage.emotion_target - stage.emotion_today
            if gap >= GAP_STEPS:
                gaps.append(
                    f"feel {EMOTION_WORDS.get(stage.emotion_today, stage.emotion_today)} "
                    f"today against {EMOTION_WORDS.get(stage.emotion_target)} as the target"
                )
                facts.append("emotion_gap")
                measure = max(measure, gap)
        if stage.value_today is not None and stage.value_target is not None:
            gap = stage.value_target - stage.value_today
            if gap >= GAP_STEPS:
                gaps.append(
                    f"get {VALUE_WORDS.get(stage.value_today, stage.value_today)} today "
                    f"against {VALUE_WORDS.get(stage.value_target)} as the target"
                )
                facts.append("value_gap")
                measure = max(measure, gap)
        if not gaps:
            continue
        findings.append(
            FindingData(
                kind=OWNERSHIP_GAP,
                rule="unaddressed_gap",
                severity=MEDIUM,
                subjects=(f"stage:{stage.ref}", *(f"squad:{k}" for k in covering[stage.ref])),
                message=(
                    f"Nothing in {snapshot.cycle_name} is aimed at "
                    f"{_where(snapshot, stage.ref)}, where customers {' and '.join(gaps)}; "
                    "plan an initiative that closes the gap."
                ),
                measure=float(measure),
                facts=tuple(facts),
            )
        )
    return findings


def success_shortfall(
    milestone_name: str,
    expected_day: int,
    *,
    threshold: Decimal | None,
    unit: str,
    reading: object | None,
) -> tuple[str, float | None] | None:
    """Why customers have not reached a success milestone yet, as words, and how many
    points short of the threshold they are (None when that is not what falls short); None
    when the latest reading shows them reaching it. `reading` has `actual_days` and
    `completion_rate` (either may be None), or is None when nothing was measured."""
    quoted = f"\u201c{milestone_name}\u201d"
    if reading is None:
        return f"no reading yet shows how many reach {quoted} by day {expected_day}", None
    reasons, short = [], None
    rate, days = reading.completion_rate, reading.actual_days
    if rate_threshold(unit) and threshold is not None and rate is not None and rate < threshold:
        reasons.append(
            f"{number(rate)}% reached {quoted} by day {expected_day} against {number(threshold)}%"
        )
        short = float(threshold - rate)
    if days is not None and days > expected_day:
        reasons.append(
            f"customers took {number(days)} days to reach {quoted}, expected by day {expected_day}"
        )
    if not reasons:
        return None
    return " and ".join(reasons), short


def rule_expansion_before_success(snapshot: Snapshot, today: dt.date) -> list[FindingData]:
    """Expansion work (an initiative, not dropped, in a stage marked for expansion) aimed at
    a segment whose customers have not reached its success milestone yet. An initiative
    naming no segment is aimed at all of its journey's segments; a segment without a
    success milestone has nothing to reach first."""
    success = {m.segment: m for m in snapshot.milestones if m.success}
    if not success:
        return []
    names = Names(snapshot)
    findings = []
    for initiative in snapshot.initiatives:
        stage = snapshot.stage(initiative.stage) if initiative.stage else None
        if initiative.status == "dropped" or stage is None or not stage.expansion:
            continue
        aimed = (
            (initiative.segment,)
            if initiative.segment
            else snapshot.journey_segments.get(stage.journey, ())
        )
        for key in aimed:
            milestone, segment = success.get(key), snapshot.segments.get(key)
            if milestone is None or segment is None:
                continue
            short = success_shortfall(
                milestone.name,
                milestone.expected_day,
                threshold=segment.success_threshold,
                unit=segment.success_unit,
                reading=milestone.latest,
            )
            if short is None:
                continue
            why, points = short
            findings.append(
                FindingData(
                    kind=BLOCKER,
                    rule="expansion_before_success",
                    severity=HIGH,
                    subjects=(
                        f"initiative:{initiative.ref}",
                        f"segment:{key}",
                        f"squad:{initiative.squad}",
                    ),
                    message=(
                        f"Expansion work \u201c{initiative.title}\u201d "
                        f"({names.squad(initiative.squad)}) is aimed at {segment.name} before "
                        f"they reach success: {why}."
                    ),
                    measure=points,
                    facts=("no_reading",) if milestone.latest is None else (),
                )
            )
    return findings
