"""What the season pages read: the cycles, a cycle's readiness to commit, its drift since
commit, and what may carry forward from it. Each a fixed number of queries, whatever the
number of squads (tests/test_season.py counts them)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, Exists, OuterRef, Q, Sum
from django.urls import reverse
from django.utils import timezone

from core import access
from core.drift import Drift, Item, compare
from core.models import Capacity, Cycle
from core.people import display_name
from dependencies.models import OPEN_STATUSES, BoardFilters, Dependency
from dependencies.presenters import board_url
from dependencies.selectors import dependency_drift, latest_baseline
from journeys.models import Stage
from planning.models import BaselineInitiative, CycleBaseline, CycleEvent, Finding
from squads.models import OKR, Initiative, KeyResult, Plan, Squad, SquadStage

# Each readiness check lists at most this many items; the rest are counted.
SHOWN = 100
UNFINISHED = ("done", "dropped")
# A blocking dependency stops blocking once its provider has accepted it or delivered it.
SETTLED = ("accepted", "done")


def cycles_for_list() -> list[Cycle]:
    """Every cycle, latest first, with how many squads each has: one query."""
    return list(Cycle.objects.annotate(squad_count=Count("squads")).order_by("-starts", "key"))


def cycle_history(cycle: Cycle) -> list[CycleEvent]:
    return list(
        CycleEvent.objects.filter(cycle=cycle)
        .select_related("by__profile", "source")
        .order_by("at", "id")
    )


# ---------------------------------------------------------------------------------------
# Readiness: what blocks committing
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Blocker:
    text: str
    url: str
    action: str  # what the link offers, e.g. "Set its baseline and target"


@dataclass
class Check:
    key: str
    title: str  # what must hold
    blockers: list[Blocker] = field(default_factory=list)
    more: int = 0  # blockers beyond those listed

    @property
    def count(self) -> int:
        return len(self.blockers) + self.more

    @property
    def clear(self) -> bool:
        return self.count == 0


@dataclass
class Readiness:
    checks: list[Check]

    @property
    def blocking(self) -> int:
        return sum(check.count for check in self.checks)

    @property
    def ready(self) -> bool:
        return self.blocking == 0


def _listed(check: Check, blockers: list[Blocker], total: int | None = None) -> Check:
    check.blockers = blockers[:SHOWN]
    check.more = (len(blockers) if total is None else total) - len(check.blockers)
    return check


def _finding_links(cycle: Cycle) -> dict[str, int]:
    """The live findings that say where to fix an uncovered stage or a function over
    capacity (their actions are there), by subject."""
    links: dict[str, int] = {}
    for pk, subjects in (
        Finding.objects.filter(
            cycle=cycle,
            rule__in=("unowned_stage", "over_capacity"),
            state__in=(Finding.State.OPEN, Finding.State.ACKNOWLEDGED),
        )
        .order_by("id")
        .values_list("pk", "subjects")
    ):
        for subject in subjects or ():
            if subject.startswith(("stage:", "function:")):
                links.setdefault(subject, pk)
    return links


def _coverage(cycle: Cycle, links: dict[str, int]) -> Check:
    covered = SquadStage.objects.filter(
        stage=OuterRef("pk"), squad__cycle=cycle, squad__removal__isnull=True
    )
    uncovered = (
        Stage.objects.filter(~Exists(covered))
        .select_related("journey")
        .order_by("journey__name", "journey_id", "position", "id")
    )
    blockers = []
    for stage in uncovered:
        finding = links.get(f"stage:{stage.ref}")
        if finding:
            url, action = reverse("finding_stage", args=[finding]), "Assign a squad"
        else:
            url = reverse("journeys:stage_cover", args=[stage.journey.key, stage.key])
            action = "Assign a squad"
        blockers.append(
            Blocker(
                text=f"No squad of {cycle.name} covers the {stage.name} stage of "
                f"{stage.journey.name}.",
                url=url,
                action=action,
            )
        )
    # Squads plan around the customer's journey: with no stage mapped there is nothing
    # for them to cover, which is not the same as every stage being covered.
    if not blockers and not Stage.objects.exists():
        blockers.append(
            Blocker(
                text="No journey has a stage yet: the squads have no customer journey to "
                "plan around.",
                url=reverse("journeys:list"),
                action="Map the journey",
            )
        )
    return _listed(Check("coverage", "Every journey stage is covered by a squad"), blockers)


def _squads_and_plans(cycle: Cycle) -> tuple[Check, Check]:
    squads = list(
        Squad.objects.filter(cycle=cycle)
        .select_related("dri__profile")
        .annotate(
            has_okr=Exists(OKR.objects.filter(squad=OuterRef("pk"), cycle=cycle)),
            approved=Exists(Plan.objects.filter(squad=OuterRef("pk"), approved_at__isnull=False)),
            key_results=Count("okrs__key_results", filter=Q(okrs__cycle=cycle), distinct=True),
        )
        .order_by("name", "id")
    )
    unmeasurable: dict[int, list[KeyResult]] = {}
    for kr in (
        KeyResult.objects.filter(okr__cycle=cycle, okr__squad__cycle=cycle)
        .filter(Q(baseline__isnull=True) | Q(target__isnull=True))
        .order_by("okr__squad_id", "id")
        .only("pk", "key", "name", "baseline", "target", "okr__squad_id")
        .select_related("okr")
    ):
        unmeasurable.setdefault(kr.okr.squad_id, []).append(kr)

    squad_blockers, plan_blockers = [], []
    if not squads:
        # Nothing to commit to: a cycle without squads has no plan yet.
        squad_blockers.append(
            Blocker(
                text=f"No squad has formed in {cycle.name} yet.",
                url=reverse("squads:create"),
                action="Form a squad",
            )
        )
    for squad in squads:
        detail = reverse("squads:detail", args=[squad.key])
        if not squad.dri.is_active:
            squad_blockers.append(
                Blocker(
                    text=f"{squad.name}'s DRI, {display_name(squad.dri)}, can no longer sign "
                    "in: hand the squad to another member.",
                    url=f"{detail}#members",
                    action="Hand over the DRI",
                )
            )
        if not squad.has_okr:
            squad_blockers.append(
                Blocker(
                    text=f"{squad.name} has no OKR for {cycle.name}.",
                    url=reverse("squads:okr_edit", args=[squad.key]),
                    action="Write its objective",
                )
            )
        elif not squad.key_results:
            squad_blockers.append(
                Blocker(
                    text=f"{squad.name}'s OKR has no key result.",
                    url=reverse("squads:kr_create", args=[squad.key]),
                    action="Add a key result",
                )
            )
        for kr in unmeasurable.get(squad.pk, ()):
            missing = " and no ".join(
                label
                for label, value in (("baseline", kr.baseline), ("target", kr.target))
                if value is None
            )
            squad_blockers.append(
                Blocker(
                    text=f"{squad.name}'s key result \u201c{kr.name}\u201d has no {missing}.",
                    url=reverse("squads:kr_edit", args=[squad.key, kr.key]),
                    action="Set its baseline and target",
                )
            )
        if not squad.approved:
            plan_blockers.append(
                Blocker(
                    text=f"The plan of {squad.name} is a draft: its DRI, "
                    f"{display_name(squad.dri)}, has not approved it.",
                    url=reverse("squads:plan", args=[squad.key]) + "#plan-status",
                    action="Open the plan",
                )
            )
    return (
        _listed(
            Check("squads", "Every squad has a DRI and an OKR whose key results are measurable"),
            squad_blockers,
        ),
        _listed(Check("plans", "Every squad's plan is approved by its DRI"), plan_blockers),
    )


def _dependencies(cycle: Cycle) -> Check:
    unsettled = (
        Dependency.objects.filtered(BoardFilters(today=timezone.localdate(), cycle_id=cycle.pk))
        .filter(blocking=True)
        .exclude(status__in=SETTLED)
        # Work the squad dropped blocks nothing any more.
        .exclude(from_initiative__status="dropped")
    )
    rows = list(
        unsettled.select_related(
            "from_squad", "from_initiative__squad", "to_squad", "to_initiative__squad"
        ).order_by("due", "id")[: SHOWN + 1]
    )
    total = len(rows) if len(rows) <= SHOWN else unsettled.count()
    blockers = []
    for dep in rows:
        provider = dep.provider_squad()
        blockers.append(
            Blocker(
                text=f"\u201c{dep.what}\u201d ({dep.key}), which {dep.needer_squad().name} "
                f"needs from {provider.name if provider else dep.to_function}, is "
                f"{dep.get_status_display().lower()}, not accepted.",
                url=board_url(dep=dep.key),
                action="See it on the board",
            )
        )
    return _listed(
        Check("dependencies", "Every blocking dependency is accepted or done"), blockers, total
    )


def _capacity(cycle: Cycle, links: dict[str, int]) -> Check:
    capacity = dict(Capacity.objects.filter(cycle=cycle).values_list("function", "headcount"))
    planned: dict[str, Decimal] = dict(
        Initiative.objects.filter(squad__cycle=cycle, function__in=list(capacity))
        .exclude(status="dropped")
        .order_by()
        .values("function")
        .annotate(total=Sum("headcount"))
        .values_list("function", "total")
    )
    blockers = []
    for function in sorted(capacity, key=str.casefold):
        total = planned.get(function) or Decimal(0)
        if total <= capacity[function]:
            continue
        blockers.append(
            Blocker(
                text=f"{function} has {_number(total)} people planned in {cycle.name} but can "
                f"staff {_number(capacity[function])}.",
                url=reverse("functions"),
                action="See capacity and plans",
            )
        )
    return _listed(Check("capacity", "Every function is within its capacity"), blockers)


def _number(value: Decimal) -> str:
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _findings(cycle: Cycle) -> Check:
    high = Finding.objects.filter(
        cycle=cycle, state=Finding.State.OPEN, severity=Finding.Severity.HIGH
    )
    rows = list(high.order_by("kind", "rule", "id").only("pk", "message")[: SHOWN + 1])
    total = len(rows) if len(rows) <= SHOWN else high.count()
    blockers = [
        Blocker(text=f.message, url=reverse("finding", args=[f.pk]), action="Triage it")
        for f in rows
    ]
    return _listed(
        Check("findings", "No high-severity finding is left open (acknowledged is fine)"),
        blockers,
        total,
    )


def readiness(cycle: Cycle) -> Readiness:
    """What blocks committing to the cycle's plan, each with where it is fixed."""
    links = _finding_links(cycle)
    squads, plans = _squads_and_plans(cycle)
    return Readiness(
        checks=[
            _coverage(cycle, links),
            squads,
            _dependencies(cycle),
            _capacity(cycle, links),
            plans,
            _findings(cycle),
        ]
    )


# ---------------------------------------------------------------------------------------
# Drift since commit
# ---------------------------------------------------------------------------------------


def _initiative_item(ref: str, title: str, starts, ends, status: str, squad: str) -> Item:
    return Item(ref=ref, name=title, dates=(starts, ends), out=status == "dropped", group=squad)


def initiative_drift(cycle: Cycle, baseline: CycleBaseline, *, squad: Squad | None = None):
    """The cycle's initiatives (or one squad's) against the baseline. Two queries."""
    before = BaselineInitiative.objects.filter(baseline=baseline)
    now = Initiative.objects.filter(squad__cycle=cycle)
    if squad is not None:
        before = before.filter(squad_key=squad.key)
        now = now.filter(squad=squad)
    return compare(
        (
            _initiative_item(f"{sk}/{k}", t, s, e, st, name)
            for sk, k, t, s, e, st, name in before.order_by("id").values_list(
                "squad_key", "key", "title", "starts", "ends", "status", "squad_name"
            )
        ),
        (
            _initiative_item(f"{sk}/{k}", t, s, e, st, name)
            for sk, k, t, s, e, st, name in now.order_by("id").values_list(
                "squad__key", "key", "title", "starts", "ends", "status", "squad__name"
            )
        ),
    )


@dataclass
class DriftReport:
    baseline: CycleBaseline
    initiatives: Drift
    dependencies: Drift
    # Changes to draft plans this person may not read (docs/permissions.md), left out.
    hidden: int = 0

    @property
    def count(self) -> int:
        return len(self.initiatives) + len(self.dependencies)


def _unreadable_squads(actor: access.Actor, cycle: Cycle) -> set[str]:
    """The keys of the cycle's squads whose draft plans this person may not read."""
    if not cycle.restrict_drafts or actor.is_leadership or actor.is_operations:
        return set()
    return set(
        Squad.objects.filter(cycle=cycle)
        .exclude(plan__approved_at__isnull=False)
        .exclude(pk__in=actor.member_of)
        .values_list("key", flat=True)
    )


def drift_report(cycle: Cycle, actor: access.Actor) -> DriftReport | None:
    """Everything that moved since the cycle's latest commit; None before any."""
    baseline = latest_baseline(cycle)
    if baseline is None:
        return None
    initiatives = initiative_drift(cycle, baseline)
    hidden_squads = _unreadable_squads(actor, cycle)
    hidden = 0
    if hidden_squads:
        for changes in (initiatives.added, initiatives.dropped, initiatives.moved):
            kept = [c for c in changes if c.ref.split("/", 1)[0] not in hidden_squads]
            hidden += len(changes) - len(kept)
            changes[:] = kept
    return DriftReport(
        baseline=baseline,
        initiatives=initiatives,
        dependencies=dependency_drift(cycle, baseline),
        hidden=hidden,
    )


def squad_drift(squad: Squad) -> DriftReport | None:
    """A squad's initiatives and the dependencies it needs, since its cycle's latest commit
    (for its plan page, which only those who may read the plan see)."""
    baseline = latest_baseline(squad.cycle)
    if baseline is None:
        return None
    return DriftReport(
        baseline=baseline,
        initiatives=initiative_drift(squad.cycle, baseline, squad=squad),
        dependencies=dependency_drift(squad.cycle, baseline, squad=squad),
    )


def baseline_dates(cycle: Cycle) -> dict[str, tuple[dt.date, dt.date]]:
    """Each initiative's dates as committed, by its reference ("squad/initiative"), from
    the cycle's latest baseline; those already dropped at commit are left out. Empty before
    the cycle's first commit. One query."""
    latest = CycleBaseline.objects.filter(cycle=cycle).order_by("-taken_at", "-id").values("pk")[:1]
    return {
        f"{squad_key}/{key}": (starts, ends)
        for squad_key, key, starts, ends in BaselineInitiative.objects.filter(baseline__in=latest)
        .exclude(status="dropped")
        .order_by("id")
        .values_list("squad_key", "key", "starts", "ends")
    }


# ---------------------------------------------------------------------------------------
# What may carry forward
# ---------------------------------------------------------------------------------------


@dataclass
class CarryKeyResult:
    kr: KeyResult
    reached: bool


@dataclass
class CarrySquad:
    squad: Squad
    initiatives: list[Initiative] = field(default_factory=list)
    dependencies: list[Dependency] = field(default_factory=list)
    key_results: list[CarryKeyResult] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.initiatives) + len(self.dependencies) + len(self.key_results)


def _reached(kr: KeyResult) -> bool:
    progress = kr.progress()
    return progress is not None and progress >= 1


def carry_candidates(cycle: Cycle) -> list[CarrySquad]:
    """Each squad of the cycle with its unfinished initiatives (neither done nor dropped),
    the open dependencies it needs, and its key results (whether each reached its target).
    Four queries."""
    squads = {
        s.pk: CarrySquad(squad=s)
        for s in Squad.objects.filter(cycle=cycle)
        .select_related("dri__profile")
        .order_by("name", "id")
    }
    for initiative in (
        Initiative.objects.filter(squad__cycle=cycle)
        .exclude(status__in=UNFINISHED)
        .order_by("starts", "title", "id")
    ):
        squads[initiative.squad_id].initiatives.append(initiative)
    for dep in (
        Dependency.objects.filtered(BoardFilters(today=timezone.localdate(), cycle_id=cycle.pk))
        .filter(status__in=OPEN_STATUSES)
        .select_related("to_squad", "to_initiative__squad")
        .order_by("due", "id")
    ):
        squads[dep.needer_id].dependencies.append(dep)
    for kr in (
        KeyResult.objects.filter(okr__cycle=cycle, okr__squad__cycle=cycle)
        .select_related("okr")
        .order_by("okr__squad_id", "id")
    ):
        squads[kr.okr.squad_id].key_results.append(CarryKeyResult(kr=kr, reached=_reached(kr)))
    return list(squads.values())
