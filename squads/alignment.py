"""The alignment of a cycle's objectives with the company's goals: which goals each squad's
objective serves, its key results' progress and confidence, and both rolled up per objective
and per goal (docs/outcomes.md, "Goals above objectives").

Read in a fixed number of queries whatever the number of squads and key results: the goals
(and their segments), the cycle's objectives with their squads, the links between them, the
key results each with its latest check-in's confidence, and, for one goal's page, the journey
stages its squads cover. The rollups are plain arithmetic over those rows.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from statistics import fmean

from django.db.models import F, OuterRef, Prefetch, Subquery
from django.urls import reverse

from core.models import Cycle
from journeys.models import Segment
from squads.models import OKR, CheckIn, Goal, KeyResult, ObjectiveGoal, SquadStage
from squads.views import KeyResultCard

# CheckIn.confidence runs from 1 (not at all confident) to 10 (certain), 5 being a coin toss
# (squads.forms.CONFIDENCE_CHOICES): below it, the squad thinks the target more likely missed.
CONFIDENCE_MAX = 10
LOW_CONFIDENCE = 5


def _plural(count: int, one: str, many: str | None = None) -> str:
    return f"{count} {one if count == 1 else (many or one + 's')}"


@dataclass
class KeyResultLine:
    """One key result as the alignment shows it: progress, current against target, and the
    confidence of its latest check-in."""

    card: KeyResultCard
    confidence: int | None

    @property
    def kr(self) -> KeyResult:
        return self.card.kr

    @property
    def progress(self) -> float | None:
        return self.kr.progress()

    @property
    def low(self) -> bool:
        return self.confidence is not None and self.confidence < LOW_CONFIDENCE


@dataclass
class Rollup:
    """Progress and confidence of a set of key results, as people read them."""

    lines: list[KeyResultLine]

    @property
    def total(self) -> int:
        return len(self.lines)

    @property
    def measured(self) -> list[float]:
        return [line.progress for line in self.lines if line.progress is not None]

    @property
    def percent(self) -> int | None:
        """The mean progress of the key results that can be measured, 0 to 100."""
        measured = self.measured
        return round(fmean(measured) * 100) if measured else None

    @property
    def measured_text(self) -> str:
        if not self.total:
            return "no key results"
        count = len(self.measured)
        if count == self.total:
            return f"mean of {_plural(count, 'key result')}"
        if not count:
            return f"none of {_plural(self.total, 'key result')} measured yet"
        return f"mean of the {count} of {_plural(self.total, 'key result')} measured"

    @property
    def confidences(self) -> list[int]:
        return [line.confidence for line in self.lines if line.confidence is not None]

    @property
    def lowest_confidence(self) -> int | None:
        return min(self.confidences, default=None)

    @property
    def low_count(self) -> int:
        return sum(1 for line in self.lines if line.low)

    @property
    def confidence_text(self) -> str:
        lowest = self.lowest_confidence
        if lowest is None:
            return "no check-ins yet"
        text = f"lowest confidence {lowest} of {CONFIDENCE_MAX}"
        if self.low_count:
            text += (
                f"; {_plural(self.low_count, 'key result')} below {LOW_CONFIDENCE} of "
                f"{CONFIDENCE_MAX} (a coin toss)"
            )
        unchecked = self.total - len(self.confidences)
        if unchecked:
            text += f"; {unchecked} without a check-in"
        return text


@dataclass
class StageLink:
    name: str
    journey: str
    url: str


@dataclass
class Objective:
    """A squad's objective in the cycle, with its key results and the goals it serves."""

    okr: OKR
    lines: list[KeyResultLine]
    goals: list[Goal] = field(default_factory=list)
    stages: list[StageLink] = field(default_factory=list)

    @property
    def squad(self):
        return self.okr.squad

    @property
    def rollup(self) -> Rollup:
        return Rollup(self.lines)


@dataclass
class GoalNode:
    goal: Goal
    objectives: list[Objective]

    @property
    def rollup(self) -> Rollup:
        return Rollup([line for objective in self.objectives for line in objective.lines])

    @property
    def years(self) -> str:
        return goal_years(self.goal)


@dataclass
class Alignment:
    cycle: Cycle | None
    goals: list[GoalNode]
    unaligned: list[Objective]  # objectives of the cycle serving no goal

    @property
    def unserved(self) -> list[GoalNode]:
        return [node for node in self.goals if not node.objectives]

    @property
    def objective_count(self) -> int:
        served = {o.okr.pk for node in self.goals for o in node.objectives}
        return len(served) + len(self.unaligned)


def goal_years(goal: Goal) -> str:
    if goal.starts_year == goal.ends_year:
        return str(goal.starts_year)
    return f"{goal.starts_year}–{goal.ends_year}"


def goals_for_pages():
    """Live goals in their order, with their owner and segments (two queries)."""
    segments = Segment.objects.order_by(F("priority").asc(nulls_last=True), "name", "id")
    return (
        Goal.objects.select_related("owner__profile")
        .prefetch_related(Prefetch("segments", queryset=segments))
        .order_by("position", "starts_year", "id")
    )


def alignment(cycle: Cycle | None, *, only: Goal | None = None) -> Alignment:
    """The goals (all of them, or `only` one) and the objectives of `cycle` that serve them,
    with their key results; and the objectives serving no goal (when all goals are asked)."""
    goals = [only] if only is not None else list(goals_for_pages())
    if cycle is None:
        return Alignment(cycle, [GoalNode(goal, []) for goal in goals], [])
    okrs = OKR.objects.filter(cycle=cycle, squad__cycle=cycle, squad__removal__isnull=True)
    key_results = KeyResult.objects.filter(
        okr__cycle=cycle, okr__squad__cycle=cycle, okr__squad__removal__isnull=True
    )
    links = ObjectiveGoal.objects.filter(
        okr__cycle=cycle, okr__squad__removal__isnull=True, goal__removal__isnull=True
    )
    if only is not None:
        okrs = okrs.filter(goal_links__goal=only)
        key_results = key_results.filter(okr__goal_links__goal=only)
        links = links.filter(goal=only)
    latest = CheckIn.objects.filter(key_result=OuterRef("pk")).order_by("-created_at", "-id")
    rows = list(
        key_results.annotate(latest_confidence=Subquery(latest.values("confidence")[:1])).order_by(
            "okr_id", "id"
        )
    )
    lines: dict[int, list[KeyResultLine]] = defaultdict(list)
    for kr in rows:
        lines[kr.okr_id].append(KeyResultLine(KeyResultCard(kr, []), kr.latest_confidence))
    objectives = {
        okr.pk: Objective(okr, lines.get(okr.pk, []))
        for okr in okrs.select_related("squad").order_by("squad__name", "squad_id")
    }
    by_goal = {goal.pk: goal for goal in goals}
    served: dict[int, list[Objective]] = defaultdict(list)
    for okr_id, goal_id in links.order_by("okr__squad__name", "okr_id").values_list(
        "okr_id", "goal_id"
    ):
        objective = objectives.get(okr_id)
        if objective is None or goal_id not in by_goal:
            continue
        served[goal_id].append(objective)
        objective.goals.append(by_goal[goal_id])
    nodes = [GoalNode(goal, served.get(goal.pk, [])) for goal in goals]
    unaligned = [] if only is not None else [o for o in objectives.values() if not o.goals]
    return Alignment(cycle, nodes, unaligned)


def with_stages(objectives: list[Objective]) -> None:
    """Give each objective the live journey stages its squad covers, each linking to its
    column on the journey map (one query)."""
    by_squad = {objective.okr.squad_id: objective for objective in objectives}
    covers = (
        SquadStage.objects.filter(
            squad_id__in=list(by_squad),
            stage__removal__isnull=True,
            stage__journey__removal__isnull=True,
        )
        .select_related("stage__journey")
        .order_by("stage__journey__name", "stage__journey_id", "stage__position", "stage_id")
    )
    for cover in covers:
        stage = cover.stage
        url = reverse("journeys:detail", args=[stage.journey.key]) + f"#stage-{stage.pk}"
        by_squad[cover.squad_id].stages.append(StageLink(stage.name, stage.journey.name, url))
