"""A squad's plan: sections, the not-doing list, initiatives and the dependencies it needs
and provides, each edited in place.

Each page is one template whose updatable parts are partials. An HTMX request gets only the
part it asked for; a plain request gets the whole page, with the part in edit mode when the
URL is an edit URL, so every page and form also works without script.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from decimal import Decimal
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Case, Prefetch, Q, When
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST, require_safe
from django_htmx.http import reswap, retarget

from core import access, pagecache, versioning
from core.http import AuthedRequest
from dependencies.models import Dependency
from journeys.models import Moment, Segment, Stage
from squads import access as squad_access
from squads import conflicts, cowriting, services
from squads.charts import BalancePicture, balance_picture
from squads.forms import (
    InitiativeForm,
    NotDoingForm,
    PlanSectionForm,
    known_functions,
    plain_number,
)
from squads.models import OKR, Comment, Initiative, Plan, Squad
from squads.views import _forbid, _squad_flags

SECTIONS = {
    # URL name: (field, title)
    "current-experience": ("current_experience", "Current customer experience"),
    "desired-experience": ("desired_experience", "Desired customer experience"),
    "success-metrics": ("success_metrics", "Shared success metrics"),
}
NOT_DOING = "not-doing"
PLAN_READ_ONLY = "Only the squad's members can change its plan."

_MOMENT_RE = re.compile(
    r"(?:^|(?<=\s))((?:hour|day|week|month|quarter|year)s?\s+\d{1,4})\s*[:\u2013\u2014-]\s+",
    re.IGNORECASE,
)


def moments_in(text: str) -> tuple[str, list[tuple[str, str]]]:
    """Split "Day 1: … Week 2: …" into an introduction and (moment, text) pairs."""
    parts = _MOMENT_RE.split(text)
    if len(parts) < 3:
        return text, []
    intro, rest = parts[0].strip(), parts[1:]
    pairs = [(rest[i].strip(), rest[i + 1].strip()) for i in range(0, len(rest) - 1, 2)]
    return intro, [(when[:1].upper() + when[1:], body) for when, body in pairs]


@dataclass
class SectionView:
    slug: str
    field: str
    title: str
    number: int
    text: str
    version: int = 1
    form: PlanSectionForm | None = None
    intro: str = ""
    moments: list[tuple[str, str]] = field(default_factory=list)
    conflict: conflicts.TextConflict | None = None
    comments: list[Comment] = field(default_factory=list)

    @property
    def edit_version(self) -> int:
        """The version a save from this form is made against: the one the editor started
        from, through any number of invalid posts, or the one a conflict showed them."""
        return versioning.edit_version(self.conflict, self.form, self.version)

    @property
    def live_version(self) -> str:
        """What a poll compares to decide whether this part needs redrawing."""
        return f"{self.version}.{len(self.comments)}"


def _section_view(slug: str, plan: Plan, form=None, *, conflict=None, comments=None) -> SectionView:
    name, title = SECTIONS[slug]
    number = {"current-experience": 1, "desired-experience": 2, "success-metrics": 5}[slug]
    text = getattr(plan, name)
    view = SectionView(
        slug=slug,
        field=name,
        title=title,
        number=number,
        text=text,
        version=getattr(plan, f"{name}_version"),
        form=form,
        conflict=conflict,
        comments=list(comments or []),
    )
    if name == "desired_experience":
        view.intro, view.moments = moments_in(text)
    return view


def _comments(squad: Squad, *, section: str = "", initiative_id: int | None = None) -> dict:
    """Comment threads by part: "section:<field>" and "initiative:<id>", oldest first."""
    comments = Comment.objects.filter(squad=squad).select_related("author__profile")
    if section:
        comments = comments.filter(section=section)
    elif initiative_id is not None:
        comments = comments.filter(initiative_id=initiative_id)
    threads: dict[str, list[Comment]] = {}
    for comment in comments.order_by("created_at", "id"):
        part = (
            f"initiative:{comment.initiative_id}"
            if comment.initiative_id
            else f"section:{comment.section}"
        )
        threads.setdefault(part, []).append(comment)
    return threads


def _plan_for(squad: Squad) -> Plan:
    # Reading never writes: a squad without a plan row shows an empty plan.
    return Plan.objects.select_related("approved_by__profile").filter(squad=squad).first() or Plan(
        squad=squad
    )


@dataclass
class InitiativeCard:
    item: Initiative
    cycle_days: int
    cycle_start: object
    form: InitiativeForm | None = None
    conflict: conflicts.RecordConflict | None = None
    comments: list[Comment] = field(default_factory=list)

    @property
    def edit_version(self) -> int:
        return versioning.edit_version(self.conflict, self.form, self.item.version)

    @property
    def live_version(self) -> str:
        return f"{self.item.version}.{len(self.comments)}"

    @property
    def lean(self) -> services.Lean | None:
        return services.initiative_lean(self.item)

    @property
    def needs_counter_measure(self) -> bool:
        return self.lean is not None and not self.item.counter_measure.strip()

    @property
    def lean_prompt(self) -> str:
        return self.lean.prompt("initiative") if self.lean else ""

    @property
    def picture(self) -> BalancePicture | None:
        if not self.item.has_impact:
            return None
        return balance_picture(
            {
                "team": self.item.impact_team,
                "business": self.item.impact_business,
                "customer": self.item.impact_customer,
            }
        )

    @property
    def span(self) -> tuple[float, float]:
        """Where the initiative sits in its cycle, as x and width out of 100."""
        start = (self.item.starts - self.cycle_start).days
        end = (self.item.ends - self.cycle_start).days + 1
        days = max(self.cycle_days, 1)
        x0 = min(max(start / days, 0), 1) * 100
        x1 = min(max(end / days, 0), 1) * 100
        return round(x0, 2), round(max(x1 - x0, 1.5), 2)

    @property
    def span_x(self) -> float:
        return self.span[0]

    @property
    def span_width(self) -> float:
        return self.span[1]

    @property
    def headcount(self) -> str:
        return plain_number(self.item.headcount)


@dataclass
class FunctionGroup:
    function: str
    cards: list[InitiativeCard]

    @property
    def headcount(self) -> str:
        total = sum(
            (c.item.headcount for c in self.cards if c.item.status != "dropped"), Decimal(0)
        )
        return plain_number(total)


VIEWS = {"function": "By function", "timeline": "By date"}


def _arrangement(request: AuthedRequest, view: str | None = None) -> str:
    """How the initiatives are arranged: asked for explicitly, or carried by the request."""
    posted = request.POST.get("view") if request.method == "POST" else None
    for candidate in (view, posted, request.GET.get("view")):
        if candidate in VIEWS:
            return candidate
    return "function"


def _initiatives(squad: Squad) -> list[Initiative]:
    return list(
        Initiative.objects.filter(squad=squad)
        .select_related("stage__journey", "segment")
        .order_by("function", "starts", "id")
    )


def _initiative_card(
    squad: Squad, initiative: Initiative, form=None, *, conflict=None, comments=None
) -> InitiativeCard:
    cycle = squad.cycle
    if comments is None:
        comments = _comments(squad, initiative_id=initiative.pk).get(
            f"initiative:{initiative.pk}", []
        )
    return InitiativeCard(
        item=initiative,
        cycle_days=(cycle.ends - cycle.starts).days + 1,
        cycle_start=cycle.starts,
        form=form,
        conflict=conflict,
        comments=comments,
    )


def _list_version(cards: list[InitiativeCard]) -> str:
    """Changes whenever an initiative is added, removed, saved or commented on."""
    parts = sorted(f"{c.item.pk}:{c.live_version}" for c in cards)
    return hashlib.sha256(",".join(parts).encode()).hexdigest()[:12]


def _initiatives_context(
    request: AuthedRequest,
    squad: Squad,
    *,
    initiatives: list[Initiative] | None = None,
    editing: Initiative | None = None,
    edit_form=None,
    new_form=None,
    view: str | None = None,
    threads: dict | None = None,
    edit_conflict=None,
) -> dict:
    initiatives = _initiatives(squad) if initiatives is None else initiatives
    view = _arrangement(request, view)
    threads = _comments(squad) if threads is None else threads
    cards = [
        _initiative_card(
            squad,
            i,
            edit_form if editing and i.pk == editing.pk else None,
            conflict=edit_conflict if editing and i.pk == editing.pk else None,
            comments=threads.get(f"initiative:{i.pk}", []),
        )
        for i in initiatives
    ]
    if view == "timeline":
        groups = [FunctionGroup("", sorted(cards, key=lambda c: (c.item.starts, c.item.pk)))]
    else:
        grouped: dict[str, list[InitiativeCard]] = {}
        for card in cards:
            grouped.setdefault(card.item.function, []).append(card)
        groups = [FunctionGroup(name, grouped[name]) for name in sorted(grouped, key=str.casefold)]
    balance = services.plan_balance(initiatives)
    scale = max([2, *(abs(v) for v in balance.sums.values())])
    return {
        "squad": squad,
        "groups": groups,
        "initiatives_version": _list_version(cards),
        "initiative_total": len(initiatives),
        "view": view,
        "views": VIEWS,
        "new_initiative_form": new_form,
        "balance": balance,
        "balance_picture": balance_picture(balance.sums, scale) if balance.rated else None,
        **_squad_flags(request, squad),
    }


def _dependency_board_link(**params: str) -> str | None:
    try:
        url = reverse("board:board")
    except NoReverseMatch:
        return None
    return f"{url}?{urlencode(params)}" if params else url


def _dependency_create_link(squad: Squad) -> str | None:
    try:
        url = reverse("board:create")
    except NoReverseMatch:
        return None
    plan_url = reverse("squads:plan", args=[squad.key])
    return f"{url}?{urlencode({'from': squad.key, 'next': plan_url})}"


# Each list on the plan page shows this many: the open ones first, soonest due first. The
# board holds every one, with filters and pages; the page links to it for the rest.
PLAN_DEPENDENCIES_SHOWN = 25


def _dependency_list(qs, today) -> tuple[list[Dependency], int]:
    total = qs.count()
    closed = Case(When(status__in=["done", "declined"], then=1), default=0)
    shown = list(qs.alias(closed=closed).order_by("closed", "due", "id")[:PLAN_DEPENDENCIES_SHOWN])
    for dep in shown:
        dep.overdue = dep.is_overdue(today)
    return shown, total


def _dependencies_context(squad: Squad) -> dict:
    today = timezone.localdate()
    needs, needs_total = _dependency_list(
        Dependency.objects.filter(
            Q(from_squad=squad) | Q(from_initiative__squad=squad)
        ).select_related("from_initiative", "to_squad", "to_initiative__squad", "owner__profile"),
        today,
    )
    provides, provides_total = _dependency_list(
        Dependency.objects.filter(Q(to_squad=squad) | Q(to_initiative__squad=squad)).select_related(
            "from_squad", "from_initiative__squad", "to_initiative", "owner__profile"
        ),
        today,
    )
    seen = ",".join(f"{d.pk}:{d.version}:{d.overdue}" for d in (*needs, *provides))
    seen += f";{needs_total};{provides_total}"
    return {
        "dependencies_version": hashlib.sha256(seen.encode()).hexdigest()[:12],
        "needs": needs,
        "needs_total": needs_total,
        "provides": provides,
        "provides_total": provides_total,
        "board_needs_url": _dependency_board_link(**{"from": squad.key}),
        "board_provides_url": _dependency_board_link(to=squad.key),
        "board_url": _dependency_board_link(),
    }


def _journey_moments(squad: Squad) -> list[Stage]:
    return list(
        Stage.objects.filter(squadstage__squad=squad)
        .select_related("journey")
        .prefetch_related(Prefetch("moments", queryset=Moment.objects.order_by("offset_days")))
        .order_by("journey_id", "position", "id")
    )


def _plan_context(
    request: AuthedRequest,
    squad: Squad,
    *,
    section_forms: dict[str, PlanSectionForm] | None = None,
    not_doing_form=None,
    editing: Initiative | None = None,
    initiative_form=None,
    new_initiative_form=None,
    initiative_conflict=None,
    section_conflicts: dict | None = None,
    not_doing_conflict=None,
    live: dict | None = None,
) -> dict:
    # The stamp first: a change saved while the page is drawn shows at the first poll.
    live = live or _live_context(request, squad)
    plan = _plan_for(squad)
    section_forms = section_forms or {}
    section_conflicts = section_conflicts or {}
    threads = _comments(squad)
    sections = {
        SECTIONS[slug][0]: _section_view(
            slug,
            plan,
            section_forms.get(slug),
            conflict=section_conflicts.get(slug),
            comments=threads.get(f"section:{SECTIONS[slug][0]}", []),
        )
        for slug in SECTIONS
    }
    actor = access.actor_for(request)
    context = {
        **live,
        "squad": squad,
        "plan": plan,
        "can_approve": access.can_approve_plan(actor, squad),
        "drafts_restricted": squad.cycle.restrict_drafts,
        "sections": sections,
        "not_doing_conflict": not_doing_conflict,
        "not_doing_comments": threads.get("section:not_doing", []),
        "okr": OKR.objects.filter(squad=squad, cycle_id=squad.cycle_id)
        .prefetch_related("key_results")
        .first(),
        "not_doing_form": not_doing_form,
        "stages": _journey_moments(squad),
        "add_dependency_url": _dependency_create_link(squad),
        "can_add_dependency": access.can_create_dependency(actor, squad),
        "nav": "squads",
        **_dependencies_context(squad),
        **_initiatives_context(
            request,
            squad,
            editing=editing,
            edit_form=initiative_form,
            new_form=new_initiative_form,
            threads=threads,
            edit_conflict=initiative_conflict,
        ),
    }
    return context


def _live_context(request: AuthedRequest, squad: Squad, revision: int | None = None) -> dict:
    """What the page's poller needs: where to ask, with what token, from which stamp
    (`revision`, when the caller has read it already)."""
    if revision is None:
        revision = cowriting.stamp(squad.pk).revision
    token = cowriting.poll_token(user_id=request.user.pk, squad_id=squad.pk)
    return {
        "live_url": reverse("squads:plan_live", args=[squad.key]) + "?" + urlencode({"t": token}),
        # Only the revision: the first poll then brings who is editing what.
        "live_etag": f"{revision}.",
        "presence_url": reverse("squads:plan_presence", args=[squad.key]),
        "history_url": reverse("squads:plan_history", args=[squad.key]),
    }


@login_required
@require_safe
def plan(request: AuthedRequest, key: str) -> HttpResponse:
    # The poll's stamp and the revisions the cached body is keyed on, read with the squad
    # and before the plan itself: a change saved meanwhile shows at the first poll. Only
    # what the checks need besides: the body, usually from the cache, reads the rest.
    squad, _ = squad_access.get_plan_for_user(
        request, key, find=squad_access.find_squad_with_revisions
    )
    actor = access.actor_for(request)
    read, stamp = pagecache.plan_revisions(request, squad)
    # The poll's address is per person: put in after the cache.
    live = _live_context(request, squad, revision=stamp)
    viewer = (
        tuple(sorted(_squad_flags(request, squad).items())),
        access.can_approve_plan(actor, squad),
        access.can_create_dependency(actor, squad),
    )

    def draw(stand_ins: dict) -> str:
        context = {**_plan_context(request, squad, live=live), **stand_ins}
        return render_to_string("squads/plan.html#body", context, request=request)

    body = pagecache.body(
        request,
        name="plan",
        read=read,
        vary=(squad.pk, timezone.localdate(), viewer),
        render=draw,
        swaps={"live_url": live["live_url"], "live_etag": live["live_etag"]},
    )
    return render(
        request, "squads/plan.html", {"squad": squad, "cached_body": body, "nav": "squads"}
    )


@login_required
@require_POST
def plan_approval(request: AuthedRequest, key: str) -> HttpResponse:
    """The DRI approves the plan, or returns it to draft (`decision` = approve or draft)."""
    squad, _ = squad_access.get_plan_for_user(request, key)
    if not access.can_approve_plan(access.actor_for(request), squad):
        raise PermissionDenied("Only the squad's DRI approves its plan.")
    decision = request.POST.get("decision")
    if decision not in {"approve", "draft"}:
        messages.error(request, "Choose whether to approve the plan or return it to draft.")
    else:
        services.plan_set_approval(squad=squad, by=request.user, approved=decision == "approve")
        if decision == "approve":
            messages.success(request, f"The plan of {squad.name} is approved.")
        else:
            messages.success(request, f"The plan of {squad.name} is a draft again.")
    return redirect(reverse("squads:plan", args=[squad.key]) + "#plan-status")


# Sections ------------------------------------------------------------------------------


def _section_response(
    request: AuthedRequest, squad: Squad, slug: str, form=None, conflict=None, plan=None
) -> HttpResponse:
    return render(
        request, *_section_template_and_context(request, squad, slug, form, conflict, plan)
    )


def _section_template_and_context(
    request: AuthedRequest, squad: Squad, slug: str, form=None, conflict=None, plan=None
) -> tuple[str, dict]:
    """`plan`: the plan as just saved, when the caller has it."""
    plan = plan or _plan_for(squad)
    if slug == NOT_DOING:
        threads = _comments(squad, section="not_doing")
        context = {
            "squad": squad,
            "plan": plan,
            "not_doing_form": form,
            "not_doing_conflict": conflict,
            "not_doing_comments": threads.get("section:not_doing", []),
        }
        template = "squads/plan.html#not_doing"
    else:
        name = SECTIONS[slug][0]
        threads = _comments(squad, section=name)
        section = _section_view(
            slug, plan, form, conflict=conflict, comments=threads.get(f"section:{name}", [])
        )
        context = {"squad": squad, "section": section}
        if slug == "desired-experience":
            context["stages"] = _journey_moments(squad)
        template = "squads/plan.html#section"
    context.update(_squad_flags(request, squad))
    return template, context


def _known_section(slug: str) -> None:
    if slug not in SECTIONS and slug != NOT_DOING:
        raise Http404("No such section.")


@login_required
@require_safe
def plan_section(request: AuthedRequest, key: str, section: str) -> HttpResponse:
    squad, _ = squad_access.get_plan_for_user(request, key)
    _known_section(section)
    if not request.htmx:
        return redirect(reverse("squads:plan", args=[squad.key]) + f"#{section}")
    return _section_response(request, squad, section)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def plan_section_edit(request: AuthedRequest, key: str, section: str) -> HttpResponse:
    squad, can_edit = squad_access.get_plan_for_user(
        request, key, find=squad_access.find_squad_to_write
    )
    _known_section(section)
    if not can_edit:
        _forbid(PLAN_READ_ONLY)
    if section == NOT_DOING:
        return _not_doing_edit(request, squad)
    field_name, title = SECTIONS[section]
    conflict = None
    if request.method == "POST":
        data = request.POST
        if data.get("choice") == "mine":
            # "Keep my draft" in the conflict view: the draft as it was first posted.
            data = data.copy()
            data["text"] = data.get("draft", "")
        form = PlanSectionForm(data, section=field_name, label=title)
        form.base_version = versioning.posted_version(request.POST)
        if form.is_valid():
            try:
                saved = services.plan_section_update(
                    squad=squad,
                    section=field_name,
                    text=form.cleaned_data["text"],
                    by=request.user,
                    version=versioning.posted_version(request.POST),
                    reason=versioning.save_reason(data),
                )
            except versioning.Conflict as stale:
                conflict = conflicts.text_conflict(
                    stale, field_name=field_name, draft=form.cleaned_data["text"]
                )
                form = PlanSectionForm(
                    initial={"text": conflict.offered}, section=field_name, label=title
                )
            except ValidationError as error:
                form.add_service_errors(error)
            else:
                if request.htmx:
                    return _section_response(request, squad, section, plan=saved)
                messages.success(request, f"{title} saved.")
                return redirect(reverse("squads:plan", args=[squad.key]) + f"#{section}")
    else:
        # Text and version from one read of the row: a save landing between two reads would
        # give the editor the old text with the new version, and its save would pass.
        plan = _plan_for(squad)
        form = PlanSectionForm(
            initial={"text": getattr(plan, field_name)}, section=field_name, label=title
        )
        form.base_version = getattr(plan, f"{field_name}_version")
    if request.htmx:
        return _section_response(request, squad, section, form, conflict)
    context = _plan_context(
        request, squad, section_forms={section: form}, section_conflicts={section: conflict}
    )
    return render(request, "squads/plan.html", context)


def _not_doing_edit(request: AuthedRequest, squad: Squad) -> HttpResponse:
    conflict = None
    if request.method == "POST":
        keep_mine = request.POST.get("choice") == "mine"
        form = NotDoingForm(request.POST)
        items: list[str] | None = None
        if "add_line" in request.POST:
            form = form.with_extra_line()
        elif keep_mine:
            # "Keep my draft" in the conflict view: the lines as they were first posted.
            items = conflicts.json_lines(request.POST.get("draft", ""))
        elif form.is_valid():
            items = form.cleaned_data["items"]
        form.base_version = versioning.posted_version(request.POST)
        if items is not None:
            try:
                services.not_doing_update(
                    squad=squad,
                    items=items,
                    by=request.user,
                    version=versioning.posted_version(request.POST),
                    reason=versioning.save_reason(request.POST),
                )
            except versioning.Conflict as stale:
                conflict = conflicts.list_conflict(stale, draft=items)
                form = NotDoingForm(lines=conflict.offered)
            except ValidationError as error:
                if keep_mine:
                    form = NotDoingForm(lines=items)
                    form.base_version = versioning.posted_version(request.POST)
                form.add_service_errors(error)
            else:
                if request.htmx:
                    return _section_response(request, squad, NOT_DOING)
                messages.success(request, "Not-doing list saved.")
                return redirect(reverse("squads:plan", args=[squad.key]) + f"#{NOT_DOING}")
    else:
        plan = _plan_for(squad)
        form = NotDoingForm(lines=plan.not_doing)
        form.base_version = plan.not_doing_version
    if request.htmx:
        return _section_response(request, squad, NOT_DOING, form, conflict)
    context = _plan_context(request, squad, not_doing_form=form, not_doing_conflict=conflict)
    return render(request, "squads/plan.html", context)


# Initiatives ---------------------------------------------------------------------------


def _initiative_or_404(squad: Squad, ikey: str) -> Initiative:
    return get_object_or_404(
        Initiative.objects.select_related("stage__journey", "segment"), squad=squad, key=ikey
    )


def _balance_oob(request: AuthedRequest, squad: Squad, initiatives: list[Initiative]) -> str:
    context = _initiatives_context(request, squad, initiatives=initiatives)
    context["oob"] = True
    return render_to_string("squads/plan.html#balance", context, request=request)


def _initiative_saved_response(
    request: AuthedRequest, squad: Squad, initiative: Initiative, *, whole_list: bool
) -> HttpResponse:
    """The saved initiative, or the whole list when it moved group; the balance alongside."""
    initiatives = _initiatives(squad)
    if whole_list:
        context = _initiatives_context(request, squad, initiatives=initiatives)
        response = render(request, "squads/plan.html#initiatives", context)
        retarget(response, "#initiatives")
        reswap(response, "outerHTML")
    else:
        fresh = next(i for i in initiatives if i.pk == initiative.pk)
        context = {
            "squad": squad,
            "card": _initiative_card(squad, fresh),
            "view": _arrangement(request),
            **_squad_flags(request, squad),
        }
        response = render(request, "squads/plan.html#initiative", context)
    response.content += _balance_oob(request, squad, initiatives).encode()
    return response


@login_required
@require_safe
def initiative_list(request: AuthedRequest, key: str) -> HttpResponse:
    squad, _ = squad_access.get_plan_for_user(request, key)
    if not request.htmx:
        url = reverse("squads:plan", args=[squad.key])
        view = request.GET.get("view")
        query = f"?view={view}" if view in VIEWS else ""
        return redirect(f"{url}{query}#initiatives")
    return render(request, "squads/plan.html#initiatives", _initiatives_context(request, squad))


@login_required
@require_safe
def initiative_detail(request: AuthedRequest, key: str, ikey: str) -> HttpResponse:
    squad, _ = squad_access.get_plan_for_user(request, key)
    initiative = _initiative_or_404(squad, ikey)
    if not request.htmx:
        return redirect(reverse("squads:plan", args=[squad.key]) + f"#initiative-{ikey}")
    context = {
        "squad": squad,
        "card": _initiative_card(squad, initiative),
        "view": _arrangement(request),
        **_squad_flags(request, squad),
    }
    return render(request, "squads/plan.html#initiative", context)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def initiative_create(request: AuthedRequest, key: str) -> HttpResponse:
    squad = squad_access.get_squad_rw(request, key)
    functions = known_functions()
    if request.method == "POST":
        form = InitiativeForm(request.POST, squad=squad, functions=functions)
        if form.is_valid():
            try:
                initiative = services.initiative_create(
                    squad=squad, key=form.cleaned_data["key"], values=form.values(), by=request.user
                )
            except ValidationError as error:
                form.add_service_errors(error)
            else:
                if request.htmx:
                    return _initiative_saved_response(request, squad, initiative, whole_list=True)
                messages.success(request, f"Initiative “{initiative.title}” added.")
                url = reverse("squads:plan", args=[squad.key])
                return redirect(f"{url}#initiative-{initiative.key}")
    else:
        form = InitiativeForm(squad=squad, functions=functions)
    if request.htmx:
        context = {
            "squad": squad,
            "new_initiative_form": form,
            "view": _arrangement(request),
            **_squad_flags(request, squad),
        }
        return render(request, "squads/plan.html#new_initiative", context)
    context = _plan_context(request, squad, new_initiative_form=form)
    return render(request, "squads/plan.html", context)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def initiative_edit(request: AuthedRequest, key: str, ikey: str) -> HttpResponse:
    squad, can_edit = squad_access.get_plan_for_user(request, key)
    initiative = _initiative_or_404(squad, ikey)
    if not can_edit:
        _forbid(PLAN_READ_ONLY)
    functions = known_functions()
    conflict = None
    if request.method == "POST":
        data = request.POST
        if data.get("choice") == "mine":
            data = conflicts.draft_data(data, data.get("draft", ""), InitiativeForm.VALUE_FIELDS)
        form = InitiativeForm(data, squad=squad, instance=initiative, functions=functions)
        form.base_version = versioning.posted_version(request.POST)
        if form.is_valid():
            old_function = initiative.function
            try:
                services.initiative_update(
                    initiative=initiative,
                    values=form.values(),
                    by=request.user,
                    version=versioning.posted_version(request.POST),
                    reason=versioning.save_reason(data),
                )
            except versioning.Conflict as stale:
                conflict = _initiative_conflict(stale, form, data)
                initiative = stale.current
                form = InitiativeForm(
                    squad=squad,
                    instance=initiative,
                    functions=functions,
                    initial=_initiative_initial(conflict.merge.values),
                )
            except ValidationError as error:
                form.add_service_errors(error)
            else:
                if request.htmx:
                    moved = initiative.function != old_function
                    return _initiative_saved_response(request, squad, initiative, whole_list=moved)
                messages.success(request, f"Initiative “{initiative.title}” saved.")
                url = reverse("squads:plan", args=[squad.key])
                return redirect(f"{url}#initiative-{initiative.key}")
        initiative = _initiative_or_404(squad, ikey)
    else:
        form = InitiativeForm(squad=squad, instance=initiative, functions=functions)
        form.base_version = initiative.version
    if request.htmx:
        context = {
            "squad": squad,
            "card": _initiative_card(squad, initiative, form, conflict=conflict),
            "view": _arrangement(request),
            **_squad_flags(request, squad),
        }
        return render(request, "squads/plan.html#initiative", context)
    context = _plan_context(
        request,
        squad,
        editing=initiative,
        initiative_form=form,
        initiative_conflict=conflict,
    )
    return render(request, "squads/plan.html", context)


INITIATIVE_TEXT_FIELDS = ("description", "counter_measure")


def _initiative_conflict(stale: versioning.Conflict, form: InitiativeForm, data):
    names = InitiativeForm.VALUE_FIELDS
    labels = {name: str(form.fields[name].label) for name in names}
    stages = dict(Stage.objects.values_list("pk", "name"))
    segments = dict(Segment.objects.values_list("pk", "name"))
    statuses = dict(Initiative.Status.choices)

    def show(name: str, value) -> str:
        if value is None or value == "":
            return "—"
        if name == "stage":
            return stages.get(value, "a removed stage")
        if name == "segment":
            return segments.get(value, "a removed segment")
        if name == "status":
            return str(statuses.get(value, value))
        if name in ("starts", "ends"):
            return value.strftime("%-d %b %Y")
        if name.startswith("impact_"):
            return f"{value:+d}" if value else "0"
        if name == "headcount":
            return plain_number(value)
        return str(value)

    return conflicts.record_conflict(
        stale,
        what="initiative",
        draft=form.values(),
        raw_draft={name: data.get(name, "") for name in names},
        names=names,
        labels=labels,
        text_fields=INITIATIVE_TEXT_FIELDS,
        show=show,
    )


def _initiative_initial(values: dict) -> dict:
    initial = dict(values)
    initial["headcount"] = plain_number(values.get("headcount"))
    return initial
