"""Acting on a finding where it is: the writes behind the actions a finding's page offers.

Each action changes the plan through the service of the app that owns what changes
(squads: initiatives and which squad covers a stage; dependencies: the dependency's
lifecycle), puts a line on the finding's timeline saying who did what, and happens in one
transaction: all of it, or nothing and a sentence saying why. Who may take which action is
core.access's to say; the views ask it before calling these.

- Overlap findings: "one squad leads" (every other initiative of the finding depends on the
  lead's, or is dropped), "not the same work", or "related, keep both". Each remembers a
  verdict for every pair of the finding's initiatives from different squads
  (OverlapVerdict), which the review respects (planning/overlap_verdicts.py).
- An unowned stage: a squad of the cycle covers it from now on.
- A finding about one dependency: the provider's answer (accept, decline, at risk) or a new
  due date from the needing side, each where the dependency's lifecycle allows it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from itertools import combinations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from core import versioning
from core.people import display_name
from core.validators import is_blank
from dependencies import services as dependency_services
from dependencies.models import Dependency
from journeys.models import Stage
from planning.models import DEPENDENCY_RULES, Finding, FindingEvent, OverlapVerdict
from planning.services import finding_event_record
from squads import services as squad_services
from squads.models import Initiative, Squad

OVERLAP_RULE = "similar_initiatives"
STAGE_RULE = "unowned_stage"
# One decision covers at most this many initiatives: each pair of them gets a verdict.
MAX_OVERLAP_INITIATIVES = 20
REASON_MAX_LENGTH = 2000

DEPEND, DROP = "depend", "drop"
FATES = {DEPEND: "Builds on the lead's work", DROP: "Dropped"}
DEPENDENCY_ACTIONS = ("accept", "decline", "at_risk", "move")
_LIVE = (Finding.State.OPEN, Finding.State.ACKNOWLEDGED)
_EVENT_FOR_ANSWER = {
    "accept": FindingEvent.Action.DEPENDENCY_ACCEPTED,
    "decline": FindingEvent.Action.DEPENDENCY_DECLINED,
    "at_risk": FindingEvent.Action.DEPENDENCY_AT_RISK,
    "move": FindingEvent.Action.DEPENDENCY_MOVED,
}


# --- what a finding is about, as it is now ------------------------------------------------


def _values(finding: Finding, kind: str) -> list[str]:
    prefix = f"{kind}:"
    return [s[len(prefix) :] for s in finding.subjects or () if s.startswith(prefix)]


def overlap_initiatives(finding: Finding) -> list[Initiative]:
    """The initiatives an overlap finding names that still exist in its cycle, in the
    order of its subjects (dropped ones included: the caller decides)."""
    refs = _values(finding, "initiative")[: MAX_OVERLAP_INITIATIVES + 1]
    query = Q()
    for ref in refs:
        squad_key, _, key = ref.partition("/")
        query |= Q(squad__key=squad_key, key=key)
    if not refs:
        return []
    found = {
        i.ref: i
        for i in Initiative.objects.filter(query, squad__cycle_id=finding.cycle_id).select_related(
            "squad__dri__profile"
        )
    }
    return [found[ref] for ref in refs if ref in found]


def overlap_settles_here(finding: Finding) -> bool:
    """Whether the finding names few enough initiatives to be settled in one step."""
    return len(_values(finding, "initiative")) <= MAX_OVERLAP_INITIATIVES


def finding_dependency(finding: Finding) -> Dependency | None:
    """The one dependency a blocker finding is about, with what answering it needs."""
    keys = _values(finding, "dependency")
    if finding.rule not in DEPENDENCY_RULES or len(keys) != 1:
        return None
    return (
        Dependency.objects.select_related(
            "from_squad", "from_initiative__squad", "to_squad", "to_initiative__squad"
        )
        .filter(key=keys[0])
        .first()
    )


def finding_stage(finding: Finding) -> Stage | None:
    """The journey stage an ownership-gap finding says nobody covers."""
    refs = _values(finding, "stage")
    if finding.rule != STAGE_RULE or len(refs) != 1:
        return None
    journey, _, key = refs[0].partition("/")
    return Stage.objects.select_related("journey").filter(journey__key=journey, key=key).first()


def _locked_live(finding: Finding, rule: str | tuple[str, ...]) -> Finding:
    """The finding, locked until the transaction ends, still waiting for someone to act."""
    locked = Finding.objects.select_for_update().filter(pk=finding.pk).first()
    if locked is None:
        raise ValidationError("This finding no longer exists; nothing was changed.")
    rules = (rule,) if isinstance(rule, str) else rule
    if locked.rule not in rules:
        raise ValidationError("This action does not apply to this finding.")
    if locked.state not in _LIVE:
        raise ValidationError(
            f"This finding is {locked.get_state_display().lower()} now; nothing was changed."
        )
    return locked


def _close(finding: Finding, *, state: str, by, now: dt.datetime, reason: str = "") -> None:
    Finding.objects.filter(pk=finding.pk).update(
        state=state, dismissed_reason=reason, state_changed_by=by, state_changed_at=now
    )
    finding.state = state
    finding.dismissed_reason = reason
    finding.state_changed_by = by
    finding.state_changed_at = now


def _names(initiatives: list[Initiative]) -> str:
    names = [f"{i.title} ({i.squad.name})" for i in initiatives]
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


def _remember(
    *,
    finding: Finding,
    initiatives: list[Initiative],
    verdict: str,
    by,
    now: dt.datetime,
    reason: str = "",
) -> int:
    """A verdict for each pair of these initiatives from different squads, with their texts
    as they are now; it replaces an earlier verdict on the pair. How many pairs."""
    ordered = sorted(initiatives, key=lambda i: i.pk)
    ids = [i.pk for i in ordered]
    OverlapVerdict.objects.filter(first_id__in=ids, second_id__in=ids).delete()
    pairs = [(a, b) for a, b in combinations(ordered, 2) if a.squad_id != b.squad_id]
    for first, second in pairs:
        # One by one: each save queues the cycle's review (planning/changes.py).
        OverlapVerdict.objects.create(
            cycle_id=finding.cycle_id,
            first=first,
            second=second,
            verdict=verdict,
            first_title=first.title,
            first_description=first.description,
            second_title=second.title,
            second_description=second.description,
            reason=reason,
            finding=finding,
            by=by,
            at=now,
        )
    return len(pairs)


def _check_seen(initiatives: list[Initiative], versions: Mapping[int, int | None]) -> None:
    """Lock the initiatives; if any moved past the version the person saw (or they sent
    none), refuse, naming who changed it. Their `version` becomes the one saved now."""
    current = dict(
        Initiative.objects.select_for_update()
        .filter(pk__in=[i.pk for i in initiatives])
        .values_list("pk", "version")
    )
    for initiative in initiatives:
        initiative.version = current[initiative.pk]
        if versions.get(initiative.pk) != initiative.version:
            raise _changed_since(initiative)


def _changed_since(initiative: Initiative) -> ValidationError:
    entry = versioning.saved_entry(Initiative, initiative.pk, "version", initiative.version)
    who = display_name(entry.history_user) if entry and entry.history_user else "Someone"
    return ValidationError(
        f"{who} changed “{initiative.title}” after you opened this finding; nothing was "
        "changed. Look at it again and decide."
    )


# --- overlap: one squad leads ---------------------------------------------------------------


@dataclass
class LeadOutcome:
    finding: Finding
    lead: Initiative
    dependencies: list[Dependency] = field(default_factory=list)
    # Of those, the ones that were on the board already, kept with their own dates.
    kept: list[Dependency] = field(default_factory=list)
    dropped: list[Initiative] = field(default_factory=list)
    summary: str = ""


def lead_what(lead: Initiative) -> str:
    """What the other initiatives need from the lead's, by default."""
    return f"{lead.title} (led by {lead.squad.name})"


def finding_lead(
    *,
    finding: Finding,
    lead: Initiative,
    fates: Mapping[int, str],
    versions: Mapping[int, int | None],
    due: dt.date | None = None,
    by,
) -> LeadOutcome:
    """One squad leads the overlapping work: every other live initiative of the finding
    either depends on the lead's (from it, to the lead's, due `due` or when the lead's ends)
    or is dropped, as `fates` (initiative id -> DEPEND or DROP) says. `versions` are the
    initiatives' versions the person saw: if any moved since, nothing is written. The pairs
    are remembered as the same work and the finding is resolved, saying what was done."""
    now = timezone.now()
    with transaction.atomic():
        locked = _locked_live(finding, OVERLAP_RULE)
        initiatives = overlap_initiatives(locked)
        if len(initiatives) > MAX_OVERLAP_INITIATIVES:
            raise ValidationError(
                f"This finding names more than {MAX_OVERLAP_INITIATIVES} initiatives; settle "
                "it in smaller steps on the squads' plans."
            )
        live = [i for i in initiatives if i.status != Initiative.Status.DROPPED]
        if lead.pk not in {i.pk for i in live}:
            raise ValidationError(
                {"lead": "Choose the lead among this finding's live initiatives."}
            )
        others = [i for i in live if i.pk != lead.pk]
        if not others:
            raise ValidationError("No other initiative of this finding is left to fold in.")
        _check_seen(live, versions)
        missing = [i for i in others if fates.get(i.pk) not in FATES]
        if missing:
            raise ValidationError(
                {
                    "fates": f"Say what becomes of {_names(missing)}: it builds on the lead's work "
                    "or is dropped."
                }
            )
        lead = next(i for i in live if i.pk == lead.pk)
        due = due or lead.ends
        outcome = LeadOutcome(finding=locked, lead=lead)
        reason = versioning.change_reason(f"{lead.squad.name} leads this work (overlap finding)")
        for other in others:
            if fates[other.pk] == DROP:
                try:
                    squad_services.initiative_drop(
                        initiative=other, by=by, version=other.version, reason=reason
                    )
                except versioning.Conflict:
                    raise _changed_since(other) from None
                outcome.dropped.append(other)
                continue
            existing = (
                Dependency.objects.filter(from_initiative=other, to_initiative=lead)
                .exclude(status=Dependency.Status.DECLINED)
                .select_related("from_initiative__squad")
                .first()
            )
            if existing is not None:
                outcome.kept.append(existing)
            else:
                existing = dependency_services.dependency_create(
                    by=by,
                    from_initiative=other,
                    to_initiative=lead,
                    what=lead_what(lead),
                    due=due,
                    owner=lead.squad.dri,
                    note=(
                        f"{lead.squad.name} leads this work, as {display_name(by)} recorded "
                        f"from an overlap finding: “{other.title}” builds on it instead of "
                        "doing the same work again."
                    ),
                )
            outcome.dependencies.append(existing)
        _remember(
            finding=locked, initiatives=live, verdict=OverlapVerdict.Verdict.SAME, by=by, now=now
        )
        parts = [f"{lead.title} ({lead.squad.name}) leads."]
        building = [d.from_initiative for d in outcome.dependencies if d not in outcome.kept]
        if building:
            parts.append(f"Building on it, due {due:%d %b %Y}: {_names(building)}.")
        if outcome.kept:
            already = "; ".join(
                f"{_names([d.from_initiative])}, due {d.due:%d %b %Y}" for d in outcome.kept
            )
            parts.append(f"Already building on it: {already}.")
        if outcome.dropped:
            parts.append(f"Dropped: {_names(outcome.dropped)}.")
        outcome.summary = " ".join(parts)
        _close(locked, state=Finding.State.RESOLVED, by=by, now=now)
        finding_event_record(
            finding=locked, action=FindingEvent.Action.LEAD, by=by, summary=outcome.summary, at=now
        )
    return outcome


# --- overlap: not the same work, or related and both kept ---------------------------------------


def finding_judge_overlap(
    *,
    finding: Finding,
    verdict: str,
    versions: Mapping[int, int | None],
    by,
    reason: str = "",
) -> Finding:
    """Remember that the finding's initiatives are not the same work (the finding is
    resolved), or are related work both squads keep (dismissed with `reason`, required).
    Either way the review does not raise those pairs again while their texts stay as they
    are now, give or take small edits. `versions` are the initiatives' versions the person
    saw: the texts remembered are those they judged, so if any moved since, nothing is
    written."""
    reason = (reason or "").strip()
    if verdict not in (OverlapVerdict.Verdict.NOT_SAME, OverlapVerdict.Verdict.RELATED):
        raise ValidationError("Say whether the work is not the same, or related and kept.")
    if verdict == OverlapVerdict.Verdict.RELATED and is_blank(reason):
        raise ValidationError({"reason": "Say why both squads keep their work."})
    if len(reason) > REASON_MAX_LENGTH:
        raise ValidationError({"reason": f"Keep it under {REASON_MAX_LENGTH} characters."})
    now = timezone.now()
    with transaction.atomic():
        locked = _locked_live(finding, OVERLAP_RULE)
        initiatives = overlap_initiatives(locked)
        if len(initiatives) > MAX_OVERLAP_INITIATIVES:
            raise ValidationError(
                f"This finding names more than {MAX_OVERLAP_INITIATIVES} initiatives; judge "
                "it in smaller steps."
            )
        live = [i for i in initiatives if i.status != Initiative.Status.DROPPED]
        if len({i.squad_id for i in live}) < 2:
            raise ValidationError(
                "Fewer than two squads' initiatives of this finding are left; the next "
                "review will resolve it."
            )
        _check_seen(live, versions)
        pairs = _remember(
            finding=locked, initiatives=live, verdict=verdict, by=by, now=now, reason=reason
        )
        noun = "pair" if pairs == 1 else "pairs"
        if verdict == OverlapVerdict.Verdict.NOT_SAME:
            summary = (
                f"Not the same work: {_names(live)}. The review leaves these {pairs} {noun} "
                "out until one of their texts changes materially."
            )
            _close(locked, state=Finding.State.RESOLVED, by=by, now=now)
            action = FindingEvent.Action.NOT_SAME
        else:
            summary = f"Related work, both kept: {reason}"
            _close(locked, state=Finding.State.DISMISSED, by=by, now=now, reason=reason)
            action = FindingEvent.Action.RELATED
        finding_event_record(finding=locked, action=action, by=by, summary=summary, at=now)
    return locked


# --- ownership gap: a squad covers the stage ----------------------------------------------------


def finding_stage_cover(*, finding: Finding, squad: Squad, by) -> Finding:
    """The squad covers the stage nobody covered; the finding is resolved."""
    now = timezone.now()
    with transaction.atomic():
        locked = _locked_live(finding, STAGE_RULE)
        stage = finding_stage(locked)
        if stage is None:
            raise ValidationError("This stage no longer exists; nothing was changed.")
        if squad.cycle_id != locked.cycle_id:
            raise ValidationError({"squad": "Choose a squad of this finding's cycle."})
        squad_services.squad_stage_cover(
            squad=squad, stage=stage, by=by, reason="Assigned from an ownership-gap finding"
        )
        summary = f"{squad.name} covers the {stage.name} stage of {stage.journey.name} now."
        _close(locked, state=Finding.State.RESOLVED, by=by, now=now)
        finding_event_record(
            finding=locked,
            action=FindingEvent.Action.STAGE_COVERED,
            by=by,
            summary=summary,
            at=now,
        )
    return locked


# --- a finding about one dependency -------------------------------------------------------------


def finding_dependency_act(
    *,
    finding: Finding,
    dependency: Dependency,
    action: str,
    by,
    note: str = "",
    seen_status: str | None = None,
    due: dt.date | None = None,
    version: int | None = None,
) -> Dependency:
    """Answer the finding's dependency (accept; decline or mark at risk, with a note) or
    move its due date, through the dependency's own services and their checks. The finding
    stays as it is: the next review tells whether that settled it."""
    if action not in DEPENDENCY_ACTIONS:
        raise ValidationError("Accept, decline, mark at risk or move the due date.")
    note = (note or "").strip()
    if action in ("decline", "at_risk") and is_blank(note):
        word = "you decline" if action == "decline" else "it is at risk"
        raise ValidationError({"note": f"Say why {word}, so the squads can re-plan."})
    now = timezone.now()
    was = dependency.due
    with transaction.atomic():
        locked = _locked_live(finding, DEPENDENCY_RULES)
        if action == "move":
            try:
                dependency_services.dependency_move_due(
                    dependency=dependency, by=by, due=due, version=version
                )
            except versioning.Conflict as stale:
                raise ValidationError(
                    f"{display_name(stale.saved_by) if stale.saved_by else 'Someone'} changed "
                    "this dependency after you opened this finding (it is due on "
                    f"{stale.current.due:%d %b %Y} now); nothing was changed."
                ) from None
            summary = f"Moved “{dependency.what}” from {was:%d %b %Y} to {due:%d %b %Y}."
        else:
            dependency_services.dependency_respond(
                dependency=dependency,
                by=by,
                action=action,
                reason=note,
                seen_status=seen_status,
                now=now,
            )
            summary = {
                "accept": f"Accepted “{dependency.what}”.",
                "decline": f"Declined “{dependency.what}”: {note}",
                "at_risk": f"Marked “{dependency.what}” at risk: {note}",
            }[action]
        finding_event_record(
            finding=locked, action=_EVENT_FOR_ANSWER[action], by=by, summary=summary, at=now
        )
    return dependency
