"""The review: a pure function from a cycle's snapshot to the findings that hold on a date.

Each rule of the planning-file contract is one small function `rule_<name>(snapshot, today)`
returning `FindingData`; `review()` runs them all and sorts the result. Nothing here touches
the database, so every rule can be tested with plain objects, and the command, the Celery task
and the "run now" button all share it (services.review_run stores the result).

Readings of the contract worth knowing:
- Dates: "past due" means due < today; a dependency due today is not overdue. "Within 14 days"
  means due - today <= 14 days. "Planned to start before it is due" means starts < due, and
  "planned to end after it is due" means ends > due: equal dates never fire.
- One problem, one finding: a dependency past due and still only requested is one `overdue`
  finding naming both facts (past due since its date, never accepted by the provider), at
  the higher severity of the two; `unaccepted` fires only before the due date has passed.
- needed_before_due ignores a needing initiative that is dropped: it is not planned to start.
- similar_initiatives leaves out the pairs people judged from an earlier overlap finding
  while neither text has changed materially, splitting a group that held one
  (planning/overlap_verdicts.py); the grouping itself is planning/overlap.py's.
- cycle follows `from`/`to` as written (an initiative ref and a squad key are different
  nodes), ignores dependencies that are done or declined (they no longer hold anyone up),
  and reports each elementary loop once, at most MAX_LOOPS of them.
- The rules of customer outcomes (goals, touchpoints, value gaps, expansion before
  success) and how a late dependency names where the customer feels it: docs/review.md,
  "Review rules of customer outcomes". A planning file without goals, milestones or
  touchpoints reviews exactly as it did before them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import product
from typing import TYPE_CHECKING

from core.graphs import simple_cycles
from planning.overlap_verdicts import split_group, standing_pairs, text_of

# What every rule shares lives in review_base; it is imported here too, as the review's
# callers (and tests) have always found it here.
from planning.review_base import (  # noqa: F401
    BLOCKER,
    HIGH,
    IDENTIFYING_SUBJECTS,
    LOW,
    MEDIUM,
    OUTCOME_RULES,
    OVERLAP,
    OWNERSHIP_GAP,
    RESOURCE_CONFLICT,
    SEVERITY_RANK,
    FindingData,
    Rule,
    day,
    higher,
    number,
)
from planning.review_base import Names as _Names
from planning.review_base import join_names as _join
from planning.review_base import people as _people
from planning.review_base import thing as _thing
from planning.review_outcomes import (
    felt_by_customers,
    rule_competing_touchpoints,
    rule_expansion_before_success,
    rule_goal_without_objective,
    rule_moment_without_touchpoint,
    rule_objective_without_goal,
    rule_unaddressed_gap,
    with_consequence,
)

if TYPE_CHECKING:
    from planning.snapshot import DependencyFacts, Snapshot

logger = logging.getLogger(__name__)


UNACCEPTED_WINDOW = dt.timedelta(days=14)
MAX_SQUADS_PER_PERSON = 3
MAX_LOOPS = 200
# Over capacity by more than this share is high severity; less is medium.
CAPACITY_HIGH_OVERRUN = Decimal("0.25")
# Overlap groups this alike, and this large in people, are high severity.
OVERLAP_HIGH_SCORE = 0.75
OVERLAP_HIGH_HEADCOUNT = Decimal(5)
# Initiatives named in the message of a group split by judged pairs; the rest are counted.
MAX_NAMED_IN_PART = 5


def _dependency_subjects(dep: DependencyFacts) -> list[str]:
    subjects = [f"dependency:{dep.key}", f"squad:{dep.from_squad}"]
    if dep.to_squad:
        subjects.append(f"squad:{dep.to_squad}")
    return subjects


def _blocking_severity(dep: DependencyFacts) -> str:
    return HIGH if dep.blocking else MEDIUM


def _open_dependency_facts(dep: DependencyFacts, today: dt.date) -> tuple[str, ...]:
    """What makes a dependency still open worse than its rule says: past due, at risk."""
    facts = []
    if dep.status not in ("done", "declined") and dep.due < today:
        facts.append("past_due")
    if dep.status == "at_risk":
        facts.append("at_risk")
    return tuple(facts)


# --- overlap -----------------------------------------------------------------------------


def _overlap_finder() -> Callable | None:
    """planning.overlap.find_overlaps, or None while that module does not exist."""
    try:
        from planning.overlap import find_overlaps
    except ModuleNotFoundError as exc:
        if exc.name != "planning.overlap":
            raise
        return None
    return find_overlaps


def rule_similar_initiatives(snapshot: Snapshot, today: dt.date) -> list[FindingData]:
    """Initiatives of different squads that describe the same work for the same customers."""
    find_overlaps = _overlap_finder()
    if find_overlaps is None:
        return []
    live = [i for i in snapshot.initiatives if i.status != "dropped"]
    findings = []
    for refs, group in _unjudged_parts(
        snapshot, live, find_overlaps(live, squad_names=snapshot.squad_names)
    ):
        members = [snapshot.initiative(ref) for ref in refs]
        headcount = sum((i.headcount for i in members if i is not None), Decimal(0))
        score = round(float(group.score), 2)
        alike = score >= OVERLAP_HIGH_SCORE and headcount >= OVERLAP_HIGH_HEADCOUNT
        subjects = [f"initiative:{ref}" for ref in refs]
        subjects += [f"squad:{i.squad}" for i in members if i is not None]
        message = group.message if refs == tuple(group.refs) else _part_message(snapshot, refs)
        findings.append(
            FindingData(
                kind=OVERLAP,
                rule="similar_initiatives",
                severity=HIGH if alike else MEDIUM,
                subjects=tuple(subjects),
                message=message,
                score=score,
            )
        )
    return findings


def _unjudged_parts(snapshot: Snapshot, live: list, groups: list) -> list[tuple[tuple, object]]:
    """Each group, or the parts of it that hold no pair people have judged since (an
    overlap finding answered), with the group it came from (planning/overlap_verdicts.py)."""
    if not snapshot.overlap_verdicts:
        return [(tuple(group.refs), group) for group in groups]
    texts = {i.ref: text_of(i.title, i.description) for i in live}
    judged = standing_pairs(snapshot.overlap_verdicts, texts)
    squad_of = {i.ref: i.squad for i in live}
    return [(part, group) for group in groups for part in split_group(group.refs, judged, squad_of)]


def _part_message(snapshot: Snapshot, refs: Sequence[str]) -> str:
    names = _Names(snapshot)
    named = [names.initiative(ref) for ref in refs[:MAX_NAMED_IN_PART]]
    if len(refs) > MAX_NAMED_IN_PART:
        named.append(f"{len(refs) - MAX_NAMED_IN_PART} more initiatives")
    return (
        f"{_join(named)} look like the same work (pairs of this group that people already "
        "judged are left out); agree which squad owns it and fold the other plans into that "
        "one, or drop them."
    )


# --- blockers ----------------------------------------------------------------------------

_STILL = {
    "accepted": "accepted but not delivered",
    "at_risk": "at risk",
}


def rule_overdue(snapshot: Snapshot, today: dt.date) -> list[FindingData]:
    """A dependency that is neither done nor declined, past its due date.

    One problem, one finding: a past-due dependency that was never accepted is not also an
    `unaccepted` finding; this one names both facts, with the higher severity of the two.
    """
    names = _Names(snapshot)
    findings = []
    for dep in snapshot.dependencies:
        if dep.status in ("done", "declined") or not dep.due < today:
            continue
        facts = ["past_due", {"requested": "never_accepted", "at_risk": "at_risk"}.get(dep.status)]
        if dep.status == "requested":
            severity = higher(_blocking_severity(dep), _unaccepted_severity(dep))
            message = (
                f"{names.needer(dep)} needed {_thing(dep.what)} from {names.provider(dep)}: "
                f"it is past due since {day(dep.due)} and was never accepted by "
                f"{names.provider(dep)}; {names.contact(dep)} should accept it with a new "
                "date or say no."
            )
        else:
            severity = _blocking_severity(dep)
            message = (
                f"{names.needer(dep)} needed {_thing(dep.what)} from {names.provider(dep)} "
                f"by {day(dep.due)} and it is {_STILL.get(dep.status, dep.status)}; agree a "
                f"new date or a way around it with {names.contact(dep)}."
            )
        findings.append(
            FindingData(
                kind=BLOCKER,
                rule="overdue",
                severity=severity,
                subjects=tuple(_dependency_subjects(dep)),
                message=with_consequence(message, felt_by_customers(snapshot, dep)),
                facts=tuple(f for f in facts if f),
            )
        )
    return findings


def _dropped(snapshot: Snapshot, ref: str | None) -> bool:
    if ref is None:
        return False  # a squad needs it: a squad is never dropped
    facts = snapshot.initiative(ref)
    return facts is not None and facts.status == "dropped"


def rule_declined(snapshot: Snapshot, today: dt.date) -> list[FindingData]:
    """A declined dependency while the work that needs it goes on."""
    names = _Names(snapshot)
    findings = []
    for dep in snapshot.dependencies:
        if dep.status != "declined" or _dropped(snapshot, dep.from_initiative):
            continue
        findings.append(
            FindingData(
                kind=BLOCKER,
                rule="declined",
                severity=_blocking_severity(dep),
                subjects=tuple(_dependency_subjects(dep)),
                message=with_consequence(
                    f"{names.provider(dep)} declined {_thing(dep.what)}, which "
                    f"{names.needer(dep)} needs by {day(dep.due)}; find another provider, "
                    "build it yourselves or drop the work that needs it.",
                    felt_by_customers(snapshot, dep),
                ),
                facts=("past_due",) if dep.due < today else (),
            )
        )
    return findings


def _unaccepted_severity(dep: DependencyFacts) -> str:
    return _blocking_severity(dep)


def rule_unaccepted(snapshot: Snapshot, today: dt.date) -> list[FindingData]:
    """Still only requested within 14 days of the due date. Once it is past, the overdue
    finding says both (rule_overdue)."""
    names = _Names(snapshot)
    findings = []
    for dep in snapshot.dependencies:
        if dep.status != "requested" or dep.due < today or dep.due - today > UNACCEPTED_WINDOW:
            continue
        findings.append(
            FindingData(
                kind=BLOCKER,
                rule="unaccepted",
                severity=_unaccepted_severity(dep),
                subjects=tuple(_dependency_subjects(dep)),
                message=(
                    f"{names.needer(dep)} needs {_thing(dep.what)} from {names.provider(dep)} "
                    f"by {day(dep.due)}; it is still only requested, so "
                    f"{names.contact(dep)} should accept it or say no."
                ),
            )
        )
    return findings


def rule_late_provider(snapshot: Snapshot, today: dt.date) -> list[FindingData]:
    """The providing initiative is planned to end after the dependency is due."""
    names = _Names(snapshot)
    findings = []
    for dep in snapshot.dependencies:
        if dep.status == "done" or dep.to_initiative is None:
            continue
        provider = snapshot.initiative(dep.to_initiative)
        if provider is None or not provider.ends > dep.due:
            continue
        findings.append(
            FindingData(
                kind=BLOCKER,
                rule="late_provider",
                severity=_blocking_severity(dep),
                subjects=tuple(_dependency_subjects(dep)),
                message=with_consequence(
                    f"{names.needer(dep)} needs {_thing(dep.what)} by {day(dep.due)}, but "
                    f"{names.provider(dep)} is planned to end only on {day(provider.ends)}; "
                    "bring that work forward or move the date.",
                    felt_by_customers(snapshot, dep),
                ),
                measure=float((provider.ends - dep.due).days),
                facts=_open_dependency_facts(dep, today),
            )
        )
    return findings


def rule_needed_before_due(snapshot: Snapshot, today: dt.date) -> list[FindingData]:
    """A blocking dependency due after the initiative that needs it is planned to start."""
    names = _Names(snapshot)
    findings = []
    for dep in snapshot.dependencies:
        if not dep.blocking or dep.status == "done" or dep.from_initiative is None:
            continue
        needer = snapshot.initiative(dep.from_initiative)
        if needer is None or needer.status == "dropped" or not needer.starts < dep.due:
            continue
        started = needer.starts <= today
        findings.append(
            FindingData(
                kind=BLOCKER,
                rule="needed_before_due",
                severity=HIGH if started else MEDIUM,
                subjects=tuple(_dependency_subjects(dep)),
                message=with_consequence(
                    f"{names.needer(dep)} "
                    f"{'started' if started else 'is planned to start'} on {day(needer.starts)} "
                    f"but cannot go ahead without {_thing(dep.what)} from "
                    f"{names.provider(dep)}, due only on {day(dep.due)}; move the start or "
                    "get it sooner.",
                    felt_by_customers(snapshot, dep),
                ),
                measure=float((dep.due - needer.starts).days),
                facts=(*_open_dependency_facts(dep, today), *(("started",) if started else ())),
            )
        )
    return findings


def rule_cycle(snapshot: Snapshot, today: dt.date) -> list[FindingData]:
    """Blocking dependencies that wait on each other in a loop; one finding per loop."""
    names = _Names(snapshot)
    edges: dict[tuple[str, str], list[DependencyFacts]] = defaultdict(list)
    for dep in snapshot.dependencies:
        to_ref = dep.to_ref
        if not dep.blocking or dep.status in ("done", "declined") or to_ref is None:
            continue
        if to_ref == dep.from_ref:
            continue  # a party needing something from itself is not a loop between parties
        edges[(dep.from_ref, to_ref)].append(dep)
    graph: dict[str, list[str]] = defaultdict(list)
    for a, b in edges:
        graph[a].append(b)
        graph.setdefault(b, [])
    findings = []
    for loop in simple_cycles(graph, limit=MAX_LOOPS):
        hops = list(zip(loop, loop[1:] + loop[:1], strict=True))
        for deps in product(*(sorted(edges[hop], key=lambda d: d.key) for hop in hops)):
            subjects = []
            for dep in deps:
                subjects += _dependency_subjects(dep)
            chain = [names.node(ref) for ref in loop]
            waits = f"{chain[0]} waits for {chain[1]}" + "".join(
                f", which waits for {name}" for name in chain[2:]
            )
            findings.append(
                FindingData(
                    kind=BLOCKER,
                    rule="cycle",
                    severity=HIGH,
                    subjects=tuple(subjects),
                    message=(
                        f"{waits}, which waits for {chain[0]} again (dependencies "
                        f"{_join([d.key for d in deps])}), so none of them can go first; "
                        "break the loop by changing one of these dependencies."
                    ),
                )
            )
            if len(findings) >= MAX_LOOPS:
                logger.warning("Reporting only the first %s dependency loops", MAX_LOOPS)
                return findings
    return findings


# --- resource conflicts ------------------------------------------------------------------


def rule_over_capacity(snapshot: Snapshot, today: dt.date) -> list[FindingData]:
    """A function's planned headcount (initiatives not dropped) above its capacity."""
    planned: dict[str, Decimal] = defaultdict(Decimal)
    count: dict[str, int] = defaultdict(int)
    squads: dict[str, set[str]] = defaultdict(set)
    for initiative in snapshot.initiatives:
        if initiative.status == "dropped":
            continue
        planned[initiative.function] += initiative.headcount
        count[initiative.function] += 1
        squads[initiative.function].add(initiative.squad)
    findings = []
    for function, capacity in snapshot.capacity.items():
        total = planned.get(function, Decimal(0))
        if not total > capacity:
            continue
        overrun = total - capacity
        high = capacity == 0 or overrun / capacity > CAPACITY_HIGH_OVERRUN
        noun = "initiative" if count[function] == 1 else "initiatives"
        findings.append(
            FindingData(
                kind=RESOURCE_CONFLICT,
                rule="over_capacity",
                severity=HIGH if high else MEDIUM,
                subjects=(f"function:{function}", *(f"squad:{s}" for s in squads[function])),
                message=(
                    f"{function} has {_people(total)} planned on {count[function]} "
                    f"{noun} in {snapshot.cycle_name} but can staff {number(capacity)}; drop, "
                    f"shrink or move work worth {_people(overrun)}."
                ),
                measure=float(overrun),
            )
        )
    return findings


def rule_overcommitted_person(snapshot: Snapshot, today: dt.date) -> list[FindingData]:
    """One person in more than three squads of the cycle."""
    names = _Names(snapshot)
    squads: dict[str, list[str]] = defaultdict(list)
    for squad in snapshot.squads:
        for username in set(squad.members):
            squads[username].append(squad.key)
    findings = []
    for username, keys in squads.items():
        if len(keys) <= MAX_SQUADS_PER_PERSON:
            continue
        keys = sorted(keys, key=names.squad)
        findings.append(
            FindingData(
                kind=RESOURCE_CONFLICT,
                rule="overcommitted_person",
                severity=MEDIUM,
                subjects=(f"person:{username}", *(f"squad:{k}" for k in keys)),
                message=(
                    f"{names.person(username)} is a member of {len(keys)} squads in "
                    f"{snapshot.cycle_name} ({_join([names.squad(k) for k in keys])}); agree "
                    f"which {MAX_SQUADS_PER_PERSON} at most they can really give time to."
                ),
                measure=float(len(keys)),
            )
        )
    return findings


# --- ownership gaps ----------------------------------------------------------------------


def rule_unowned_stage(snapshot: Snapshot, today: dt.date) -> list[FindingData]:
    """A journey stage that no squad of the cycle covers."""
    covered = {ref for squad in snapshot.squads for ref in squad.stages}
    return [
        FindingData(
            kind=OWNERSHIP_GAP,
            rule="unowned_stage",
            severity=MEDIUM,
            subjects=(f"stage:{stage.ref}",),
            message=(
                f"No squad in {snapshot.cycle_name} covers the {stage.name} stage of "
                f"{stage.journey_name or stage.journey}; name a squad that owns it."
            ),
        )
        for stage in snapshot.stages
        if stage.ref not in covered
    ]


def rule_unmeasurable_key_result(snapshot: Snapshot, today: dt.date) -> list[FindingData]:
    """A key result without a baseline or a target."""
    names = _Names(snapshot)
    findings = []
    for kr in snapshot.key_results:
        missing = [
            label
            for label, value in (("baseline", kr.baseline), ("target", kr.target))
            if value is None
        ]
        if not missing:
            continue
        findings.append(
            FindingData(
                kind=OWNERSHIP_GAP,
                rule="unmeasurable_key_result",
                severity=LOW,
                subjects=(f"key_result:{kr.ref}", f"squad:{kr.squad}"),
                message=(
                    f"{names.squad(kr.squad)}'s key result \u201c{kr.name}\u201d has no "
                    f"{' and no '.join(missing)}; set {'them' if len(missing) > 1 else 'it'} "
                    "so progress can be measured."
                ),
                facts=tuple(f"no_{label}" for label in missing),
            )
        )
    return findings


# --- the review --------------------------------------------------------------------------

RULES: list[Rule] = [
    rule_similar_initiatives,
    rule_overdue,
    rule_declined,
    rule_unaccepted,
    rule_late_provider,
    rule_needed_before_due,
    rule_cycle,
    rule_over_capacity,
    rule_overcommitted_person,
    rule_unowned_stage,
    rule_unmeasurable_key_result,
    rule_goal_without_objective,
    rule_objective_without_goal,
    rule_moment_without_touchpoint,
    rule_competing_touchpoints,
    rule_unaddressed_gap,
    rule_expansion_before_success,
]
RULE_NAMES = tuple(IDENTIFYING_SUBJECTS)


def review(snapshot: Snapshot, today: dt.date) -> list[FindingData]:
    """Every finding that holds for the cycle on `today`, in a fixed order."""
    found: dict[str, FindingData] = {}
    for rule in RULES:
        for finding in rule(snapshot, today):
            found.setdefault(finding.identity, finding)
    return sorted(found.values(), key=sort_key)


def sort_key(finding: FindingData) -> tuple:
    order = RULE_NAMES.index(finding.rule) if finding.rule in RULE_NAMES else len(RULE_NAMES)
    return (order, finding.rule, finding.subjects)


# --- an acknowledged finding that got worse ----------------------------------------------

# An overlap's score must rise by this much to count as worse: scores move by a hundredth
# when a word of a description changes.
OVERLAP_WORSE_BY = 0.05


@dataclass(frozen=True)
class Acknowledged:
    """What a finding was when someone acknowledged it. None: not known (acknowledged
    before Throughline kept it), which is never taken for worse."""

    severity: str
    score: float | None = None
    measure: float | None = None
    facts: tuple[str, ...] | None = None
    initiatives: int | None = None


def _measure_words(rule: str, was: float, now: float) -> str:
    if rule == "over_capacity":
        return (
            f"was {_people(Decimal(str(was)))} over capacity when acknowledged, now {number(now)}"
        )
    if rule == "overcommitted_person":
        return f"was in {number(was)} squads when acknowledged, now {number(now)}"
    if rule == "late_provider":
        return (
            f"the provider was to finish {_days(was)} after the due date when acknowledged, "
            f"now {_days(now)}"
        )
    if rule == "needed_before_due":
        return f"the work was to wait {_days(was)} for it when acknowledged, now {_days(now)}"
    if rule == "unaddressed_gap":
        return f"the gap was {number(was)} steps when acknowledged, now {number(now)}"
    if rule == "competing_touchpoints":
        return f"{number(was)} speakers when acknowledged, now {number(now)}"
    if rule == "expansion_before_success":
        return f"was {number(was)} points short of success when acknowledged, now {number(now)}"
    return f"was {number(was)} when acknowledged, now {number(now)}"


def _days(count: float) -> str:
    return f"{number(count)} day{'' if count == 1 else 's'}"


FACT_WORDS = {
    "past_due": "now past its due date",
    "at_risk": "now at risk",
    "started": "the work that needs it has now started",
    "no_baseline": "now without a baseline",
    "no_target": "now without a target",
    "emotion_gap": "now short of its emotion target too",
    "value_gap": "now short of its value target too",
}


def worsened(before: Acknowledged, now: FindingData) -> str:
    """Why a finding is worse now than when it was acknowledged, as the note a person reads
    ("Re-opened: was 2 people over capacity when acknowledged, now 4.5."); "" if it is not.

    Worse: a higher severity; a larger measure (people over capacity, squads a person is
    in, days between dates); for an overlap, more initiatives or a score higher by at least
    OVERLAP_WORSE_BY; or a fact it did not have (now past due, now at risk).
    """
    reasons = []
    rank = SEVERITY_RANK.get
    if before.severity and rank(now.severity, -1) > rank(before.severity, -1):
        reasons.append(f"was {before.severity} severity when acknowledged, now {now.severity}")
    if now.rule == "similar_initiatives":
        count = sum(1 for s in now.subjects if s.startswith("initiative:"))
        if before.initiatives is not None and count > before.initiatives:
            reasons.append(
                f"was {before.initiatives} alike initiatives when acknowledged, now {count}"
            )
        if (
            before.score is not None
            and now.score is not None
            and now.score - before.score >= OVERLAP_WORSE_BY - 1e-9
        ):
            reasons.append(
                f"the initiatives were {number(before.score)} alike when acknowledged, "
                f"now {number(now.score)}"
            )
    grew = before.measure is not None and now.measure is not None and now.measure > before.measure
    if grew:
        reasons.append(_measure_words(now.rule, before.measure, now.measure))
    if before.facts is not None:
        for fact in now.facts:
            if fact not in before.facts and fact in FACT_WORDS:
                reasons.append(f"{FACT_WORDS[fact]}, which it was not when acknowledged")
    if not reasons:
        return ""
    return f"Re-opened: {'; '.join(reasons)}."


# --- what a finding's subjects look like now ---------------------------------------------


@dataclass
class SubjectStates:
    """The facts behind each subject, digested, so a dismissal can tell when they change."""

    snapshot: Snapshot
    _index: dict[str, object] = field(default_factory=dict)
    _outcome: dict[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        snap = self.snapshot
        index: dict[str, object] = {}
        for i in snap.initiatives:
            index[f"initiative:{i.ref}"] = i
        for d in snap.dependencies:
            index[f"dependency:{d.key}"] = d
        squads_of: dict[str, list[str]] = defaultdict(list)
        for s in snap.squads:
            index[f"squad:{s.key}"] = s
            for member in s.members:
                squads_of[member].append(s.key)
        for username, keys in squads_of.items():
            index[f"person:{username}"] = (username, tuple(sorted(keys)))
        for stage in snap.stages:
            index[f"stage:{stage.ref}"] = stage
        for kr in snap.key_results:
            index[f"key_result:{kr.ref}"] = kr
        per_function: dict[str, list] = defaultdict(list)
        for i in snap.initiatives:
            per_function[i.function].append((i.ref, i.headcount, i.status))
        for function in set(per_function) | set(snap.capacity):
            index[f"function:{function}"] = (
                snap.capacity.get(function),
                tuple(sorted(per_function.get(function, ()))),
            )
        # Customer outcomes: what their rules judge about each subject.
        for goal in snap.goals:
            index[f"goal:{goal.key}"] = goal
        milestones: dict[str, list] = defaultdict(list)
        for milestone in snap.milestones:
            index[f"milestone:{milestone.ref}"] = milestone
            milestones[milestone.segment].append(milestone)
        for key, segment in snap.segments.items():
            index[f"segment:{key}"] = (segment, tuple(milestones.get(key, ())))
        for moment in snap.moments:
            index[f"moment:{moment.ref}"] = moment
        self._index = index
        # Facts about a stage, a squad or an initiative that only the rules of customer
        # outcomes judge: added to those rules' digests only, so that the findings of the
        # other rules keep the digest they were dismissed on.
        outcome: dict[str, object] = {}
        for stage in snap.stages:
            outcome[f"stage:{stage.ref}"] = stage.outcome
        for objective in snap.objectives:
            outcome[f"squad:{objective.squad}"] = objective
        for i in snap.initiatives:
            outcome[f"initiative:{i.ref}"] = (i.milestones, i.stage, i.segment, i.status)
        self._outcome = outcome

    def digest(self, finding: FindingData) -> str:
        facts = [repr((s, self._index.get(s))) for s in finding.identifying_subjects]
        if finding.rule in OUTCOME_RULES:
            facts += [
                repr((s, self._outcome[s]))
                for s in finding.identifying_subjects
                if s in self._outcome
            ]
        return hashlib.sha256("\n".join(facts).encode()).hexdigest()
