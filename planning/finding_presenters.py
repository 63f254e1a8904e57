"""What the findings pages show beyond the finding itself: the actions each finding offers
the person looking (only those core.access allows them), the names and places of the
subjects of customer outcomes (goals, segments, milestones, moments), a finding's timeline,
and how past findings ended. Reads only; the writes are planning/finding_actions.py's."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Count, F, Q
from django.db.models.functions import Coalesce
from django.urls import reverse

from core import access
from core.people import display_name
from dependencies.models import Dependency
from journeys.models import Milestone, Segment
from journeys.models import Moment as JourneyMoment
from planning.finding_actions import OVERLAP_RULE, STAGE_RULE, overlap_settles_here
from planning.models import DEPENDENCY_RULES, Finding, FindingEvent
from squads.models import Goal

# How many ended findings the findings page lists.
RECENT_OUTCOMES = 10


@dataclass(frozen=True)
class Offer:
    """One action a finding offers: a button that posts, or a link that opens its form."""

    action: str
    label: str
    url: str
    post: bool = False
    was: str = ""  # the dependency's status as shown, for an answer posted at once
    # (name, value) of hidden fields an answer posted at once sends: what was shown
    hidden: tuple[tuple[str, str], ...] = ()


def _url(name: str, finding: Finding, *args) -> str:
    return reverse(name, args=[finding.pk, *args])


def _overlap_offers(finding: Finding) -> list[Offer]:
    seen = tuple(
        (f"version_{pk}", str(version))
        for pk, version in getattr(finding, "initiative_versions", ())
    )
    return [
        Offer("lead", "One squad leads…", _url("finding_lead", finding)),
        Offer(
            "not_same",
            "Not the same work",
            _url("finding_not_same", finding),
            post=True,
            hidden=seen,
        ),
        Offer("related", "Related, keep both…", _url("finding_related", finding)),
    ]


def _dependency_offers(finding: Finding, dep: Dependency, actor: access.Actor) -> list[Offer]:
    offers = []
    if access.can_respond_dependency(actor, dep):
        if dep.may_become(Dependency.Status.ACCEPTED):
            url = _url("finding_dependency", finding, "accept")
            offers.append(Offer("accept", "Accept", url, post=True, was=dep.status))
        if dep.may_become(Dependency.Status.DECLINED):
            offers.append(
                Offer("decline", "Decline…", _url("finding_dependency", finding, "decline"))
            )
        if dep.may_become(Dependency.Status.AT_RISK):
            offers.append(
                Offer("at_risk", "At risk…", _url("finding_dependency", finding, "at_risk"))
            )
    if access.can_edit_dependency(actor, dep) and dep.is_open():
        offers.append(
            Offer("move", "Move the due date…", _url("finding_dependency", finding, "move"))
        )
    return offers


def decorate(findings: list[Finding], actor: access.Actor) -> None:
    """Give each finding `offers` (what this person may do about it from here) and
    `last_action` (the latest thing someone did from it), in two queries at most."""
    keys = {}
    for finding in findings:
        deps = [s.split(":", 1)[1] for s in finding.subjects or () if s.startswith("dependency:")]
        if finding.rule in DEPENDENCY_RULES and finding.is_live and len(deps) == 1:
            keys[finding.pk] = deps[0]
    dependencies = {}
    if keys:
        dependencies = {
            d.key: d
            # The providing squad too: whether it was removed decides who answers.
            for d in Dependency.objects.filter(key__in=set(keys.values())).select_related(
                "from_initiative", "to_squad", "to_initiative__squad"
            )
        }
    latest = {}
    if findings:
        for event in (
            FindingEvent.objects.acted()
            .filter(finding__in=[f.pk for f in findings])
            .select_related("by__profile")
            .order_by("finding_id", "-at", "-id")
        ):
            latest.setdefault(event.finding_id, event)
    for finding in findings:
        finding.last_action = latest.get(finding.pk)
        offers: list[Offer] = []
        if finding.is_live:
            if (
                finding.rule == OVERLAP_RULE
                and overlap_settles_here(finding)
                and access.can_triage_finding(actor, finding)
            ):
                offers = _overlap_offers(finding)
            elif finding.rule == STAGE_RULE and access.can_cover_stage(actor):
                offers = [Offer("stage", "Assign a squad…", _url("finding_stage", finding))]
            elif finding.pk in keys and keys[finding.pk] in dependencies:
                offers = _dependency_offers(finding, dependencies[keys[finding.pk]], actor)
        finding.offers = offers


# --- the subjects of customer outcomes -----------------------------------------------------


def outcome_subjects(wanted: dict[str, set[str]]) -> tuple[dict, dict, dict, dict]:
    """Goals by key (their names), and segments, milestones and moments by reference (their
    names and where each is shown), one query per kind present."""
    goals: dict[str, str] = {}
    segments: dict[str, tuple[str, str]] = {}
    milestones: dict[str, tuple[str, str]] = {}
    moments: dict[str, tuple[str, str]] = {}
    page = reverse("segments")
    if wanted["goal"]:
        goals = dict(Goal.objects.filter(key__in=wanted["goal"]).values_list("key", "name"))
    if wanted["segment"]:
        segments = {
            key: (name, f"{page}#segment-{pk}")
            for key, name, pk in Segment.objects.filter(key__in=wanted["segment"]).values_list(
                "key", "name", "pk"
            )
        }
    if wanted["milestone"]:
        pairs = [ref.split("/", 1) for ref in wanted["milestone"] if "/" in ref]
        for segment_key, key, name, segment_name, pk in Milestone.objects.filter(
            segment__key__in={a for a, _ in pairs}, key__in={b for _, b in pairs}
        ).values_list("segment__key", "key", "name", "segment__name", "segment_id"):
            milestones[f"{segment_key}/{key}"] = (
                f"{name} ({segment_name})",
                f"{page}#segment-{pk}",
            )
    if wanted["moment"]:
        parts = [ref.split("/", 2) for ref in wanted["moment"] if ref.count("/") == 2]
        for journey, stage, key, when, stage_name in JourneyMoment.objects.filter(
            stage__journey__key__in={p[0] for p in parts},
            stage__key__in={p[1] for p in parts},
            key__in={p[2] for p in parts},
            stage__removal__isnull=True,
            stage__journey__removal__isnull=True,
        ).values_list("stage__journey__key", "stage__key", "key", "when", "stage__name"):
            url = reverse("journeys:detail", args=[journey]) + f"#moment-{journey}-{stage}-{key}"
            moments[f"{journey}/{stage}/{key}"] = (f"{when} ({stage_name})", url)
    return goals, segments, milestones, moments


# --- a finding's timeline -------------------------------------------------------------------


@dataclass(frozen=True)
class Moment:
    at: dt.datetime
    who: str  # "" when the review did it
    what: str
    summary: str = ""


def timeline(finding: Finding, *, limit: int = 100) -> list[Moment]:
    """Who did what to the finding and when, oldest first, from the review's first sight of
    it; the latest `limit` lines."""
    events = list(
        FindingEvent.objects.filter(finding=finding)
        .select_related("by__profile")
        .order_by("-at", "-id")[:limit]
    )
    moments = [Moment(finding.first_seen, "", "Found by the review")]
    for event in reversed(events):
        who = display_name(event.by) if event.by else ""
        summary = event.summary if event.summary != finding.message else ""
        moments.append(Moment(event.at, who, event.get_action_display(), summary))
    return moments


# --- how findings ended ---------------------------------------------------------------------


@dataclass
class Outcomes:
    resolved_by_itself: int = 0
    resolved_by_people: int = 0
    dismissed: int = 0
    acted_on: int = 0
    recent: list[Finding] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.resolved_by_itself + self.resolved_by_people + self.dismissed


def outcomes(queryset) -> Outcomes:
    """How the findings of `queryset` ended and the latest few that ended or were acted on,
    each with `how` (a sentence), in three queries.

    Most findings of a cycle are live and few were acted on, so each query reads only the
    findings that ended (the index on cycle, state and severity finds them) and the
    actions people took, never every finding joined with its timeline."""
    # Named, not "not live": the index on (cycle, state, severity) finds these.
    ended = queryset.filter(state__in=[Finding.State.RESOLVED, Finding.State.DISMISSED])
    counts = ended.aggregate(
        resolved_by_itself=Count(
            "pk", filter=Q(state=Finding.State.RESOLVED, state_changed_by__isnull=True)
        ),
        resolved_by_people=Count(
            "pk", filter=Q(state=Finding.State.RESOLVED, state_changed_by__isnull=False)
        ),
        dismissed=Count("pk", filter=Q(state=Finding.State.DISMISSED)),
    )
    # What people did from these findings: the latest action of each.
    latest_action: dict[int, FindingEvent] = {}
    for event in (
        FindingEvent.objects.acted()
        .filter(finding__in=queryset.values("pk"))
        .select_related("by__profile")
        .order_by("finding_id", "-at", "-id")
    ):
        latest_action.setdefault(event.finding_id, event)
    result = Outcomes(**counts, acted_on=len(latest_action))
    if not latest_action and not result.total:
        return result  # nothing ended and nobody acted: nothing to list

    def ended_at(acted_at, changed_at, last_seen):
        # The later of its last action and its change of state.
        return max(acted_at or changed_at or last_seen, changed_at or acted_at or last_seen)

    # A finding nobody acted on ended when its state changed (or when the review last saw
    # it): the latest few of those are among the latest few + len(latest_action) of all.
    latest_ended = (
        ended.annotate(moment=Coalesce("state_changed_at", "last_seen"))
        .order_by(F("moment").desc(), "-id")
        .values("pk")[: RECENT_OUTCOMES + len(latest_action)]
    )
    candidates = (
        queryset.filter(Q(pk__in=latest_ended) | Q(pk__in=list(latest_action)))
        if latest_action
        else queryset.filter(pk__in=latest_ended)
    )
    recent = []
    for finding in candidates.select_related("state_changed_by__profile"):
        event = latest_action.get(finding.pk)
        finding.last_action = event
        finding.ended_at = ended_at(
            event.at if event else None, finding.state_changed_at, finding.last_seen
        )
        recent.append(finding)
    recent.sort(key=lambda finding: (finding.ended_at, finding.pk), reverse=True)
    result.recent = recent[:RECENT_OUTCOMES]
    for finding in result.recent:
        finding.how = _how(finding)
    return result


def _how(finding: Finding) -> str:
    event = finding.last_action
    if event is not None:
        who = display_name(event.by) if event.by else "Someone"
        return f"Acted on ({event.get_action_display().lower()}) by {who}: {event.summary}"
    if finding.state == Finding.State.DISMISSED:
        who = display_name(finding.state_changed_by) if finding.state_changed_by else "Someone"
        return f"Dismissed by {who}: {finding.dismissed_reason}"
    if finding.state_changed_by is not None:
        return f"Resolved by {display_name(finding.state_changed_by)}."
    return "Resolved by itself: the review no longer finds it."
