"""The company's goals: the alignment of the cycle's objectives with them (`/goals/`), one
goal's page, and leadership's editor (docs/outcomes.md, "Goals above objectives").

Everyone signed in reads the goals; leadership (core.access.can_edit_goals) creates, edits,
reorders and removes them. Editing is co-written: a save names the version the editor
started from, and a save that meets a newer one shows the conflict view with the draft kept.
Removing is planning/removal_views.py's, at an address under the goal's.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from core import access, ordering, versioning
from core.cycles import current_cycle
from core.http import AuthedRequest
from core.people import display_name
from core.removal import gone_or_404
from journeys.outcomes import outcome_sentence
from squads import conflicts, services
from squads.alignment import alignment, goal_years, goals_for_pages, with_stages
from squads.forms import GoalForm
from squads.models import Goal

READ_ONLY = "Only leadership can change the company's goals."


def _goal_or_404(key: str) -> Goal:
    """The live goal of this key, with its owner and segments; 410 when it was removed."""
    goal = goals_for_pages().filter(key=key).first()
    if goal is None:
        gone_or_404(Goal.everything, "goal", key=key)
    return goal


def _editor(request: AuthedRequest) -> None:
    if not access.can_edit_goals(access.actor_for(request)):
        raise PermissionDenied(READ_ONLY)


@require_http_methods(["GET", "HEAD", "POST"])
def goal_list(request: AuthedRequest) -> HttpResponse:
    """Every goal, the cycle's objectives that serve it and their key results; below, the
    objectives serving no goal and the goals no objective serves.

    POST puts the goals in the order dragged or moved by keyboard (static/js/reorder.js):
    leadership's, like the arrows (`goal_move`). The list's own address, as a goal's key
    could be any word after /goals/."""
    if request.method == "POST":
        _editor(request)
        return ordering.order_answer(
            request,
            lambda keys, was: services.goal_order_set(keys=keys, was=was),
            back=reverse("goals:list"),
        )
    cycle = current_cycle(request)
    context = {
        "cycle": cycle,
        "alignment": alignment(cycle),
        "can_edit": access.can_edit_goals(access.actor_for(request)),
        "nav": "goals",
    }
    return render(request, "squads/goals.html", context)


@require_safe
def goal_detail(request: AuthedRequest, key: str) -> HttpResponse:
    goal = _goal_or_404(key)
    cycle = current_cycle(request)
    found = alignment(cycle, only=goal)
    node = found.goals[0]
    with_stages(node.objectives)
    segments = [
        (segment, outcome_sentence(segment, owner=False)) for segment in goal.segments.all()
    ]
    context = {
        "cycle": cycle,
        "goal": goal,
        "node": node,
        "years": goal_years(goal),
        "segments": segments,
        "can_edit": access.can_edit_goals(access.actor_for(request)),
        "nav": "goals",
    }
    return render(request, "squads/goal.html", context)


@require_http_methods(["GET", "HEAD", "POST"])
def goal_create(request: AuthedRequest) -> HttpResponse:
    _editor(request)
    if request.method == "POST":
        form = GoalForm(request.POST)
        if form.is_valid():
            try:
                goal = services.goal_create(
                    key=form.cleaned_data["key"],
                    values=form.fields_for_service(),
                    segments=form.cleaned_data["segments"],
                    by=request.user,
                )
            except ValidationError as error:
                form.add_service_errors(error)
            else:
                messages.success(request, f"The goal “{goal.name}” is added.")
                return redirect("goals:detail", key=goal.key)
    else:
        form = GoalForm()
    return render(request, "squads/goal_form.html", {"form": form, "nav": "goals"})


NAMES = services.GOAL_FIELDS


def _conflict(stale: versioning.Conflict, form: GoalForm, values: dict, data):
    def show(name: str, value) -> str:
        if value is None or value == "":
            return "—"
        if name == "owner":
            person = get_user_model().objects.filter(pk=value).select_related("profile").first()
            return display_name(person) if person is not None else "—"
        return str(value)

    return conflicts.record_conflict(
        stale,
        what="goal",
        draft=values,
        raw_draft={name: data.get(name, "") for name in NAMES},
        names=NAMES,
        labels={name: str(form.fields[name].label) for name in NAMES},
        text_fields=("description", "customer_success"),
        show=show,
    )


@require_http_methods(["GET", "HEAD", "POST"])
def goal_edit(request: AuthedRequest, key: str) -> HttpResponse:
    goal = _goal_or_404(key)
    _editor(request)
    conflict = None
    version = goal.version
    if request.method == "POST":
        data = request.POST
        if data.get("choice") == "mine":
            try:
                draft = conflicts.draft_data({}, data.get("draft"), NAMES)
            except conflicts.UnreadableDraft:
                return HttpResponseBadRequest(conflicts.UNREADABLE_DRAFT)
            data = data.copy()  # the segments ticked stay as posted
            for name, value in draft.items():
                data[name] = value
        form = GoalForm(data, goal=goal)
        version = versioning.posted_version(request.POST)
        if form.is_valid():
            values = form.fields_for_service()
            try:
                services.goal_update(
                    goal=goal,
                    values=values,
                    segments=form.cleaned_data["segments"],
                    by=request.user,
                    version=version,
                    reason=versioning.save_reason(data),
                )
            except versioning.Conflict as stale:
                conflict = _conflict(stale, form, values, data)
                version = conflict.version
                initial = {**conflict.merge.values}
                initial["segments"] = [s.pk for s in form.cleaned_data["segments"]]
                form = GoalForm(goal=goal, initial=initial)
            except ValidationError as error:
                form.add_service_errors(error)
            else:
                messages.success(request, f"The goal “{goal.name}” is saved.")
                return redirect("goals:detail", key=goal.key)
    else:
        form = GoalForm(goal=goal)
    context = {
        "form": form,
        "goal": goal,
        "version": version,
        "conflict": conflict,
        "nav": "goals",
    }
    return render(request, "squads/goal_form.html", context)


@require_POST
def goal_move(request: AuthedRequest, key: str) -> HttpResponse:
    goal = _goal_or_404(key)
    _editor(request)
    direction = request.POST.get("direction", "")
    if direction not in ("up", "down"):
        messages.error(request, "Move a goal up or down.")
    else:
        services.goal_move(goal=goal, direction=direction)
    return redirect(reverse("goals:list") + f"#goal-{goal.key}")
