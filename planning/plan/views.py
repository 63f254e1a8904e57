"""A squad's plan: sections, the not-doing list, initiatives and the dependencies it needs
and provides, each edited in place.

Each page is one template whose updatable parts are partials. An HTMX request gets only the
part it asked for; a plain request gets the whole page, with the part in edit mode when the
URL is an edit URL, so every page and form also works without script.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST, require_safe
from django_htmx.http import reswap, retarget

from core import access, ordering, pagecache, versioning
from core.http import AuthedRequest, focus_after
from core.limits import changes_nothing
from journeys.models import Segment, Stage
from planning.plan.presenters import (
    NOT_DOING,
    PLAN_READ_ONLY,
    SECTIONS,
    VIEWS,
    arrangement,
    initiative_card,
    initiative_or_404,
    initiatives_context,
    initiatives_of,
    live_context,
    plan_context,
    plan_for,
    section_template_and_context,
    similar_work_for,
)
from squads import access as squad_access
from squads import conflicts, services
from squads.forms import (
    InitiativeForm,
    NotDoingForm,
    PlanSectionForm,
    known_functions,
    plain_number,
)
from squads.models import Initiative, Squad
from squads.views import _forbid


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
    live = live_context(request, squad, revision=stamp)
    viewer = (
        tuple(sorted(access.squad_flags(request, squad).items())),
        access.can_approve_plan(actor, squad),
        access.can_create_dependency(actor, squad),
    )

    def draw(stand_ins: dict) -> str:
        context = {**plan_context(request, squad, live=live), **stand_ins}
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
        request, *section_template_and_context(request, squad, slug, form, conflict, plan)
    )


def _known_section(slug: str) -> None:
    if slug not in SECTIONS and slug != NOT_DOING:
        raise Http404("No such section.")


@require_safe
def plan_section(request: AuthedRequest, key: str, section: str) -> HttpResponse:
    squad, _ = squad_access.get_plan_for_user(request, key)
    _known_section(section)
    if not request.htmx:
        return redirect(reverse("squads:plan", args=[squad.key]) + f"#{section}")
    return _section_response(request, squad, section)


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
            if "draft" not in data:
                return HttpResponseBadRequest(conflicts.UNREADABLE_DRAFT)
            data = data.copy()
            data["text"] = data["draft"]
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
        plan = plan_for(squad)
        form = PlanSectionForm(
            initial={"text": getattr(plan, field_name)}, section=field_name, label=title
        )
        form.base_version = getattr(plan, f"{field_name}_version")
    if request.htmx:
        return _section_response(request, squad, section, form, conflict)
    context = plan_context(
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
            try:
                # Read up to twice what a list holds, so a long one gets its message.
                items = conflicts.json_lines(
                    request.POST.get("draft"), limit=2 * NotDoingForm.MAX_LINES
                )
            except conflicts.UnreadableDraft:
                return HttpResponseBadRequest(conflicts.UNREADABLE_DRAFT)
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
                    form = NotDoingForm.posted(items, versioning.posted_version(request.POST))
                    form.base_version = versioning.posted_version(request.POST)
                if not form.errors:  # the form's own check may have said it already
                    form.add_service_errors(error)
            else:
                if request.htmx:
                    return _section_response(request, squad, NOT_DOING)
                messages.success(request, "Not-doing list saved.")
                return redirect(reverse("squads:plan", args=[squad.key]) + f"#{NOT_DOING}")
    else:
        plan = plan_for(squad)
        form = NotDoingForm(lines=plan.not_doing)
        form.base_version = plan.not_doing_version
    if request.htmx:
        return _section_response(request, squad, NOT_DOING, form, conflict)
    context = plan_context(request, squad, not_doing_form=form, not_doing_conflict=conflict)
    return render(request, "squads/plan.html", context)


# Initiatives ---------------------------------------------------------------------------


def _balance_oob(request: AuthedRequest, squad: Squad, initiatives: list[Initiative]) -> str:
    context = initiatives_context(request, squad, initiatives=initiatives)
    context["oob"] = True
    return render_to_string("squads/plan.html#balance", context, request=request)


def _initiative_saved_response(
    request: AuthedRequest, squad: Squad, initiative: Initiative, *, whole_list: bool
) -> HttpResponse:
    """The saved initiative, or the whole list when it moved group; the balance alongside."""
    initiatives = initiatives_of(squad)
    if whole_list:
        context = initiatives_context(request, squad, initiatives=initiatives)
        response = render(request, "squads/plan.html#initiatives", context)
        retarget(response, "#initiatives")
        reswap(response, "outerHTML")
    else:
        fresh = next(i for i in initiatives if i.pk == initiative.pk)
        context = {
            "squad": squad,
            "card": initiative_card(squad, fresh),
            "view": arrangement(request),
            **access.squad_flags(request, squad),
        }
        response = render(request, "squads/plan.html#initiative", context)
    response.content += _balance_oob(request, squad, initiatives).encode()
    return response


@require_safe
def initiative_list(request: AuthedRequest, key: str) -> HttpResponse:
    squad, _ = squad_access.get_plan_for_user(request, key)
    if not request.htmx:
        url = reverse("squads:plan", args=[squad.key])
        view = request.GET.get("view")
        query = f"?view={view}" if view in VIEWS else ""
        return redirect(f"{url}{query}#initiatives")
    return render(request, "squads/plan.html#initiatives", initiatives_context(request, squad))


@require_POST
def initiative_move(request: AuthedRequest, key: str, ikey: str) -> HttpResponse:
    """One place up or down among its function's initiatives: the buttons that work without
    scripts (static/js/reorder.js saves a dragged order through initiative_order)."""
    squad = squad_access.get_squad_rw(request, key)
    initiative = initiative_or_404(squad, ikey)
    direction = request.POST.get("direction", "")
    if direction not in ("up", "down"):
        return HttpResponseBadRequest("Move an initiative up or down.")
    try:
        services.initiative_move(initiative=initiative, direction=direction)
    except ValidationError as error:
        return HttpResponseBadRequest(" ".join(error.messages))
    if not request.htmx:
        return redirect(reverse("squads:plan", args=[squad.key]) + f"#initiative-{ikey}")
    return render(request, "squads/plan.html#initiatives", initiatives_context(request, squad))


@require_POST
def initiative_order(request: AuthedRequest, key: str) -> HttpResponse:
    """One function's initiatives in the order dragged or moved by keyboard on the plan."""
    squad = squad_access.get_squad_rw(request, key)
    return ordering.order_answer(
        request,
        lambda keys, was: services.initiative_order_set(squad=squad, keys=keys, was=was),
        back=reverse("squads:plan", args=[squad.key]) + "#initiatives",
    )


@require_safe
def initiative_detail(request: AuthedRequest, key: str, ikey: str) -> HttpResponse:
    squad, _ = squad_access.get_plan_for_user(request, key)
    initiative = initiative_or_404(squad, ikey)
    if not request.htmx:
        return redirect(reverse("squads:plan", args=[squad.key]) + f"#initiative-{ikey}")
    context = {
        "squad": squad,
        "card": initiative_card(squad, initiative),
        "view": arrangement(request),
        **access.squad_flags(request, squad),
    }
    return render(request, "squads/plan.html#initiative", context)


@require_http_methods(["GET", "HEAD", "POST"])
def initiative_create(request: AuthedRequest, key: str) -> HttpResponse:
    squad = squad_access.get_squad_rw(request, key)
    functions = known_functions()
    if request.method == "POST":
        form = InitiativeForm(request.POST, squad=squad, functions=functions)
        if form.is_valid():
            try:
                initiative = services.initiative_create(
                    squad=squad,
                    key=form.cleaned_data["key"],
                    values=form.values(),
                    by=request.user,
                    milestones=form.chosen_milestones(),
                )
            except ValidationError as error:
                form.add_service_errors(error)
            else:
                if request.htmx:
                    response = _initiative_saved_response(
                        request, squad, initiative, whole_list=True
                    )
                    return focus_after(response, f"initiative-{initiative.key}")
                messages.success(request, f"Initiative “{initiative.title}” added.")
                url = reverse("squads:plan", args=[squad.key])
                return redirect(f"{url}#initiative-{initiative.key}")
    else:
        form = InitiativeForm(squad=squad, functions=functions)
    if request.htmx:
        context = {
            "squad": squad,
            "new_initiative_form": form,
            "view": arrangement(request),
            **access.squad_flags(request, squad),
        }
        return render(request, "squads/plan.html#new_initiative", context)
    context = plan_context(request, squad, new_initiative_form=form)
    return render(request, "squads/plan.html", context)


@require_http_methods(["GET", "HEAD", "POST"])
def initiative_edit(request: AuthedRequest, key: str, ikey: str) -> HttpResponse:
    squad, can_edit = squad_access.get_plan_for_user(request, key)
    initiative = initiative_or_404(squad, ikey)
    if not can_edit:
        _forbid(PLAN_READ_ONLY)
    functions = known_functions()
    conflict = None
    if request.method == "POST":
        data = request.POST
        if data.get("choice") == "mine":
            try:
                data = conflicts.draft_data(data, data.get("draft"), InitiativeForm.VALUE_FIELDS)
            except conflicts.UnreadableDraft:
                return HttpResponseBadRequest(conflicts.UNREADABLE_DRAFT)
            # The milestones chosen, all of them (the draft holds one value per field).
            data["milestones"] = request.POST.getlist("milestones")
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
                    milestones=form.chosen_milestones(),
                )
            except versioning.Conflict as stale:
                conflict = _initiative_conflict(stale, form, data)
                initiative = stale.current
                # The milestones chosen were not saved either: the editor keeps them.
                initial = _initiative_initial(conflict.merge.values)
                initial["milestones"] = [m.pk for m in form.chosen_milestones()]
                form = InitiativeForm(
                    squad=squad, instance=initiative, functions=functions, initial=initial
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
        initiative = initiative_or_404(squad, ikey)
    else:
        form = InitiativeForm(squad=squad, instance=initiative, functions=functions)
        form.base_version = initiative.version
    if request.htmx:
        context = {
            "squad": squad,
            "card": initiative_card(squad, initiative, form, conflict=conflict),
            "view": arrangement(request),
            **access.squad_flags(request, squad),
        }
        return render(request, "squads/plan.html#initiative", context)
    context = plan_context(
        request,
        squad,
        editing=initiative,
        initiative_form=form,
        initiative_conflict=conflict,
    )
    return render(request, "squads/plan.html", context)


@changes_nothing
@require_POST
def similar_work(request: AuthedRequest, key: str) -> HttpResponse:
    """Initiatives of other squads that describe work like the draft in an initiative
    editor, while it is written: for those who may edit the plan, as the editor is.

    A read: the draft is posted (it may be longer than an address holds) and nothing is
    changed or counted as a change. htmx asks as the person types and gets the list alone,
    empty when nothing is alike; without script, the editor's "Check for similar work"
    button posts the whole form here and gets the plan with the editor as it was, the draft
    unsaved, and the list in it. `?initiative=<key>`: the editor is that initiative's.
    """
    squad = squad_access.get_squad_rw(request, key)
    ikey = request.GET.get("initiative")
    initiative = initiative_or_404(squad, ikey) if ikey else None
    draft = {
        "title": request.POST.get("title", ""),
        "description": request.POST.get("description", ""),
    }
    context = {
        "squad": squad,
        "similar_work": similar_work_for(request, squad, initiative=initiative, **draft),
        # Asked for with the button: say so when nothing is alike, too.
        "similar_work_checked": "check" in request.POST,
        "similar_work_blank": not any(value.strip() for value in draft.values()),
    }
    if request.htmx:
        return render(request, "squads/plan.html#similar_work_list", context)
    # The editor as it was: the posted draft over what it started from.
    form = InitiativeForm(squad=squad, instance=initiative, functions=known_functions())
    names = InitiativeForm.VALUE_FIELDS if initiative else ("key", *InitiativeForm.VALUE_FIELDS)
    form.initial.update({name: request.POST[name] for name in names if name in request.POST})
    if "milestones" in request.POST:
        form.initial["milestones"] = request.POST.getlist("milestones")
    if initiative is None:
        page = plan_context(request, squad, new_initiative_form=form)
    else:
        # The version the editor started from: saving the draft later still meets what
        # was saved meanwhile.
        form.base_version = versioning.posted_version(request.POST)
        page = plan_context(request, squad, editing=initiative, initiative_form=form)
    return render(request, "squads/plan.html", {**page, **context})


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
