"""What every review rule shares: the finding it returns, the kinds and severities, which
subjects identify a finding of each rule, and how the review names things in its sentences.

Pure, like the rules (planning/review.py, planning/review_outcomes.py): no model, no
database.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from planning.snapshot import DependencyFacts, Snapshot

OVERLAP, BLOCKER, RESOURCE_CONFLICT, OWNERSHIP_GAP = (
    "overlap",
    "blocker",
    "resource_conflict",
    "ownership_gap",
)
HIGH, MEDIUM, LOW = "high", "medium", "low"
SEVERITY_RANK = {LOW: 0, MEDIUM: 1, HIGH: 2}

# The subject types that identify a finding of each rule: the ones the contract says the
# rule must list. Extra subjects (the squads concerned) do not change a finding's identity.
IDENTIFYING_SUBJECTS = {
    "similar_initiatives": "initiative",
    "overdue": "dependency",
    "declined": "dependency",
    "unaccepted": "dependency",
    "late_provider": "dependency",
    "needed_before_due": "dependency",
    "cycle": "dependency",
    "over_capacity": "function",
    "overcommitted_person": "person",
    "unowned_stage": "stage",
    "unmeasurable_key_result": "key_result",
    # Customer outcomes.
    "goal_without_objective": "goal",
    "objective_without_goal": "squad",
    "moment_without_touchpoint": ("moment", "stage"),
    "competing_touchpoints": ("moment", "segment"),
    "unaddressed_gap": "stage",
    "expansion_before_success": ("initiative", "segment"),
}
OUTCOME_RULES = (
    "goal_without_objective",
    "objective_without_goal",
    "moment_without_touchpoint",
    "competing_touchpoints",
    "unaddressed_gap",
    "expansion_before_success",
)


@dataclass(frozen=True)
class FindingData:
    """One finding as the contract shows it: `{"kind", "rule", "severity", "subjects", ...}`."""

    kind: str
    rule: str
    severity: str
    subjects: tuple[str, ...]
    message: str
    score: float | None = None
    # Not in the contract's JSON: how bad it is, for telling whether an acknowledged finding
    # got worse (worsened()). `measure` grows as it gets worse (people over capacity, days
    # late); `facts` name what makes it bad beyond its rule (past_due, at_risk, ...).
    measure: float | None = None
    facts: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "subjects", tuple(sorted(set(self.subjects))))
        object.__setattr__(self, "facts", tuple(sorted(set(self.facts))))

    @cached_property
    def identifying_subjects(self) -> tuple[str, ...]:
        kinds = IDENTIFYING_SUBJECTS.get(self.rule)
        if kinds is None:
            return self.subjects
        if isinstance(kinds, str):
            kinds = (kinds,)
        return tuple(s for s in self.subjects if s.split(":", 1)[0] in kinds)

    @cached_property
    def identity(self) -> str:
        """Stable across runs: the rule and the subjects that make it this finding."""
        text = "\n".join((self.rule, *self.identifying_subjects))
        return hashlib.sha256(text.encode()).hexdigest()

    def squads(self) -> list[str]:
        return [s.split(":", 1)[1] for s in self.subjects if s.startswith("squad:")]

    def as_json(self) -> dict:
        data: dict = {
            "kind": self.kind,
            "rule": self.rule,
            "severity": self.severity,
            "subjects": list(self.subjects),
            "message": self.message,
        }
        if self.score is not None:
            data["score"] = self.score
        return data


Rule = Callable[["Snapshot", dt.date], list[FindingData]]


# --- words -------------------------------------------------------------------------------


def day(date: dt.date) -> str:
    """15 Feb 2027."""
    return f"{date.day} {date:%b %Y}"


def number(value: Decimal | float | int) -> str:
    """7, 3.5, 0.25: no trailing zeros."""
    text = format(Decimal(str(value)).normalize(), "f")
    return text


def thing(what: str) -> str:
    """A dependency's `what` inside a sentence: first letter lower-cased unless an acronym."""
    what = what.strip().rstrip(".")
    if len(what) > 1 and what[0].isupper() and what[1].islower():
        return what[0].lower() + what[1:]
    return what


def people(headcount: Decimal) -> str:
    return f"{number(headcount)} {'person' if headcount == 1 else 'people'}"


def join_names(names: Sequence[str]) -> str:
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


class Names:
    """How the review names things in messages: by their human names, never their keys."""

    def __init__(self, snapshot: Snapshot) -> None:
        self.snap = snapshot
        self.dri = {s.key: s.dri for s in snapshot.squads}

    def squad(self, key: str) -> str:
        return self.snap.squad_names.get(key, key)

    def person(self, username: str) -> str:
        return self.snap.people.get(username, username)

    def initiative(self, ref: str) -> str:
        facts = self.snap.initiative(ref)
        if facts is None:
            return ref
        return f"{facts.title} ({self.squad(facts.squad)})"

    def node(self, ref: str) -> str:
        """A dependency end as written: an initiative ref or a squad key."""
        return self.initiative(ref) if "/" in ref else self.squad(ref)

    def needer(self, dep: DependencyFacts) -> str:
        return self.node(dep.from_ref)

    def provider(self, dep: DependencyFacts) -> str:
        if dep.to_ref:
            return self.node(dep.to_ref)
        return f"the {dep.to_function} team"

    def contact(self, dep: DependencyFacts) -> str:
        """Who on the provider side can answer for it."""
        if dep.owner:
            return self.person(dep.owner)
        if dep.to_squad and dep.to_squad in self.dri:
            return self.person(self.dri[dep.to_squad])
        return self.provider(dep)


def higher(*severities: str) -> str:
    """The most severe of these."""
    return max(severities, key=lambda s: SEVERITY_RANK.get(s, -1))
