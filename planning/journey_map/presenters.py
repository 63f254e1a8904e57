"""Each stage's and moment's risk on the journey map: a line of counts, the items behind
it (each linked to where it lives), and whether it is at risk, with the reasons in words."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.urls import reverse
from django.utils import timezone

from core import access
from dependencies.models import Dependency
from planning.journey_map.selectors import RiskRows, risk_rows
from planning.models import Finding


@dataclass(frozen=True)
class Item:
    label: str
    url: str
    note: str = ""
    # Why this item puts its stage or moment at risk ("" when it does not).
    alarm: str = ""
    declined: bool = False  # a dependency its provider declined (no longer open)


@dataclass(frozen=True)
class Confidence:
    value: int
    key_result: str
    squad: str
    url: str

    @property
    def label(self) -> str:
        return f"confidence {self.value} of 10 ({self.key_result}, {self.squad})"


@dataclass
class Risk:
    """The risk of one stage or moment, for journeys/risk.html."""

    what: str  # "Onboarding" or "the Day 1 moment", for screen readers and headings
    anchor: str  # the risk's element id on the map
    squads: list[Item] = field(default_factory=list)
    initiatives: list[Item] = field(default_factory=list)
    dependencies: list[Item] = field(default_factory=list)
    findings: list[Item] = field(default_factory=list)
    confidence: Confidence | None = None

    @property
    def open_dependencies(self) -> int:
        return sum(1 for d in self.dependencies if not d.declined)

    @property
    def declined_dependencies(self) -> int:
        return len(self.dependencies) - self.open_dependencies

    @property
    def reasons(self) -> list[str]:
        """Why it is at risk, in words: each late or declined blocking dependency by name,
        then how many high-severity findings are open."""
        reasons = [item.alarm for item in self.dependencies if item.alarm]
        high = sum(1 for item in self.findings if item.alarm)
        if high == 1:
            reasons.append("a high-severity finding is open")
        elif high:
            reasons.append(f"{high} high-severity findings are open")
        return reasons

    @property
    def at_risk(self) -> bool:
        return bool(self.reasons)

    @property
    def line(self) -> str:
        parts = [_count(len(self.squads), "squad", none="no squad")]
        parts.append(_count(len(self.initiatives), "initiative", none="no initiatives"))
        if self.open_dependencies:
            noun = "blocking dependency" if self.open_dependencies == 1 else "blocking dependencies"
            parts.append(f"{self.open_dependencies} {noun} open")
        if self.declined_dependencies:
            noun = (
                "blocking dependency"
                if self.declined_dependencies == 1
                else "blocking dependencies"
            )
            parts.append(f"{self.declined_dependencies} {noun} declined")
        if self.findings:
            parts.append(_count(len(self.findings), "finding"))
        if self.confidence is not None:
            parts.append(f"lowest confidence {self.confidence.value}/10")
        return " · ".join(parts)


def _count(n: int, noun: str, *, none: str = "") -> str:
    if not n and none:
        return none
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _squad_item(squad) -> Item:
    return Item(squad.name, reverse("squads:detail", args=[squad.key]))


def _initiative_item(initiative) -> Item:
    url = reverse("squads:plan", args=[initiative.squad.key]) + f"#initiative-{initiative.key}"
    return Item(initiative.title, url, note=initiative.squad.name)


def _provider(dep: Dependency) -> str:
    if dep.to_squad_id:
        return dep.to_squad.name
    if dep.to_initiative_id:
        return dep.to_initiative.squad.name
    return dep.to_function


def _dependency_item(dep: Dependency, today) -> Item:
    url = reverse("board:board") + "?" + urlencode({"dep": dep.key})
    due = f"{dep.due.day} {dep.due:%b %Y}"
    if dep.status == Dependency.Status.DECLINED:
        return Item(
            dep.what,
            url,
            note=f"declined by {_provider(dep)}",
            alarm=f"a blocking dependency was declined ({dep.what})",
            declined=True,
        )
    past_due = dep.due < today
    note = f"from {_provider(dep)}, {dep.get_status_display().lower()}, due {due}"
    if past_due:
        return Item(
            dep.what,
            url,
            note=f"{note}, past due",
            alarm=f"a blocking dependency is past due ({dep.what})",
        )
    return Item(dep.what, url, note=note)


def _finding_item(finding: Finding) -> Item:
    alarm = ""
    if finding.severity == Finding.Severity.HIGH and finding.state == Finding.State.OPEN:
        alarm = "a high-severity finding is open"
    note = f"{finding.get_severity_display()} severity, {finding.get_state_display().lower()}"
    return Item(finding.message, reverse("finding", args=[finding.pk]), note=note, alarm=alarm)


def _lowest(rows: RiskRows, squads) -> Confidence | None:
    found = [kr for squad in squads for kr in rows.confidence.get(squad.pk, ())]
    if not found:
        return None
    kr = min(found, key=lambda k: (k.confidence, k.name, k.pk))
    url = reverse("squads:detail", args=[kr.okr.squad.key]) + f"#kr-{kr.key}"
    return Confidence(kr.confidence, kr.name, kr.okr.squad.name, url)


def _risk(
    what: str,
    anchor: str,
    own_ref: str,
    squads,
    initiatives,
    rows: RiskRows,
    findings_by_ref,
    today,
) -> Risk:
    deps = [dep for initiative in initiatives for dep in rows.needs.get(initiative.pk, ())]
    refs = [own_ref]
    refs += [f"initiative:{i.ref}" for i in initiatives]
    refs += [f"dependency:{dep.key}" for dep in deps]
    findings: dict[int, Finding] = {}
    for ref in refs:
        for finding in findings_by_ref.get(ref, ()):
            findings.setdefault(finding.pk, finding)
    return Risk(
        what=what,
        anchor=anchor,
        squads=[_squad_item(s) for s in squads],
        initiatives=[_initiative_item(i) for i in initiatives],
        dependencies=[_dependency_item(dep, today) for dep in deps],
        findings=[_finding_item(f) for f in sorted(findings.values(), key=_severity_first)],
        confidence=_lowest(rows, squads),
    )


_SEVERITY_RANK = {Finding.Severity.HIGH: 0, Finding.Severity.MEDIUM: 1, Finding.Severity.LOW: 2}


def _severity_first(finding: Finding) -> tuple:
    return (_SEVERITY_RANK.get(finding.severity, 3), finding.pk)


def attach_risk(actor: access.Actor, cycle, stages: list) -> None:
    """Set `risk` on each of `stages` and on each of their moments."""
    if cycle is None:
        return
    rows = risk_rows(actor, cycle, stages)
    today = timezone.localdate()
    findings_by_ref: dict[str, list[Finding]] = {}
    for finding in rows.findings:
        for subject in finding.subjects or ():
            findings_by_ref.setdefault(subject, []).append(finding)
    for stage in stages:
        squads = stage.cycle_squads
        stage.risk = _risk(
            stage.name,
            f"stage-{stage.pk}-risk",
            f"stage:{stage.ref}",
            squads,
            rows.by_stage.get(stage.pk, []),
            rows,
            findings_by_ref,
            today,
        )
        for moment in stage.moments.all():
            moment.risk = _risk(
                f"the {moment.when} moment",
                f"{moment.anchor}-risk",
                f"moment:{moment.ref}",
                squads,
                rows.by_moment.get(moment.pk, []),
                rows,
                findings_by_ref,
                today,
            )


def add_risk(sender, *, request, journey, stages, cycle, **kwargs) -> dict:
    """journeys.signals.map_drawn's receiver: the risk of each stage and moment drawn."""
    attach_risk(access.actor_for(request), cycle, stages)
    return {}
