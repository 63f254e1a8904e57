"""Co-writing a plan, the pages and endpoints around the editors (docs/cowriting.md):

- `plan_live`: the poll. Unchanged, it answers 204 (or 304 to If-None-Match) from the
  plan's stamp alone: a cache hit or one primary-key query, no session, no template. The
  page's signed token stands in for the sign-in there, and only there: whenever there is
  something to show, the person's session is checked as on any page.
- `plan_presence`: the editing page says which part it has open, and when it closes it.
- `plan_history` and `plan_restore`: every change to the plan's parts, and putting an
  earlier version back (itself a recorded change).
- `section_comments` and `initiative_comments`: the comment threads, with @mentions.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Q
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from core import access, versioning
from core.http import AuthedRequest
from core.merge import Piece, word_diff
from dependencies import services as dependency_services
from dependencies.models import Dependency
from journeys.models import Segment, Stage
from planning.plan.comments import thread_context
from planning.plan.presenters import (
    NOT_DOING,
    SECTIONS,
    Thread,
    arrangement,
    comment_threads,
    dependencies_context,
    dependency_create_link,
    initiative_or_404,
    initiatives_context,
    plan_for,
    section_template_and_context,
    thread_mark,
)
from planning.services import mentions_notify
from squads import access as squad_access
from squads import cowriting, services
from squads.forms import CommentForm, InitiativeForm, plain_number
from squads.models import OKR, Initiative, KeyResult, Plan, Squad

# ---------------------------------------------------------------------------------------
# The poll
# ---------------------------------------------------------------------------------------


def _unchanged(etag: str, status: int) -> HttpResponse:
    response = HttpResponse(status=status)
    response["ETag"] = f'"{etag}"'
    response["Cache-Control"] = "no-cache, private"
    return response


def _if_none_match(request) -> str:
    return request.headers.get("If-None-Match", "").removeprefix("W/").strip('"')


# The poll's signed token stands in for the sign-in for an unchanged answer only; whenever
# there is something to show, the session is checked here as on any page.
@login_not_required
@require_safe
def plan_live(request: AuthedRequest, key: str) -> HttpResponse:
    since = request.GET.get("since", "")
    known = _if_none_match(request)
    token = cowriting.read_poll_token(request.GET.get("t", ""))
    now = timezone.now()
    if token is not None:
        _user_id, squad_id = token
        stamp = cowriting.stamp(squad_id)
        if not stamp.presence_expired(now):
            if since == stamp.etag:
                return _unchanged(stamp.etag, 204)
            if known == stamp.etag:
                return _unchanged(stamp.etag, 304)
    # Something to say (or no token to trust): as any page, from the session.
    if not request.user.is_authenticated:
        return HttpResponse("Sign in again to see changes as they happen.", status=401)
    squad, _ = squad_access.get_plan_for_user(request, key)
    stamp = cowriting.stamp(squad.pk)
    if stamp.presence_expired(now):
        cowriting.presence_sweep(squad_id=squad.pk, now=now)
        stamp = cowriting.stamp(squad.pk)
        if stamp.presence_expired(now):  # a cached stamp from before the sweep
            stamp = cowriting.Stamp(stamp.revision, stamp.presence_revision, None)
    if since == stamp.etag:
        return _unchanged(stamp.etag, 204)
    if known == stamp.etag:
        return _unchanged(stamp.etag, 304)
    payload: dict = {
        "etag": stamp.etag,
        "token": cowriting.poll_token(user_id=request.user.pk, squad_id=squad.pk),
        "presence": _presence_payload(request, squad, now),
    }
    if since.split(".")[0] != str(stamp.revision):
        editing = set(request.GET.getlist("editing"))
        payload["parts"] = _live_parts(request, squad, editing)
    response = JsonResponse(payload)
    response["ETag"] = f'"{stamp.etag}"'
    response["Cache-Control"] = "no-cache, private"
    return response


def _presence_payload(request: AuthedRequest, squad: Squad, now: dt.datetime) -> list[dict]:
    return [
        {
            "part": p.part,
            "name": cowriting.short_name(p.person),
            "text": f"{cowriting.short_name(p.person)} is editing {p.label}",
        }
        for p in cowriting.present(squad_id=squad.pk, now=now)
        if p.person_id != request.user.pk
    ]


@dataclass
class Incoming:
    """A newer version saved while this person has the part open for editing."""

    who: str
    when: dt.datetime | None
    what: str
    text: str = ""
    lines: list[str] = field(default_factory=list)
    removed: bool = False  # not a newer version: someone removed what is being edited


def _incoming_html(request: AuthedRequest, incoming: Incoming) -> str:
    return render_to_string("squads/plan.html#incoming", {"incoming": incoming}, request=request)


def _live_parts(request: AuthedRequest, squad: Squad, editing: set[str]) -> list[dict]:
    """Every updatable part of the plan page as its display HTML, with its version; for
    parts open for editing on the asking page, the newer version to show beside the form."""
    parts = []
    plan = plan_for(squad)
    for slug in [*SECTIONS, NOT_DOING]:
        template, context = section_template_and_context(request, squad, slug)
        if slug == NOT_DOING:
            version = f"{plan.not_doing_version}.{thread_mark(context['not_doing_comments'])}"
            field_name = "not_doing"
        else:
            version = context["section"].live_version
            field_name = SECTIONS[slug][0]
        part = {
            "id": slug,
            "version": version,
            "html": render_to_string(template, context, request=request),
        }
        if slug in editing and plan.pk:
            entry = versioning.saved_entry(
                Plan, plan.pk, f"{field_name}_version", getattr(plan, f"{field_name}_version")
            )
            incoming = Incoming(
                who=cowriting.full_name(entry.history_user if entry else None),
                when=entry.history_date if entry else None,
                what="section" if slug != NOT_DOING else "list",
            )
            if slug == NOT_DOING:
                incoming.lines = list(plan.not_doing)
            else:
                incoming.text = getattr(plan, field_name)
            part["incoming"] = _incoming_html(request, incoming)
        parts.append(part)

    view = arrangement(request)
    threads = comment_threads(squad)
    context = initiatives_context(request, squad, view=view, threads=threads)
    parts.append(
        {
            "id": "initiatives",
            "version": context["initiatives_version"],
            "html": render_to_string("squads/plan.html#initiatives", context, request=request),
        }
    )
    flags = access.squad_flags(request, squad)
    for group in context["groups"]:
        for card in group.cards:
            part_id = f"initiative-{card.item.key}"
            card_context = {"squad": squad, "card": card, "view": view, **flags}
            part = {
                "id": part_id,
                "version": card.live_version,
                "html": render_to_string(
                    "squads/plan.html#initiative", card_context, request=request
                ),
            }
            if part_id in editing:
                entry = versioning.saved_entry(
                    Initiative, card.item.pk, "version", card.item.version
                )
                part["incoming"] = _incoming_html(
                    request,
                    Incoming(
                        who=cowriting.full_name(entry.history_user if entry else None),
                        when=entry.history_date if entry else None,
                        what="initiative",
                    ),
                )
            parts.append(part)

    parts += _removed_while_edited(request, squad, editing - {p["id"] for p in parts})

    deps = dependencies_context(squad)
    deps_context = {
        "squad": squad,
        "add_dependency_url": dependency_create_link(squad),
        "can_add_dependency": access.can_create_dependency(access.actor_for(request), squad),
        "squads_url": reverse("squads:list"),
        **deps,
        **flags,
    }
    parts.append(
        {
            "id": "dependencies",
            "version": deps["dependencies_version"],
            "html": render_to_string(
                "squads/plan.html#dependencies", deps_context, request=request
            ),
        }
    )
    return parts


def _removed_while_edited(request: AuthedRequest, squad: Squad, open_parts: set[str]) -> list:
    """For initiatives open for editing on the asking page that someone removed meanwhile:
    who removed it and when, shown beside the form, whose draft stays (planning/removals.py)."""
    keys = [p.removeprefix("initiative-") for p in open_parts if p.startswith("initiative-")]
    if not keys:
        return []
    latest: dict[str, Initiative] = {}
    for initiative in (
        Initiative.everything.filter(squad=squad, key__in=keys[:50], removal__isnull=False)
        .select_related("removal__removed_by__profile")
        .order_by("key", "-removal__removed_at")
    ):
        latest.setdefault(initiative.key, initiative)
    return [
        {
            "id": f"initiative-{initiative.key}",
            "version": f"removed.{initiative.removal_id}",
            "html": "",
            "incoming": _incoming_html(
                request,
                Incoming(
                    who=cowriting.full_name(initiative.removal.removed_by),
                    when=initiative.removal.removed_at,
                    what="initiative",
                    removed=True,
                ),
            ),
        }
        for initiative in latest.values()
    ]


# ---------------------------------------------------------------------------------------
# Presence
# ---------------------------------------------------------------------------------------


def _part_label(squad: Squad, part: str) -> str | None:
    if part in SECTIONS:
        return SECTIONS[part][1]
    if part == NOT_DOING:
        return "Not doing"
    if part == "new-initiative":
        return "a new initiative"
    if part.startswith("initiative-"):
        title = (
            Initiative.objects.filter(squad=squad, key=part.removeprefix("initiative-"))
            .values_list("title", flat=True)
            .first()
        )
        return f"the initiative “{title}”" if title else None
    return None


@require_POST
def plan_presence(request: AuthedRequest, key: str) -> HttpResponse:
    squad = squad_access.get_squad_rw(request, key)
    if request.POST.get("state") == "left":
        cowriting.presence_leave(squad_id=squad.pk, person=request.user)
        return HttpResponse(status=204)
    part = request.POST.get("part", "")
    label = _part_label(squad, part)
    if label is None:
        return HttpResponse("Say which part of the plan is open.", status=400)
    cowriting.presence_touch(squad_id=squad.pk, person=request.user, part=part, label=label)
    return HttpResponse(status=204)


# ---------------------------------------------------------------------------------------
# History
# ---------------------------------------------------------------------------------------

HISTORY_PAGE_SIZE = 40
KINDS = ("section", "initiative", "dependency", "key_result")
INITIATIVE_LABELS = {
    "title": "Title",
    "description": "Description",
    "function": "Function",
    "stage": "Journey stage",
    "segment": "Customer segment",
    "starts": "Starts",
    "ends": "Ends",
    "headcount": "Headcount",
    "status": "Status",
    "impact_team": "Impact on the team",
    "impact_business": "Impact on the business",
    "impact_customer": "Impact on the customer",
    "counter_measure": "Counter-measure",
}
DEPENDENCY_LABELS = {
    "what": "What is needed",
    "due": "Due",
    "blocking": "Blocking",
    "status": "Status",
    "note": "Note",
}
KEY_RESULT_LABELS = {
    "name": "Name",
    "unit": "Unit",
    "baseline": "Baseline",
    "target": "Target",
    "current": "Current value",
    "direction": "Direction",
}
SECTION_FIELDS = {name: (slug, title) for slug, (name, title) in SECTIONS.items()}
SECTION_FIELDS["not_doing"] = (NOT_DOING, "Not doing")


@dataclass
class Change:
    label: str
    before: str
    after: str
    long: bool = False  # a text: shown as a diff of words

    @property
    def pieces(self) -> list[Piece]:
        return word_diff(self.before, self.after)


@dataclass
class Entry:
    kind: str
    record: object
    part: str  # what changed, as people read it
    anchor: str  # the part's id on the plan page
    action: str  # created, changed, deleted, removed, restored
    changes: list[Change]
    field: str = ""  # for a plan section: which one
    restorable: bool = False
    current_version: int | None = None

    @property
    def who(self) -> str:
        user = self.record.history_user
        # No one signed in: loaded from a planning file, or written before history was kept.
        return cowriting.full_name(user) if user else "Throughline"

    @property
    def when(self) -> dt.datetime:
        return self.record.history_date

    @property
    def reason(self) -> str:
        return self.record.history_change_reason or ""

    @property
    def history_id(self) -> int:
        return self.record.history_id


def _show(value) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, Decimal):
        return plain_number(value)
    if isinstance(value, dt.date):
        return value.strftime("%-d %b %Y")
    if isinstance(value, list):
        return "\n".join(str(v) for v in value)
    return str(value)


def _display(kind: str, name: str, value, names: dict) -> str:
    if value is None or value == "":
        return "—"
    if name in ("stage", "segment"):
        return names[name].get(value, f"a removed {name}")
    if name == "status" and kind == "initiative":
        return str(dict(Initiative.Status.choices).get(value, value))
    if name == "status" and kind == "dependency":
        return str(dict(Dependency.Status.choices).get(value, value))
    if name == "direction":
        return str(dict(KeyResult.Direction.choices).get(value, value))
    if name.startswith("impact_"):
        return f"{value:+d}" if value else "0"
    return _show(value)


def _value(record, name: str):
    return getattr(record, f"{name}_id") if name in ("stage", "segment") else getattr(record, name)


def _record_entries(kind, records, labels, part_of, anchor_of, current, names, long_fields):
    """Entries for one kind of record, each compared with the one before it."""
    entries = []
    previous: dict[int, object] = {}
    for record in records:
        before = previous.get(record.id)
        previous[record.id] = record
        if record.history_type == "-":
            action, changed = "deleted", []
        elif before is None:
            action = "created" if record.history_user_id else "recorded"
            changed = [n for n in labels if _value(record, n) not in (None, "", [])]
        elif (record.removal_id is None) != (before.removal_id is None):
            # Removed, or restored (planning/removals.py): nothing it shows changed.
            action = "removed" if record.removal_id is not None else "restored"
            changed = [n for n in labels if _value(record, n) != _value(before, n)]
        else:
            action = "changed"
            changed = [n for n in labels if _value(record, n) != _value(before, n)]
            if not changed:
                continue  # a save that changed nothing shown here
        changes = [
            Change(
                label=labels[n],
                before=_display(kind, n, _value(before, n), names) if before else "",
                after=_display(kind, n, _value(record, n), names),
                long=n in long_fields,
            )
            for n in changed
        ]
        now = current.get(record.id)
        entry = Entry(
            kind=kind,
            record=record,
            part=part_of(record),
            anchor=anchor_of(record),
            action=action,
            changes=changes,
        )
        if now is not None and action != "deleted":
            entry.current_version = now.version
            entry.restorable = any(_value(record, n) != _value(now, n) for n in labels)
        entries.append(entry)
    return entries


def _plan_entries(squad: Squad) -> list[Entry]:
    plan = Plan.objects.filter(squad=squad).first()
    records = (
        Plan.history.filter(squad_id=squad.pk)
        .select_related("history_user__profile")
        .order_by("history_date", "history_id")
    )
    entries: list[Entry] = []
    before = None
    for record in records:
        for name, (slug, title) in SECTION_FIELDS.items():
            old = getattr(before, name) if before is not None else None
            new = getattr(record, name)
            if before is None and new in ("", [], None):
                continue
            if before is not None and old == new:
                continue
            action = "changed" if before is not None else "created"
            if before is None and not record.history_user_id:
                action = "recorded"
            entry = Entry(
                kind="section",
                record=record,
                part=title,
                anchor=slug,
                action=action,
                field=name,
                changes=[
                    Change(
                        label=title,
                        before=_show(old) if before is not None else "",
                        after=_show(new),
                        long=True,
                    )
                ],
            )
            if plan is not None:
                entry.current_version = getattr(plan, f"{name}_version")
                entry.restorable = getattr(plan, name) != new
            entries.append(entry)
        if before is not None and (before.approved_at is None) != (record.approved_at is None):
            entries.append(
                Entry(
                    kind="approval",
                    record=record,
                    part="the plan",
                    anchor="plan-status",
                    action="approved" if record.approved_at else "draft",
                    changes=[],
                )
            )
        before = record
    return entries


def history_entries(squad: Squad) -> list[Entry]:
    """Every recorded change to the squad's plan, newest first."""
    names = {
        "stage": dict(Stage.objects.values_list("pk", "name")),
        "segment": dict(Segment.objects.values_list("pk", "name")),
    }
    entries = _plan_entries(squad)

    initiatives = {i.pk: i for i in Initiative.objects.filter(squad=squad)}
    records = (
        Initiative.history.filter(squad_id=squad.pk)
        .select_related("history_user__profile")
        .order_by("history_date", "history_id")
    )
    entries += _record_entries(
        "initiative",
        records,
        INITIATIVE_LABELS,
        lambda r: f"Initiative “{r.title}”",
        lambda r: f"initiative-{r.key}",
        initiatives,
        names,
        long_fields={"description", "counter_measure"},
    )

    initiative_ids = Initiative.history.filter(squad_id=squad.pk).values("id")
    needs = Q(from_squad_id=squad.pk) | Q(from_initiative_id__in=initiative_ids)
    dependencies = {d.pk: d for d in Dependency.objects.filter(needs)}
    records = (
        Dependency.history.filter(needs)
        .select_related("history_user__profile")
        .order_by("history_date", "history_id")
    )
    entries += _record_entries(
        "dependency",
        records,
        DEPENDENCY_LABELS,
        lambda r: f"Dependency “{r.key}”",
        lambda r: "dependencies",
        dependencies,
        names,
        long_fields={"what", "note"},
    )

    okrs = OKR.objects.filter(squad=squad).values("pk")
    key_results = {k.pk: k for k in KeyResult.objects.filter(okr__in=okrs)}
    records = (
        KeyResult.history.filter(okr_id__in=okrs)
        .select_related("history_user__profile")
        .order_by("history_date", "history_id")
    )
    entries += _record_entries(
        "key_result",
        records,
        KEY_RESULT_LABELS,
        lambda r: f"Key result “{r.name}”",
        lambda r: f"kr-{r.key}",
        key_results,
        names,
        long_fields=set(),
    )
    entries.sort(key=lambda e: (e.when, e.history_id), reverse=True)
    return entries


@require_safe
def plan_history(request: AuthedRequest, key: str) -> HttpResponse:
    squad, can_edit = squad_access.get_plan_for_user(request, key)
    actor = access.actor_for(request)
    entries = history_entries(squad)
    page = Paginator(entries, HISTORY_PAGE_SIZE).get_page(request.GET.get("page"))
    shown = list(page)
    may = {
        "section": can_edit,
        "initiative": can_edit,
        "key_result": access.can_manage_squad(actor, squad),
        "dependency": actor.is_operations or can_edit,
    }
    for entry in shown:
        entry.restorable = entry.restorable and may[entry.kind]
    return render(
        request,
        "squads/history.html",
        {
            "squad": squad,
            "entries": shown,
            "page_obj": page,
            "nav": "squads",
        },
    )


def _restore_reason(record) -> str:
    when = timezone.localtime(record.history_date)
    return f"Restored the version of {when:%-d %b %Y, %H:%M}"


@require_POST
def plan_restore(request: AuthedRequest, key: str) -> HttpResponse:
    squad, can_edit = squad_access.get_plan_for_user(request, key)
    actor = access.actor_for(request)
    if not (can_edit or actor.is_operations or access.can_manage_squad(actor, squad)):
        raise PermissionDenied("Only those who may change this plan restore its versions.")
    back = reverse("squads:plan_history", args=[squad.key])
    kind = request.POST.get("kind", "")
    try:
        history_id = int(request.POST.get("history_id", ""))
        version = int(request.POST.get("version", ""))
    except ValueError:
        messages.error(request, "Choose a version to restore from the history.")
        return redirect(back)
    try:
        restored = _restore(request, squad, actor, kind, history_id, version)
    except versioning.Conflict:
        messages.error(
            request,
            "Someone changed it after you opened the history, so nothing was restored. "
            "Here is the history as it is now: restore again if you still want that version.",
        )
    except ValidationError as error:
        messages.error(request, "Nothing was restored: " + " ".join(error.messages))
    else:
        messages.success(request, f"Restored {restored}. The restore is in the history too.")
    return redirect(back)


def _restore(request, squad: Squad, actor, kind: str, history_id: int, version: int) -> str:
    if kind == "section":
        record = get_object_or_404(Plan.history, history_id=history_id, squad_id=squad.pk)
        name = request.POST.get("field", "")
        if name not in SECTION_FIELDS:
            raise Http404("No such section.")
        if not access.can_restore_plan_part(actor, squad, kind):
            raise PermissionDenied("Only the squad's members change its plan.")
        reason = _restore_reason(record)
        if name == "not_doing":
            services.not_doing_update(
                squad=squad, items=record.not_doing, by=request.user, version=version, reason=reason
            )
        else:
            services.plan_section_update(
                squad=squad,
                section=name,
                text=getattr(record, name),
                by=request.user,
                version=version,
                reason=reason,
            )
        return f"{SECTION_FIELDS[name][1]} to its version of {_when(record)}"
    if kind == "initiative":
        record = get_object_or_404(Initiative.history, history_id=history_id, squad_id=squad.pk)
        initiative = get_object_or_404(Initiative, pk=record.id, squad=squad)
        if not access.can_restore_plan_part(actor, squad, kind):
            raise PermissionDenied("Only the squad's members change its plan.")
        values = {name: getattr(record, name) for name in InitiativeForm.VALUE_FIELDS}
        values["stage"] = Stage.objects.filter(pk=record.stage_id).first()
        values["segment"] = Segment.objects.filter(pk=record.segment_id).first()
        services.initiative_update(
            initiative=initiative,
            values=values,
            by=request.user,
            version=version,
            reason=_restore_reason(record),
        )
        return f"the initiative “{record.title}” to its version of {_when(record)}"
    if kind == "dependency":
        record = get_object_or_404(Dependency.history, history_id=history_id)
        dependency = get_object_or_404(Dependency, pk=record.id)
        if squad.pk not in dependency_services.squads_of(dependency):
            raise Http404("No such dependency on this plan.")
        if not access.can_restore_plan_part(actor, squad, kind, dependency):
            raise PermissionDenied("Only the needing squad's members change this dependency.")
        dependency_services.dependency_update(
            dependency=dependency,
            by=request.user,
            what=record.what,
            due=record.due,
            blocking=record.blocking,
            note=record.note,
            version=version,
            reason=_restore_reason(record),
        )
        return f"the dependency “{record.key}” to its version of {_when(record)}"
    if kind == "key_result":
        record = get_object_or_404(KeyResult.history, history_id=history_id)
        key_result = get_object_or_404(KeyResult, pk=record.id, okr__squad=squad)
        if not access.can_restore_plan_part(actor, squad, kind):
            raise PermissionDenied("Only the squad's DRI or leadership change its key results.")
        services.key_result_update(
            key_result=key_result,
            name=record.name,
            unit=record.unit,
            baseline=_decimal(record.baseline),
            target=_decimal(record.target),
            direction=record.direction,
            by=request.user,
            version=version,
            reason=_restore_reason(record),
        )
        return f"the key result “{record.name}” to its version of {_when(record)}"
    raise Http404("No such kind of change.")


def _decimal(value) -> Decimal | None:
    try:
        return None if value is None else Decimal(value)
    except InvalidOperation:
        return None


def _when(record) -> str:
    return f"{timezone.localtime(record.history_date):%-d %b %Y, %H:%M}"


# ---------------------------------------------------------------------------------------
# Comments
# ---------------------------------------------------------------------------------------


def _comment_view(request, squad: Squad, *, part: str, title: str, url: str, target: dict):
    plan_url = reverse("squads:plan", args=[squad.key]) + f"#comments-{part}"
    can_comment = access.can_comment_plan(access.actor_for(request), squad)
    errors: list[str] = []
    body = ""
    if request.method == "POST":
        if not can_comment:
            raise PermissionDenied("You can read this plan but not comment on it.")
        form = CommentForm(request.POST)
        if form.is_valid():
            try:
                with transaction.atomic():
                    comment = cowriting.comment_add(
                        squad=squad, body=form.cleaned_data["body"], by=request.user, **target
                    )
                    mentions_notify(
                        comment=comment,
                        by=request.user,
                        where=f"{squad.name} · {title}",
                        # The comment itself: the page opens the thread it is in.
                        url=reverse("squads:plan", args=[squad.key]) + f"#comment-{comment.pk}",
                    )
            except ValidationError as error:
                errors = error.messages
            else:
                if not request.htmx:
                    messages.success(request, "Comment added.")
                    return redirect(plan_url)
        else:
            errors = [e for field_errors in form.errors.values() for e in field_errors]
        if errors:
            body = request.POST.get("body", "")
    if not request.htmx:
        if errors:
            messages.error(request, " ".join(errors))
        return redirect(plan_url)
    if "section" in target:
        thread = f"section:{target['section']}"
        comments = comment_threads(squad, section=target["section"]).get(thread, Thread())
    else:
        thread = f"initiative:{target['initiative'].pk}"
        comments = comment_threads(squad, initiative_id=target["initiative"].pk).get(
            thread, Thread()
        )
    context = thread_context(
        request,
        squad,
        part=part,
        url=url,
        comments=comments,
        comment_errors=errors,
        comment_body=body,
    )
    return render(request, "squads/_comments.html", context)


@require_http_methods(["GET", "HEAD", "POST"])
def section_comments(request: AuthedRequest, key: str, section: str) -> HttpResponse:
    squad, _ = squad_access.get_plan_for_user(request, key)
    if section in SECTIONS:
        name, title = SECTIONS[section]
    elif section == NOT_DOING:
        name, title = "not_doing", "Not doing"
    else:
        raise Http404("No such section.")
    url = reverse("squads:section_comments", args=[squad.key, section])
    return _comment_view(
        request, squad, part=section, title=title, url=url, target={"section": name}
    )


@require_http_methods(["GET", "HEAD", "POST"])
def initiative_comments(request: AuthedRequest, key: str, ikey: str) -> HttpResponse:
    squad, _ = squad_access.get_plan_for_user(request, key)
    initiative = initiative_or_404(squad, ikey)
    url = reverse("squads:initiative_comments", args=[squad.key, ikey])
    return _comment_view(
        request,
        squad,
        part=f"initiative-{ikey}",
        title=f"the initiative “{initiative.title}”",
        url=url,
        target={"initiative": initiative},
    )
