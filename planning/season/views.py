"""The season pages: the cycles (/cycles/), a cycle's season (/cycles/<key>/) with its
moves, readiness check, drift since commit and history, and carrying work forward into the
next cycle. Everyone signed in reads them; leadership opens and moves cycles."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from core import access
from core.cycles import look_at
from core.http import AuthedRequest
from core.models import CYCLE_BACK, CYCLE_FORWARD, CYCLE_STATES, Cycle
from planning.models import CycleEvent
from planning.season import selectors, services
from planning.season.forms import CarryForwardForm, CycleForm, MoveForm

READ_ONLY_CREATE = "Only leadership opens a new cycle."
READ_ONLY_MOVE = "Only leadership moves a cycle through the season."

# What each move's button says, by the state it leads to from the one before it.
FORWARD_LABELS = {
    "reconciling": "Start reconciling",
    "committed": "Commit to this plan",
    "in_flight": "Mark in flight",
    "closed": "Close the cycle",
}
BACK_LABELS = {
    "draft": "Back to draft",
    "reconciling": "Back to reconciling",
    "in_flight": "Reopen: back to in flight",
}
STATE_HINTS = {
    "draft": "Squads write their plans.",
    "reconciling": "Operations and the squads bring the plans together and settle what "
    "blocks committing.",
    "committed": "Leadership committed to the plan: drift since then is measured.",
    "in_flight": "The work is under way.",
    "closed": "The cycle is over; its unfinished work can carry forward.",
}


@dataclass
class Move:
    to: str
    label: str
    kind: str  # "forward", "commit" or "back"
    form: MoveForm


@dataclass
class Step:
    state: str
    label: str
    hint: str
    where: str  # "done", "current" or "ahead"


def _move_form(cycle: Cycle, to: str, kind: str, data=None) -> MoveForm:
    if kind == "back":
        label, help_text = "Why go back?", "Required: everyone reads it in the cycle's history."
    elif kind == "commit":
        label = "Why commit now?"
        help_text = "Required to commit while something still blocks; a note otherwise."
    else:
        label, help_text = "Note", "Optional: kept in the cycle's history."
    # `to` comes from the request: only a real state names the form's fields.
    return MoveForm(
        data,
        initial={"to": to, "seen": cycle.state},
        auto_id=f"move-{to}-%s" if to in CYCLE_STATES else "move-%s",
        reason_label=label,
        reason_help=help_text,
    )


def _moves(cycle: Cycle, bound: MoveForm | None) -> list[Move]:
    moves = []
    forward, back = CYCLE_FORWARD.get(cycle.state), CYCLE_BACK.get(cycle.state)
    for to, kind, label in (
        (forward, "commit" if forward == "committed" else "forward", FORWARD_LABELS.get(forward)),
        (back, "back", BACK_LABELS.get(back)),
    ):
        if to is None:
            continue
        matches = bound is not None and bound.data.get("to") == to
        form = bound if matches else _move_form(cycle, to, kind)
        moves.append(Move(to=to, label=label, kind=kind, form=form))
    return moves


def _steps(cycle: Cycle) -> list[Step]:
    at = CYCLE_STATES.index(cycle.state)
    return [
        Step(
            state=state,
            label=Cycle.State(state).label,
            hint=STATE_HINTS[state],
            where="done" if i < at else "current" if i == at else "ahead",
        )
        for i, state in enumerate(CYCLE_STATES)
    ]


def _season_response(
    request: AuthedRequest,
    cycle: Cycle,
    *,
    bound: MoveForm | None = None,
    refused: services.NotReady | None = None,
    status: int = 200,
) -> HttpResponse:
    # The readiness check's links (the journey map's "No squad", the board, capacity, a new
    # squad) open on the cycle on screen: make it this one, as the top bar then shows.
    look_at(request, cycle)
    actor = access.actor_for(request)
    history = selectors.cycle_history(cycle)
    before_commit = cycle.state in (Cycle.State.DRAFT, Cycle.State.RECONCILING)
    if refused is not None:
        readiness = refused.readiness
    else:
        readiness = selectors.readiness(cycle) if before_commit else None
    moves = _moves(cycle, bound) if access.can_move_cycle(actor) else []
    context = {
        "cycle": cycle,
        "steps": _steps(cycle),
        "state_hint": STATE_HINTS[cycle.state],
        "can_move": access.can_move_cycle(actor),
        "can_carry": access.can_create_cycle(actor) and cycle.may_carry_forward(),
        "moves": moves,
        # A refused move the page no longer offers (the cycle moved meanwhile): its errors
        # and what was typed are shown above the moves, so nothing typed is lost.
        "stray": bound if bound is not None and all(m.form is not bound for m in moves) else None,
        "readiness": readiness,
        "refused": refused,
        "drift": selectors.drift_report(cycle, actor),
        "history": history,
        "carried": next((e for e in history if e.action == CycleEvent.Action.CARRIED), None),
        "nav": "season",
    }
    return render(request, "planning/season.html", context, status=status)


# ---------------------------------------------------------------------------------------
# The cycles
# ---------------------------------------------------------------------------------------


@require_http_methods(["GET", "HEAD", "POST"])
def cycles(request: AuthedRequest) -> HttpResponse:
    """Every cycle with its state and dates; leadership opens a new one here."""
    can_create = access.can_create_cycle(access.actor_for(request))
    form = None
    if request.method == "POST":
        if not can_create:
            raise PermissionDenied(READ_ONLY_CREATE)
        form = CycleForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                cycle = services.cycle_create(
                    key=data["key"],
                    name=data["name"],
                    starts=data["starts"],
                    ends=data["ends"],
                    by=request.user,
                )
            except ValidationError as error:
                form.add_service_errors(error)
            else:
                messages.success(
                    request, f"{cycle.name} is open, as a draft: squads can form in it now."
                )
                return redirect("cycle", key=cycle.key)
    elif can_create:
        form = CycleForm()
    return render(
        request,
        "planning/cycles.html",
        {
            "cycles": selectors.cycles_for_list(),
            "form": form,
            "can_create": can_create,
            "nav": "season",
        },
    )


# ---------------------------------------------------------------------------------------
# One cycle's season
# ---------------------------------------------------------------------------------------


@require_safe
def season(request: AuthedRequest, key: str) -> HttpResponse:
    cycle = get_object_or_404(Cycle, key=key)
    return _season_response(request, cycle)


@require_POST
def cycle_move(request: AuthedRequest, key: str) -> HttpResponse:
    """Move the cycle one step (committing included); refused with the reason, never in
    silence, and what the person typed stays in the form."""
    cycle = get_object_or_404(Cycle, key=key)
    if not access.can_move_cycle(access.actor_for(request)):
        raise PermissionDenied(READ_ONLY_MOVE)
    to = request.POST.get("to", "")
    kind = "back" if CYCLE_BACK.get(cycle.state) == to else "commit" if to == "committed" else ""
    form = _move_form(cycle, to, kind or "forward", data=request.POST)
    if not form.is_valid():
        return _season_response(request, cycle, bound=form)
    data = form.cleaned_data
    try:
        event = services.cycle_move(
            cycle=cycle,
            to=data["to"],
            expected=data["seen"],
            by=request.user,
            reason=data["reason"],
            override=data["override"],
        )
    except services.NotReady as refused:
        form.add_error(None, refused.message)
        return _season_response(request, cycle, bound=form, refused=refused)
    except ValidationError as error:
        form.add_service_errors(error)
        cycle.refresh_from_db()
        return _season_response(request, cycle, bound=form)
    label = Cycle.State(event.to_state).label.lower()
    if event.to_state == Cycle.State.COMMITTED:
        text = (
            f"{cycle.name} is committed. Its baseline is kept: drift since commit shows "
            "here, on the board and on each squad's plan."
        )
        if event.overridden:
            text += (
                f" {event.overridden} thing{'s' if event.overridden != 1 else ''} still "
                "blocked; your reason is in the cycle's history."
            )
    else:
        text = f"{cycle.name} is {label} now."
    messages.success(request, text)
    return redirect("cycle", key=cycle.key)


# ---------------------------------------------------------------------------------------
# Carrying work forward
# ---------------------------------------------------------------------------------------


@require_http_methods(["GET", "HEAD", "POST"])
def carry_forward(request: AuthedRequest, key: str) -> HttpResponse:
    """Open the next cycle with the unfinished work leadership picks from this one."""
    source = get_object_or_404(Cycle, key=key)
    if not access.can_create_cycle(access.actor_for(request)):
        raise PermissionDenied(READ_ONLY_CREATE)
    candidates = selectors.carry_candidates(source) if source.may_carry_forward() else []
    changed = services.CHANGED_MEANWHILE.format(cycle=source.name)
    form = CarryForwardForm(
        request.POST if request.method == "POST" else None,
        candidates=candidates,
        changed_meanwhile=changed,
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        initiatives, dependencies, key_results = form.work()
        try:
            carried = services.cycle_carry_forward(
                source=source,
                key=data["key"],
                name=data["name"],
                starts=data["starts"],
                ends=data["ends"],
                initiative_ids=initiatives,
                dependency_ids=dependencies,
                key_result_ids=key_results,
                by=request.user,
            )
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            messages.success(
                request,
                f"{carried.cycle.name} is open, as a draft, with {carried.squads} squad"
                f"{'s' if carried.squads != 1 else ''}, {carried.initiatives} initiative"
                f"{'s' if carried.initiatives != 1 else ''}, {carried.dependencies} "
                f"dependenc{'ies' if carried.dependencies != 1 else 'y'} and "
                f"{carried.key_results} key result{'s' if carried.key_results != 1 else ''} "
                f"carried forward from {source.name}. {source.name} is unchanged.",
            )
            return redirect("cycle", key=carried.cycle.key)
    picked = {
        name: form.picked(name) for name in ("initiatives", "dependencies", "key_results", "squads")
    }
    work_errors = []
    for name in picked:
        for error in form.errors.get(name, ()):
            if error not in work_errors:
                work_errors.append(error)
    return render(
        request,
        "planning/carry_forward.html",
        {
            "source": source,
            "form": form,
            "work_errors": work_errors,
            "candidates": [c for c in candidates if c.count],
            "picked": picked,
            "nav": "season",
        },
    )
