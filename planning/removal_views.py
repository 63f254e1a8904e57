"""Removing and restoring, as people do it: a confirmation page for each kind of thing, the
Recently removed page, and restore (with the Undo in the message after a removal).

A confirmation is a plain page (GET) saying what goes and what it takes with it, what it
warns of, what it refuses, and the question to answer when a choice exists; removing is a
POST of its form, with the digest of what the page showed (planning.removals). Each view asks
core.access whether this person may remove the thing: outsiders to a thing nobody may read
get 404, those who read but may not change it 403. The addresses sit under each thing's own
(journeys/urls.py, squads/urls.py, dependencies/urls.py); the views are here, in the top
layer, because a removal reaches across apps.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from core import access
from core.http import AuthedRequest
from core.models import Removal
from core.people import display_name
from core.removal import Gone
from dependencies.models import Dependency
from journeys.models import Journey, Stage
from planning import removals, restores
from squads import access as squad_access
from squads.models import Comment, Goal, Initiative, KeyResult, Squad

Kind = Removal.Kind
REMOVED_PAGE_SIZE = 50


def _safe_next(request: AuthedRequest) -> str | None:
    url = request.POST.get("next") or request.GET.get("next")
    if (
        url
        and url.startswith("/")
        and url_has_allowed_host_and_scheme(
            url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        )
    ):
        return url
    return None


def _when(moment) -> str:
    return timezone.localtime(moment).strftime("%-d %b %Y, %H:%M")


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def _live(queryset, what: str, request: AuthedRequest, back: str, **lookup):
    """The live row, or: 404 when there is none; when it was removed, for a repeated POST
    the page it came from, saying so, and for anything else the "removed" page (Gone)."""
    rows = list(queryset.filter(**lookup).order_by("removal_id", "-pk")[:1])
    if not rows:
        raise Http404(f"No such {what}.")
    row = rows[0]
    if row.removal_id is None:
        return row
    if request.method == "POST":
        raise _AlreadyGone(row, back)
    raise Gone(row, what)


class _AlreadyGone(Exception):
    def __init__(self, row, back: str) -> None:
        super().__init__("removed already")
        self.row = row
        self.back = back


def _undo_tag(removal: Removal) -> str:
    """The message's extra tag that shows an Undo button (templates/base.html)."""
    return f"undo:{removal.pk}"


def _already(request: AuthedRequest, removal: Removal, back: str) -> HttpResponse:
    actor = access.actor_for(request)
    if removal.restored_at is not None or removal.purged_at is not None:
        raise Http404("No such thing.")
    text = (
        f"{_sentence(removal.label)} was removed already, by "
        f"{display_name(removal.removed_by)} on {_when(removal.removed_at)}."
    )
    extra = _undo_tag(removal) if access.can_restore(actor, removal) else ""
    messages.info(request, text, extra_tags=extra)
    return redirect(back)


def _confirm(
    request: AuthedRequest,
    *,
    kind: str,
    target,
    back: str,
    done: str,
    remove: Callable[..., Removal],
) -> HttpResponse:
    """The confirmation page of one removal, and the removal when it is posted."""
    plan = removals.removal_plan(kind, target)
    error = ""
    if request.method == "POST":
        try:
            removal = remove(
                by=request.user,
                seen=request.POST.get("seen", ""),
                answered=request.POST.get("answer") == "yes",
            )
        except removals.AlreadyRemoved as already:
            return _already(request, already.removal, back)
        except ValidationError as refused:
            error = " ".join(refused.messages)
            if refused.code == removals.CHANGED:
                target = type(target).everything.get(pk=target.pk)
                plan = removals.removal_plan(kind, _with_relations(kind, target))
        else:
            messages.success(
                request,
                f"Removed {plan.label}. You can restore it for {_days()} from Recently removed.",
                extra_tags=_undo_tag(removal),
            )
            return redirect(done)
    context = {
        "plan": plan,
        "back": back,
        "error": error,
        "answered": request.POST.get("answer") == "yes",
        "keep_days": _days(),
        "next": _safe_next(request) or "",
    }
    return render(request, "planning/remove.html", context)


def _days() -> str:
    return f"{settings.REMOVAL_KEEP_DAYS} days"


def _with_relations(kind: str, target):
    related = removals.PLANS[kind][2]
    rows = type(target).everything.all()
    return (rows.select_related(*related) if related else rows).get(pk=target.pk)


def _removing(view):
    """Sends a repeated POST of a removal back where it came from (see _live)."""

    def wrapped(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except _AlreadyGone as gone:
            removal = Removal.objects.select_related("removed_by__profile").get(
                pk=gone.row.removal_id
            )
            return _already(request, removal, gone.back)

    wrapped.__name__ = view.__name__
    wrapped.__doc__ = view.__doc__
    return wrapped


# ---------------------------------------------------------------------------------------
# The confirmation pages
# ---------------------------------------------------------------------------------------

READ_ONLY_JOURNEYS = "Only leadership can change the journey map."


@require_http_methods(["GET", "HEAD", "POST"])
@_removing
def journey_remove(request: AuthedRequest, key: str) -> HttpResponse:
    back = reverse("journeys:detail", args=[key])
    journey = _live(Journey.everything, "journey", request, reverse("journeys:list"), key=key)
    if not access.can_edit_journeys(access.actor_for(request)):
        raise PermissionDenied(READ_ONLY_JOURNEYS)

    def remove(**kwargs) -> Removal:
        return removals.journey_remove(journey=journey, **kwargs)

    done = reverse("journeys:list")
    return _confirm(request, kind=Kind.JOURNEY, target=journey, back=back, done=done, remove=remove)


@require_http_methods(["GET", "HEAD", "POST"])
@_removing
def stage_remove(request: AuthedRequest, key: str, stage_key: str) -> HttpResponse:
    journey = get_object_or_404(Journey, key=key)
    back = reverse("journeys:detail", args=[journey.key])
    stage = _live(
        Stage.everything.select_related("journey"),
        "stage",
        request,
        back,
        journey=journey,
        key=stage_key,
    )
    if not access.can_edit_journeys(access.actor_for(request)):
        raise PermissionDenied(READ_ONLY_JOURNEYS)

    def remove(**kwargs) -> Removal:
        return removals.stage_remove(stage=stage, **kwargs)

    return _confirm(
        request,
        kind=Kind.STAGE,
        target=stage,
        back=f"{back}#stage-{stage.pk}",
        done=back,
        remove=remove,
    )


@require_http_methods(["GET", "HEAD", "POST"])
@_removing
def squad_remove(request: AuthedRequest, key: str) -> HttpResponse:
    squads = reverse("squads:list")
    squad = _live(Squad.everything.select_related("cycle"), "squad", request, squads, key=key)
    if not access.can_remove_squad(access.actor_for(request)):
        raise PermissionDenied("Only leadership can remove a squad.")

    def remove(**kwargs) -> Removal:
        return removals.squad_remove(squad=squad, **kwargs)

    back = reverse("squads:detail", args=[squad.key])
    return _confirm(request, kind=Kind.SQUAD, target=squad, back=back, done=squads, remove=remove)


def _plan_url(squad: Squad, anchor: str) -> str:
    return reverse("squads:plan", args=[squad.key]) + f"#{anchor}"


@require_http_methods(["GET", "HEAD", "POST"])
@_removing
def initiative_remove(request: AuthedRequest, key: str, ikey: str) -> HttpResponse:
    squad, can_edit = squad_access.get_plan_for_user(request, key)
    back = _plan_url(squad, "initiatives")
    initiative = _live(
        Initiative.everything.select_related("squad"),
        "initiative",
        request,
        back,
        squad=squad,
        key=ikey,
    )
    if not can_edit:
        raise PermissionDenied("Only the squad's members can change its plan.")

    def remove(*, answered: bool, **kwargs) -> Removal:
        return removals.initiative_remove(initiative=initiative, **kwargs)

    return _confirm(
        request,
        kind=Kind.INITIATIVE,
        target=initiative,
        back=_plan_url(squad, f"initiative-{initiative.key}"),
        done=back,
        remove=remove,
    )


@require_http_methods(["GET", "HEAD", "POST"])
@_removing
def key_result_remove(request: AuthedRequest, key: str, kr_key: str) -> HttpResponse:
    squad, _ = squad_access.get_squad_for_user(request, key)
    okr_url = reverse("squads:detail", args=[squad.key]) + "#okr"
    key_result = _live(
        KeyResult.everything.select_related("okr__squad"),
        "key result",
        request,
        okr_url,
        okr__squad=squad,
        okr__cycle_id=squad.cycle_id,
        key=kr_key,
    )
    if not access.can_manage_squad(access.actor_for(request), squad):
        raise PermissionDenied("Only the squad's DRI or leadership can change its OKR.")

    def remove(*, answered: bool, **kwargs) -> Removal:
        return removals.key_result_remove(key_result=key_result, **kwargs)

    back = reverse("squads:detail", args=[squad.key]) + f"#kr-{key_result.key}"
    return _confirm(
        request, kind=Kind.KEY_RESULT, target=key_result, back=back, done=okr_url, remove=remove
    )


@require_http_methods(["GET", "HEAD", "POST"])
@_removing
def dependency_remove(request: AuthedRequest, key: str) -> HttpResponse:
    board = _safe_next(request) or reverse("board:board")
    dependency = _live(
        Dependency.everything.select_related("from_squad", "from_initiative__squad"),
        "dependency",
        request,
        board,
        key=key,
    )
    if not access.can_edit_dependency(access.actor_for(request), dependency):
        raise PermissionDenied("Only the needing squad's members can change this dependency.")

    def remove(*, answered: bool, **kwargs) -> Removal:
        return removals.dependency_remove(dependency=dependency, **kwargs)

    back = _safe_next(request) or f"{reverse('board:board')}?dep={dependency.key}"
    return _confirm(
        request, kind=Kind.DEPENDENCY, target=dependency, back=back, done=board, remove=remove
    )


def _comment_part(comment: Comment) -> str:
    if comment.initiative_id:
        return f"comments-initiative-{comment.initiative.key}"
    slug = {"not_doing": "not-doing"}.get(comment.section, comment.section.replace("_", "-"))
    return f"comments-{slug}"


@require_http_methods(["GET", "HEAD", "POST"])
@_removing
def comment_remove(request: AuthedRequest, key: str, comment: int) -> HttpResponse:
    squad, _ = squad_access.get_plan_for_user(request, key)
    thread = reverse("squads:plan", args=[squad.key])
    found = _live(
        Comment.everything.select_related("author__profile", "initiative"),
        "comment",
        request,
        thread,
        squad=squad,
        pk=comment,
    )
    if found.initiative is not None and found.initiative.removal_id is not None:
        raise Gone(found.initiative, "initiative")
    if not access.can_remove_comment(access.actor_for(request), found.author_id):
        raise PermissionDenied("Only its author, or an administrator, can remove a comment.")

    def remove(*, answered: bool, **kwargs) -> Removal:
        return removals.comment_remove(comment=found, **kwargs)

    part = _plan_url(squad, _comment_part(found))
    return _confirm(request, kind=Kind.COMMENT, target=found, back=part, done=part, remove=remove)


@require_http_methods(["GET", "HEAD", "POST"])
@_removing
def goal_remove(request: AuthedRequest, key: str) -> HttpResponse:
    goals = reverse("goals:list")
    goal = _live(Goal.everything, "goal", request, goals, key=key)
    if not access.can_edit_goals(access.actor_for(request)):
        raise PermissionDenied("Only leadership can change the company's goals.")

    def remove(**kwargs) -> Removal:
        return removals.goal_remove(goal=goal, **kwargs)

    back = reverse("goals:detail", args=[goal.key])
    return _confirm(request, kind=Kind.GOAL, target=goal, back=back, done=goals, remove=remove)


# ---------------------------------------------------------------------------------------
# Recently removed, and restoring
# ---------------------------------------------------------------------------------------


@require_safe
def removed(request: AuthedRequest) -> HttpResponse:
    """What this person removed, or may restore, that can still come back: newest first."""
    actor = access.actor_for(request)
    rows = access.restorable_removals(actor, restores.waiting_removals()).select_related(
        "removed_by__profile"
    )
    page = Paginator(rows, REMOVED_PAGE_SIZE).get_page(request.GET.get("page"))
    shown = list(page)
    for removal in shown:
        removal.until = restores.keep_until(removal)
        removal.took = (removal.details or {}).get("took", [])
    context = {"removals": shown, "page_obj": page, "keep_days": _days(), "nav": "removed"}
    return render(request, "planning/removed.html", context)


def restored_url(removal: Removal) -> str:
    """Where the restored thing is shown."""
    kind, pk = removal.kind, removal.target_id
    if kind == Kind.JOURNEY:
        journey = Journey.objects.filter(pk=pk).first()
        return reverse("journeys:detail", args=[journey.key]) if journey else reverse("home")
    if kind == Kind.STAGE:
        stage = Stage.objects.select_related("journey").filter(pk=pk).first()
        if stage:
            return reverse("journeys:detail", args=[stage.journey.key]) + f"#stage-{stage.pk}"
    if kind == Kind.SQUAD:
        squad = Squad.objects.filter(pk=pk).first()
        if squad:
            return reverse("squads:detail", args=[squad.key])
    if kind == Kind.INITIATIVE:
        initiative = Initiative.objects.select_related("squad").filter(pk=pk).first()
        if initiative:
            return _plan_url(initiative.squad, f"initiative-{initiative.key}")
    if kind == Kind.KEY_RESULT:
        key_result = KeyResult.objects.select_related("okr__squad").filter(pk=pk).first()
        if key_result:
            url = reverse("squads:detail", args=[key_result.okr.squad.key])
            return f"{url}#kr-{key_result.key}"
    if kind == Kind.DEPENDENCY:
        dependency = Dependency.objects.filter(pk=pk).first()
        if dependency:
            return f"{reverse('board:board')}?dep={dependency.key}"
    if kind == Kind.COMMENT:
        comment = Comment.objects.select_related("squad").filter(pk=pk).first()
        if comment:
            return _plan_url(comment.squad, f"comment-{comment.pk}")
    if kind == Kind.GOAL:
        goal = Goal.objects.filter(pk=pk).first()
        if goal:
            return reverse("goals:detail", args=[goal.key])
    return reverse("removed")


@require_POST
def removal_restore(request: AuthedRequest, pk: int) -> HttpResponse:
    actor = access.actor_for(request)
    removal = get_object_or_404(access.restorable_removals(actor, Removal.objects.all()), pk=pk)
    try:
        notes = restores.removal_restore(removal=removal, by=request.user)
    except ValidationError as refused:
        if refused.code == removals.ALREADY:
            messages.info(request, " ".join(refused.messages))
        else:
            messages.error(request, " ".join(refused.messages))
        return redirect(_safe_next(request) or reverse("removed"))
    messages.success(request, " ".join([f"Restored {removal.label}.", *notes]))
    return redirect(_safe_next(request) or restored_url(removal))
