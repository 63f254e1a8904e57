"""A plain, read-only picture of one planning cycle: what the review reasons about.

The review's rules take a Snapshot and never touch the database, so each rule can be tested
with plain objects and the whole review can run over a cycle loaded in a handful of queries.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field, replace
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db.models import OuterRef, Q, Subquery

from core.models import Capacity, Cycle
from dependencies.models import Dependency
from journeys.models import (
    JourneySegment,
    Milestone,
    MilestoneReading,
    Moment,
    Segment,
    Stage,
    Touchpoint,
)
from planning.models import OverlapVerdict
from planning.overlap_verdicts import VerdictFacts, text_of
from squads.models import (
    OKR,
    Goal,
    Initiative,
    InitiativeMilestone,
    KeyResult,
    Membership,
    ObjectiveGoal,
    Squad,
    SquadStage,
)


@dataclass(frozen=True)
class InitiativeFacts:
    squad: str
    key: str
    title: str
    description: str
    function: str
    stage: str | None  # "journey/stage"
    segment: str | None
    starts: dt.date
    ends: dt.date
    headcount: Decimal
    status: str
    # The milestones it serves ("segment/milestone"). Out of the repr, which digests the
    # facts a dismissed finding was dismissed on (review.SubjectStates): it was not there.
    milestones: tuple[str, ...] = field(default=(), repr=False)

    @property
    def ref(self) -> str:
        return f"{self.squad}/{self.key}"


@dataclass(frozen=True)
class DependencyFacts:
    key: str
    from_squad: str
    from_initiative: str | None  # "squad/initiative" when the needer is an initiative
    to_squad: str | None  # the providing squad, also set when the provider is an initiative
    to_initiative: str | None
    to_function: str
    what: str
    due: dt.date
    blocking: bool
    status: str
    owner: str | None

    @property
    def from_ref(self) -> str:
        """The needing side as written in the planning file."""
        return self.from_initiative or self.from_squad

    @property
    def to_ref(self) -> str | None:
        """The providing side as written in the planning file (None for a function)."""
        return self.to_initiative or self.to_squad


@dataclass(frozen=True)
class KeyResultFacts:
    squad: str
    key: str
    name: str
    baseline: Decimal | None
    target: Decimal | None

    @property
    def ref(self) -> str:
        return f"{self.squad}/{self.key}"


@dataclass(frozen=True)
class SquadFacts:
    key: str
    name: str
    dri: str
    members: tuple[str, ...]
    stages: tuple[str, ...]


@dataclass(frozen=True)
class StageFacts:
    ref: str
    name: str
    journey: str
    journey_name: str = ""
    # The customer outcome facts, out of the repr as above (SubjectStates reads them for the
    # rules that judge them). Emotions -2..2, values 0..4 (journeys.models), None: not set.
    emotion_today: int | None = field(default=None, repr=False)
    emotion_target: int | None = field(default=None, repr=False)
    value_today: int | None = field(default=None, repr=False)
    value_target: int | None = field(default=None, repr=False)
    expansion: bool = field(default=False, repr=False)

    @property
    def outcome(self) -> tuple:
        return (
            self.emotion_today,
            self.emotion_target,
            self.value_today,
            self.value_target,
            self.expansion,
        )


@dataclass(frozen=True)
class GoalFacts:
    """A live company goal whose years include the cycle, and the squads of the cycle whose
    objective serves it."""

    key: str
    name: str
    served_by: tuple[str, ...] = ()  # squad keys


@dataclass(frozen=True)
class ObjectiveFacts:
    """A squad's objective in the cycle and the goals it serves (goal keys, any year)."""

    squad: str
    objective: str
    goals: tuple[str, ...] = ()


@dataclass(frozen=True)
class ReadingFacts:
    measured_on: dt.date
    actual_days: Decimal | None
    completion_rate: Decimal | None


@dataclass(frozen=True)
class MilestoneFacts:
    segment: str
    key: str
    name: str
    expected_day: int
    moment: str | None  # "journey/stage/moment"
    success: bool
    latest: ReadingFacts | None = None

    @property
    def ref(self) -> str:
        return f"{self.segment}/{self.key}"


@dataclass(frozen=True)
class SegmentFacts:
    key: str
    name: str
    success_threshold: Decimal | None = None
    success_unit: str = ""


@dataclass(frozen=True)
class TouchpointFacts:
    channel: str
    speaker: str  # "squad:KEY" or "function:NAME"; "" when it names no one still there
    speaker_name: str
    segment: str | None  # None: all the journey's segments


@dataclass(frozen=True)
class MomentFacts:
    journey: str
    stage: str  # the stage's key
    key: str
    when: str
    touchpoints: tuple[TouchpointFacts, ...] = ()

    @property
    def ref(self) -> str:
        return f"{self.journey}/{self.stage}/{self.key}"

    @property
    def stage_ref(self) -> str:
        return f"{self.journey}/{self.stage}"


@dataclass
class Snapshot:
    cycle: str
    cycle_name: str
    starts: dt.date
    ends: dt.date
    squads: list[SquadFacts] = field(default_factory=list)
    initiatives: list[InitiativeFacts] = field(default_factory=list)
    dependencies: list[DependencyFacts] = field(default_factory=list)
    key_results: list[KeyResultFacts] = field(default_factory=list)
    stages: list[StageFacts] = field(default_factory=list)
    capacity: dict[str, Decimal] = field(default_factory=dict)
    # Initiatives outside the cycle that this cycle's dependencies name as providers.
    provider_initiatives: dict[str, InitiativeFacts] = field(default_factory=dict)
    people: dict[str, str] = field(default_factory=dict)  # username -> display name
    squad_names: dict[str, str] = field(default_factory=dict)  # includes providers elsewhere
    # Pairs of initiatives someone judged from an overlap finding (planning/overlap_verdicts.py).
    overlap_verdicts: list[VerdictFacts] = field(default_factory=list)
    # Customer outcomes (docs/outcomes.md): the company's goals in effect during the cycle,
    # the squads' objectives, segments with their success outcome, time-to-value milestones
    # with their latest reading, moments with their touchpoints, each journey's segments.
    goals: list[GoalFacts] = field(default_factory=list)
    objectives: list[ObjectiveFacts] = field(default_factory=list)
    segments: dict[str, SegmentFacts] = field(default_factory=dict)
    milestones: list[MilestoneFacts] = field(default_factory=list)
    moments: list[MomentFacts] = field(default_factory=list)
    journey_segments: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def initiative(self, ref: str) -> InitiativeFacts | None:
        return self._initiatives_by_ref().get(ref) or self.provider_initiatives.get(ref)

    def _initiatives_by_ref(self) -> dict[str, InitiativeFacts]:
        cached = getattr(self, "_by_ref", None)
        if cached is None:
            cached = {i.ref: i for i in self.initiatives}
            self._by_ref = cached
        return cached

    def milestone(self, ref: str) -> MilestoneFacts | None:
        return self._milestones_by_ref().get(ref)

    def _milestones_by_ref(self) -> dict[str, MilestoneFacts]:
        cached = getattr(self, "_milestone_by_ref", None)
        if cached is None:
            cached = {m.ref: m for m in self.milestones}
            self._milestone_by_ref = cached
        return cached

    def moment(self, ref: str) -> MomentFacts | None:
        cached = getattr(self, "_moment_by_ref", None)
        if cached is None:
            cached = {m.ref: m for m in self.moments}
            self._moment_by_ref = cached
        return cached.get(ref)

    def stage(self, ref: str) -> StageFacts | None:
        cached = getattr(self, "_stage_by_ref", None)
        if cached is None:
            cached = {s.ref: s for s in self.stages}
            self._stage_by_ref = cached
        return cached.get(ref)


_INITIATIVE_FIELDS = (
    "squad__key",
    "key",
    "title",
    "description",
    "function",
    "stage__journey__key",
    "stage__key",
    "segment__key",
    "starts",
    "ends",
    "headcount",
    "status",
)


def _initiative_facts(row: tuple) -> InitiativeFacts:
    squad, key, title, desc, function, journey, stage, segment, starts, ends, hc, status = row
    return InitiativeFacts(
        squad=squad,
        key=key,
        title=title,
        description=desc,
        function=function,
        stage=f"{journey}/{stage}" if stage else None,
        segment=segment,
        starts=starts,
        ends=ends,
        headcount=hc,
        status=status,
    )


def snapshot_for_cycle(cycle: Cycle) -> Snapshot:
    """Load everything the review needs about one cycle, in a fixed number of queries."""
    snap = Snapshot(cycle=cycle.key, cycle_name=cycle.name, starts=cycle.starts, ends=cycle.ends)

    squads = list(
        Squad.objects.filter(cycle=cycle)
        .order_by("id")
        .values_list("id", "key", "name", "dri__username")
    )
    squad_ids = [s[0] for s in squads]
    members: dict[int, list[str]] = defaultdict(list)
    for squad_id, username in (
        Membership.objects.filter(squad_id__in=squad_ids)
        .order_by("id")
        .values_list("squad_id", "person__username")
    ):
        members[squad_id].append(username)
    covered: dict[int, list[str]] = defaultdict(list)
    for squad_id, journey, stage in (
        SquadStage.objects.filter(squad_id__in=squad_ids)
        .order_by("id")
        .values_list("squad_id", "stage__journey__key", "stage__key")
    ):
        covered[squad_id].append(f"{journey}/{stage}")
    snap.squads = [
        SquadFacts(
            key=key, name=name, dri=dri, members=tuple(members[pk]), stages=tuple(covered[pk])
        )
        for pk, key, name, dri in squads
    ]
    snap.squad_names = {key: name for _, key, name, _ in squads}

    snap.initiatives = [
        _initiative_facts(row)
        for row in Initiative.objects.filter(squad__cycle=cycle)
        .order_by("id")
        .values_list(*_INITIATIVE_FIELDS)
    ]

    deps = Dependency.objects.filter(needer__cycle=cycle)
    rows = deps.order_by("id").values_list(
        "key",
        "from_squad__key",
        "from_initiative__squad__key",
        "from_initiative__key",
        "to_squad__key",
        "to_initiative__squad__key",
        "to_initiative__key",
        "to_function",
        "what",
        "due",
        "blocking",
        "status",
        "owner__username",
    )
    for key, fsq, fisq, fik, tsq, tisq, tik, tfn, what, due, blocking, status, owner in rows:
        snap.dependencies.append(
            DependencyFacts(
                key=key,
                from_squad=fsq or fisq,
                from_initiative=f"{fisq}/{fik}" if fik else None,
                to_squad=tsq or tisq,
                to_initiative=f"{tisq}/{tik}" if tik else None,
                to_function=tfn,
                what=what,
                due=due,
                blocking=blocking,
                status=status,
                owner=owner,
            )
        )

    inside = {i.ref for i in snap.initiatives}
    outside = {
        d.to_initiative
        for d in snap.dependencies
        if d.to_initiative and d.to_initiative not in inside
    }
    if outside:
        wanted = [ref.split("/", 1) for ref in outside]
        query = Q()
        for squad_key, key in wanted:
            query |= Q(squad__key=squad_key, key=key)
        for row in Initiative.objects.filter(query).values_list(*_INITIATIVE_FIELDS):
            facts = _initiative_facts(row)
            snap.provider_initiatives[facts.ref] = facts
    other_squads = {d.to_squad for d in snap.dependencies if d.to_squad} - set(snap.squad_names)
    if other_squads:
        snap.squad_names.update(
            Squad.objects.filter(key__in=other_squads).values_list("key", "name")
        )

    snap.key_results = [
        KeyResultFacts(squad=squad, key=key, name=name, baseline=baseline, target=target)
        for squad, key, name, baseline, target in KeyResult.objects.filter(
            okr__cycle=cycle, okr__squad__cycle=cycle
        )
        .order_by("id")
        .values_list("okr__squad__key", "key", "name", "baseline", "target")
    ]
    snap.stages = [
        StageFacts(
            ref=f"{journey}/{key}",
            name=name,
            journey=journey,
            journey_name=journey_name,
            emotion_today=emotion_today,
            emotion_target=emotion_target,
            value_today=value_today,
            value_target=value_target,
            expansion=expansion,
        )
        for (
            journey,
            key,
            name,
            journey_name,
            emotion_today,
            emotion_target,
            value_today,
            value_target,
            expansion,
        ) in Stage.objects.order_by("journey_id", "position", "id").values_list(
            "journey__key",
            "key",
            "name",
            "journey__name",
            "emotion_today",
            "emotion_target",
            "value_today",
            "value_target",
            "expansion",
        )
    ]
    snap.overlap_verdicts = [
        VerdictFacts(
            first=f"{first_squad}/{first_key}",
            second=f"{second_squad}/{second_key}",
            verdict=verdict,
            first_text=text_of(first_title, first_description),
            second_text=text_of(second_title, second_description),
        )
        for (
            first_squad,
            first_key,
            second_squad,
            second_key,
            verdict,
            first_title,
            first_description,
            second_title,
            second_description,
        ) in OverlapVerdict.objects.filter(cycle=cycle)
        .order_by("id")
        .values_list(
            "first__squad__key",
            "first__key",
            "second__squad__key",
            "second__key",
            "verdict",
            "first_title",
            "first_description",
            "second_title",
            "second_description",
        )
    ]
    snap.capacity = dict(Capacity.objects.filter(cycle=cycle).values_list("function", "headcount"))
    _customer_outcomes(snap, cycle)

    usernames = {s.dri for s in snap.squads} | {m for s in snap.squads for m in s.members}
    usernames |= {d.owner for d in snap.dependencies if d.owner}
    snap.people = {
        username: name or username
        for username, name in get_user_model()
        .objects.filter(username__in=usernames)
        .values_list("username", "profile__display_name")
    }
    return snap


def _customer_outcomes(snap: Snapshot, cycle: Cycle) -> None:
    """Goals and objectives, segments' success outcomes and milestones, moments and their
    touchpoints: nine queries, however many there are."""
    live_squad = Q(okr__squad__removal__isnull=True, okr__squad__cycle=cycle, okr__cycle=cycle)
    links = list(
        ObjectiveGoal.objects.filter(live_squad, goal__removal__isnull=True)
        .order_by("id")
        .values_list("okr__squad__key", "goal__key")
    )
    serving: dict[str, list[str]] = defaultdict(list)
    served: dict[str, list[str]] = defaultdict(list)
    for squad_key, goal_key in links:
        serving[goal_key].append(squad_key)
        served[squad_key].append(goal_key)
    snap.goals = [
        GoalFacts(key=key, name=name, served_by=tuple(sorted(set(serving[key]))))
        for key, name in Goal.objects.filter(
            starts_year__lte=cycle.ends.year, ends_year__gte=cycle.starts.year
        )
        .order_by("position", "starts_year", "id")
        .values_list("key", "name")
    ]
    snap.objectives = [
        ObjectiveFacts(squad=key, objective=objective, goals=tuple(served[key]))
        for key, objective in OKR.objects.filter(
            cycle=cycle, squad__cycle=cycle, squad__removal__isnull=True
        )
        .order_by("id")
        .values_list("squad__key", "objective")
    ]

    snap.segments = {
        key: SegmentFacts(key=key, name=name, success_threshold=threshold, success_unit=unit)
        for key, name, threshold, unit in Segment.objects.order_by("id").values_list(
            "key", "name", "success_threshold", "success_unit"
        )
    }
    journey_segments: dict[str, list[str]] = defaultdict(list)
    for journey, segment in (
        JourneySegment.objects.filter(journey__removal__isnull=True)
        .order_by("id")
        .values_list("journey__key", "segment__key")
    ):
        journey_segments[journey].append(segment)
    snap.journey_segments = {k: tuple(v) for k, v in journey_segments.items()}

    latest = MilestoneReading.objects.filter(milestone=OuterRef("pk")).order_by(
        "-measured_on", "-id"
    )
    snap.milestones = [
        MilestoneFacts(
            segment=segment,
            key=key,
            name=name,
            expected_day=expected_day,
            # A moment of a removed stage or journey is not on the map any more.
            moment=(
                f"{journey}/{stage}/{moment or f'm-{moment_id}'}"
                if moment_id and stage_gone is None and journey_gone is None
                else None
            ),
            success=success,
            latest=ReadingFacts(on, days, rate) if on is not None else None,
        )
        for (
            segment,
            key,
            name,
            expected_day,
            journey,
            stage,
            moment_id,
            moment,
            stage_gone,
            journey_gone,
            success,
            on,
            days,
            rate,
        ) in Milestone.objects.annotate(
            latest_on=Subquery(latest.values("measured_on")[:1]),
            latest_days=Subquery(latest.values("actual_days")[:1]),
            latest_rate=Subquery(latest.values("completion_rate")[:1]),
        )
        .order_by("segment_id", "expected_day", "position", "id")
        .values_list(
            "segment__key",
            "key",
            "name",
            "expected_day",
            "moment__stage__journey__key",
            "moment__stage__key",
            "moment_id",
            "moment__key",
            "moment__stage__removal",
            "moment__stage__journey__removal",
            "success",
            "latest_on",
            "latest_days",
            "latest_rate",
        )
    ]
    serves: dict[str, list[str]] = defaultdict(list)
    for squad_key, key, segment, milestone in (
        InitiativeMilestone.objects.filter(
            initiative__squad__cycle=cycle,
            initiative__removal__isnull=True,
            initiative__squad__removal__isnull=True,
        )
        .order_by("id")
        .values_list(
            "initiative__squad__key", "initiative__key", "milestone__segment__key", "milestone__key"
        )
    ):
        serves[f"{squad_key}/{key}"].append(f"{segment}/{milestone}")
    if serves:
        snap.initiatives = [
            replace(i, milestones=tuple(serves[i.ref])) if i.ref in serves else i
            for i in snap.initiatives
        ]
        snap._by_ref = None

    touchpoints: dict[int, list[TouchpointFacts]] = defaultdict(list)
    for moment_id, channel, function, squad_key, squad_name, squad_gone, segment in (
        Touchpoint.objects.filter(
            moment__stage__removal__isnull=True, moment__stage__journey__removal__isnull=True
        )
        .order_by("moment_id", "position", "id")
        .values_list(
            "moment_id",
            "channel",
            "function",
            "squad__key",
            "squad__name",
            "squad__removal",
            "segment__key",
        )
    ):
        function = " ".join((function or "").split())
        if squad_key and squad_gone is None:
            speaker, name = f"squad:{squad_key}", squad_name
        elif function:
            speaker, name = f"function:{function.casefold()}", function
        else:
            speaker, name = "", ""
        touchpoints[moment_id].append(TouchpointFacts(channel, speaker, name, segment))
    snap.moments = [
        MomentFacts(
            journey=journey,
            stage=stage,
            key=key or f"m-{pk}",
            when=when,
            touchpoints=tuple(touchpoints[pk]),
        )
        for pk, journey, stage, key, when in Moment.objects.filter(
            stage__removal__isnull=True, stage__journey__removal__isnull=True
        )
        .order_by(
            "stage__journey_id", "stage__position", "stage_id", "offset_days", "position", "id"
        )
        .values_list("pk", "stage__journey__key", "stage__key", "key", "when")
    ]
