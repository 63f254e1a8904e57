"""A plain, read-only picture of one planning cycle: what the review reasons about.

The review's rules take a Snapshot and never touch the database, so each rule can be tested
with plain objects and the whole review can run over a cycle loaded in a handful of queries.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db.models import Q

from core.models import Capacity, Cycle
from dependencies.models import Dependency
from journeys.models import Stage
from planning.models import OverlapVerdict
from planning.overlap_verdicts import VerdictFacts, text_of
from squads.models import Initiative, KeyResult, Membership, Squad, SquadStage


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

    def initiative(self, ref: str) -> InitiativeFacts | None:
        return self._initiatives_by_ref().get(ref) or self.provider_initiatives.get(ref)

    def _initiatives_by_ref(self) -> dict[str, InitiativeFacts]:
        cached = getattr(self, "_by_ref", None)
        if cached is None:
            cached = {i.ref: i for i in self.initiatives}
            self._by_ref = cached
        return cached


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

    deps = Dependency.objects.filter(from_squad__cycle=cycle) | Dependency.objects.filter(
        from_initiative__squad__cycle=cycle
    )
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
        StageFacts(ref=f"{journey}/{key}", name=name, journey=journey, journey_name=journey_name)
        for journey, key, name, journey_name in Stage.objects.order_by(
            "journey_id", "position", "id"
        ).values_list("journey__key", "key", "name", "journey__name")
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

    usernames = {s.dri for s in snap.squads} | {m for s in snap.squads for m in s.members}
    usernames |= {d.owner for d in snap.dependencies if d.owner}
    snap.people = {
        username: name or username
        for username, name in get_user_model()
        .objects.filter(username__in=usernames)
        .values_list("username", "profile__display_name")
    }
    return snap
