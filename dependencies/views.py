"""The company-wide dependency board, the dependency graph, and recording a dependency.

The board's filters live in the URL (a GET form and plain links), so a filtered board can be
bookmarked and shared. Each row is a partial: the provider's answers swap that row only
over HTMX, and without script a plain POST redirects back to the same filtered board.
"""

from __future__ import annotations

from collections.abc import Iterator

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    StreamingHttpResponse,
)
from django.shortcuts import redirect, render
from django.template.defaultfilters import urlencode as urlencode_filter
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.http import content_disposition_header, url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from core import access, pagecache, versioning
from core.cycles import current_cycle
from core.http import AuthedRequest
from core.models import Cycle
from core.people import choosable
from core.removal import gone_or_404
from dependencies import exports, presenters, selectors, services
from dependencies import graph as dependency_graph
from dependencies.forms import (
    ANSWER_FORMS,
    NODE_KINDS,
    BoardFilterForm,
    DependencyCreateForm,
    DependencyForm,
    RespondForm,
    people_for_owner,
)
from dependencies.models import Dependency, transition_problem
from dependencies.presenters import BOARD_COLUMNS, board_url, decorate
from squads import conflicts
from squads.forms import known_functions
from squads.models import Squad

READ_ONLY_ANSWER = "Only the providing side can answer this dependency."
READ_ONLY_EDIT = "Only the needing squad's members can change this dependency."
READ_ONLY_CREATE = "Only a squad's members can record what it needs."


# ---------------------------------------------------------------------------------------
# Shared pieces
# ---------------------------------------------------------------------------------------


def _safe_next(request: HttpRequest, url: str | None) -> str | None:
    if (
        url
        and url.startswith("/")
        and url_has_allowed_host_and_scheme(
            url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        )
    ):
        return url
    return None


def _with_anchor(url: str, anchor: str) -> str:
    return url if "#" in url else f"{url}#{anchor}"


def _filter_form(
    request: HttpRequest, cycle: Cycle | None, *, default_status: str = ""
) -> BoardFilterForm:
    squads, functions, stages = selectors.filter_choices(cycle)
    return BoardFilterForm(
        request.GET,
        squads=squads,
        functions=functions,
        stages=stages,
        default_status=default_status,
    )


def _dependency_or_404(key: str) -> Dependency:
    dep = selectors.dependency_for_board(key)
    if dep is None:
        gone_or_404(Dependency.everything, "dependency", key=key)
    return dep


def _row_response(
    request: AuthedRequest,
    dep: Dependency,
    *,
    next_url: str,
    answer: tuple[str, RespondForm] | None = None,
    error: str = "",
    warning: str = "",
) -> HttpResponse:
    return render(
        request,
        "dependencies/board.html#row",
        {
            "dep": dep,
            "next": next_url,
            "next_q": urlencode_filter(next_url),
            **_answer_context(dep, answer, in_row=True),
            "row_error": error,
            "row_warning": warning,
            "columns": BOARD_COLUMNS,
        },
    )


# What each answer's form says: (its title in the row, its page's heading, its intro).
ANSWER_WORDS = {
    "decline": (
        "Decline",
        "Decline a dependency",
        "The needing squad reads your reason in the dependency's note, with your name and "
        "today's date.",
    ),
    "at_risk": (
        "Mark at risk",
        "Mark a dependency at risk",
        "Your reason shows beside its status, and the squad that needs it is told at once.",
    ),
    "accept": (
        "Accept",
        "Accept a dependency",
        "Nobody owns it yet: name who answers for it on the provider side, or leave it unowned.",
    ),
}


def _answer_context(
    dep: Dependency, answer: tuple[str, RespondForm] | None, *, in_row: bool
) -> dict:
    if answer is None:
        return {"answer_form": None}
    action, form = answer
    title, heading, intro = ANSWER_WORDS[action]
    return {
        "answer_action": action,
        "answer_form": form,
        "answer_title": title,
        "answer_heading": heading,
        "answer_intro": intro,
        "answer_button": ANSWER_FORMS[action][2],
        "in_row": in_row,
    }


def _owner_people(dep: Dependency, action: str | None, actor: access.Actor) -> list | None:
    """Whom accepting may name as owner: asked only when nobody owns it, of operations, who
    answer from outside the provider side (anyone else who answers owns what they accept)."""
    if action != "accept" or dep.owner_id is not None or not actor.is_operations:
        return None
    return services.provider_people(dep, choosable())


# ---------------------------------------------------------------------------------------
# The board
# ---------------------------------------------------------------------------------------


@require_safe
def board(request: AuthedRequest) -> HttpResponse:
    today = timezone.localdate()
    # Before anything the board shows, the cycle included (see core.pagecache).
    read = pagecache.revisions([pagecache.BOARD, pagecache.DIRECTORY], request)
    cycle = current_cycle(request)
    actor = access.actor_for(request)
    # A row's answers depend on who asks: operations answer all; others as members of
    # their squads and as the owner of a dependency a function of theirs provides.
    viewer = (
        ("operations",)
        if actor.is_operations
        else (actor.user.pk, sorted(actor.member_of), sorted(actor.functions))
    )

    def draw(stand_ins: dict) -> str:
        form = _filter_form(request, cycle)
        context = {
            **presenters.board_context(request, form, today=today, cycle=cycle, actor=actor),
            **stand_ins,
        }
        return render_to_string("dependencies/board.html#body", context, request=request)

    body = pagecache.body(
        request,
        name="board",
        read=read,
        vary=(request.get_full_path(), cycle.pk if cycle else None, today, viewer),
        render=draw,
    )
    return render(
        request, "dependencies/board.html", {"cached_body": body, "nav": "board", "cycle": cycle}
    )


# ---------------------------------------------------------------------------------------
# The board as a file: CSV and Excel, with the board's filters and order, every page
# ---------------------------------------------------------------------------------------

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _export(request: HttpRequest) -> tuple[Iterator[list], str]:
    """The rows the board shows for this query string, and a file name without extension."""
    today = timezone.localdate()
    cycle = current_cycle(request)
    form = _filter_form(request, cycle)
    filters = form.filters(today=today, cycle_id=cycle.pk if cycle else None)
    qs = selectors.board_ordered(filters, presenters.grouping(request))
    name = f"throughline-dependencies-{cycle.key if cycle else 'all'}-{today.isoformat()}"
    return exports.rows(qs, today), name


@require_safe
def export_csv(request: AuthedRequest) -> StreamingHttpResponse:
    data, name = _export(request)
    response = StreamingHttpResponse(
        exports.csv_lines(data), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = content_disposition_header(True, f"{name}.csv")
    return response


@require_safe
def export_xlsx(request: AuthedRequest) -> StreamingHttpResponse:
    data, name = _export(request)
    response = StreamingHttpResponse(exports.xlsx_chunks(data), content_type=XLSX_TYPE)
    response["Content-Disposition"] = content_disposition_header(True, f"{name}.xlsx")
    return response


# ---------------------------------------------------------------------------------------
# The provider's answer, one row at a time
# ---------------------------------------------------------------------------------------


def _answerable(request: AuthedRequest, key: str) -> tuple[Dependency, access.Actor]:
    dep = _dependency_or_404(key)
    actor = access.actor_for(request)
    if not access.can_respond_dependency(actor, dep):
        raise PermissionDenied(READ_ONLY_ANSWER)
    return dep, actor


@require_POST
def respond(request: AuthedRequest, key: str) -> HttpResponse:
    dep, actor = _answerable(request, key)
    today = timezone.localdate()
    next_url = _safe_next(request, request.POST.get("next")) or board_url(dep=dep.key)
    action = request.POST.get("action")
    form = RespondForm(request.POST, people=_owner_people(dep, action, actor))
    if form.is_valid():
        try:
            services.dependency_respond(
                dependency=dep,
                by=request.user,
                action=form.cleaned_data["action"],
                reason=form.cleaned_data["reason"],
                seen_status=form.cleaned_data["was"] or None,
                owner=form.chosen_owner(),
            )
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            warning = services.accepted_late_warning(dep, today=today)
            if request.htmx:
                return _row_response(
                    request, decorate(dep, actor, today), next_url=next_url, warning=warning
                )
            label = dep.get_status_display().lower()
            messages.success(request, f"“{dep.what}” is now {label}.")
            if warning:
                messages.warning(request, warning)
            return redirect(_with_anchor(next_url, f"dep-{dep.key}"))
    dep = decorate(_dependency_or_404(key), actor, today)
    # A form that asks something (why, who owns it) is shown again with what it lacks.
    asking = action in ANSWER_FORMS and bool({"reason", "owner"} & set(form.errors))
    problems = [str(e) for e in form.non_field_errors() or form.errors.get("action", [])]
    if asking and not dep.may_become(services.RESPONSES[action]):
        # The lifecycle refuses this answer whatever the reason: say that, not "say why".
        asking = False
        problems = [transition_problem(dep.status, services.RESPONSES[action])]
    answer = (action, form) if asking else None
    if request.htmx:
        return _row_response(
            request, dep, next_url=next_url, answer=answer, error=" ".join(problems)
        )
    if answer is not None:
        return _answer_page(request, dep, answer=answer, next_url=next_url)
    for error in problems or ["That did not work."]:
        messages.error(request, error)
    return redirect(_with_anchor(next_url, f"dep-{dep.key}"))


def _answer_page(
    request: AuthedRequest, dep: Dependency, *, answer: tuple[str, RespondForm], next_url: str
) -> HttpResponse:
    return render(
        request,
        "dependencies/answer.html",
        {
            "nav": "board",
            "dep": dep,
            "next": next_url,
            **_answer_context(dep, answer, in_row=False),
        },
    )


def _answer_form(request: AuthedRequest, key: str, action: str) -> HttpResponse:
    """An answer's form (the reason to decline or to mark at risk; the owner to name when
    accepting one nobody owns): in the row over HTMX, else as a small page of its own."""
    dep, actor = _answerable(request, key)
    dep = decorate(dep, actor, timezone.localdate())
    next_url = _safe_next(request, request.GET.get("next")) or board_url(dep=dep.key)
    if not dep.may_become(services.RESPONSES[action]):
        problem = transition_problem(dep.status, services.RESPONSES[action])
        if request.htmx:
            return _row_response(request, dep, next_url=next_url, error=problem)
        messages.error(request, problem)
        return redirect(_with_anchor(next_url, f"dep-{dep.key}"))
    form = RespondForm(
        initial={"action": action, "was": dep.status}, people=_owner_people(dep, action, actor)
    )
    if request.htmx:
        return _row_response(request, dep, next_url=next_url, answer=(action, form))
    return _answer_page(request, dep, answer=(action, form), next_url=next_url)


@require_safe
def decline(request: AuthedRequest, key: str) -> HttpResponse:
    """The decline form, which asks why."""
    return _answer_form(request, key, "decline")


@require_safe
def at_risk(request: AuthedRequest, key: str) -> HttpResponse:
    """The at-risk form, which asks why."""
    return _answer_form(request, key, "at_risk")


@require_safe
def accept(request: AuthedRequest, key: str) -> HttpResponse:
    """The accept form, which asks who owns it when nobody does."""
    return _answer_form(request, key, "accept")


@require_safe
def row(request: AuthedRequest, key: str) -> HttpResponse:
    """One board row, as it is now (an answer form's Cancel)."""
    dep = _dependency_or_404(key)
    next_url = _safe_next(request, request.GET.get("next")) or board_url(dep=dep.key)
    if not request.htmx:
        return redirect(_with_anchor(next_url, f"dep-{dep.key}"))
    dep = decorate(dep, access.actor_for(request), timezone.localdate())
    return _row_response(request, dep, next_url=next_url)


# ---------------------------------------------------------------------------------------
# Recording and editing a dependency (the needing side)
# ---------------------------------------------------------------------------------------


@require_http_methods(["GET", "HEAD", "POST"])
def create(request: AuthedRequest) -> HttpResponse:
    actor = access.actor_for(request)
    wanted = (request.POST.get("from_ref") or request.GET.get("from") or "").strip()
    cycle = current_cycle(request)
    if wanted:
        squad = Squad.objects.select_related("cycle").filter(key=wanted.split("/", 1)[0]).first()
        if squad is None:
            raise Http404("No such squad.")
        if not access.can_create_dependency(actor, squad):
            raise PermissionDenied(READ_ONLY_CREATE)
        cycle = squad.cycle
    needers = selectors.creatable_squads(actor, cycle)
    if not needers:
        raise PermissionDenied(READ_ONLY_CREATE)
    next_url = _safe_next(request, request.POST.get("next") or request.GET.get("next"))

    today = timezone.localdate()
    kwargs = {
        "today": today,
        "needers": needers,
        "squads": selectors.cycle_squads(cycle),
        "initiatives": selectors.cycle_initiatives(cycle),
        "people": people_for_owner(),
        "functions": known_functions(),
    }
    if request.method == "POST":
        form = DependencyCreateForm(request.POST, **kwargs)
        if form.is_valid():
            parties = form.parties()
            needer = parties.get("from_squad") or parties["from_initiative"].squad
            if not access.can_create_dependency(actor, needer):
                raise PermissionDenied(READ_ONLY_CREATE)
            try:
                dep = services.dependency_create(
                    by=request.user,
                    **parties,
                    what=form.cleaned_data["what"],
                    due=form.cleaned_data["due"],
                    blocking=form.cleaned_data["blocking"],
                    note=form.cleaned_data["note"],
                    key=form.cleaned_data["key"],
                )
            except ValidationError as error:
                form.add_service_errors(error)
            else:
                messages.success(request, f"Recorded: “{dep.what}” ({dep.key}).")
                if warning := services.past_due_warning(dep.due, today=today):
                    messages.warning(request, warning)
                return redirect(next_url or board_url(dep=dep.key))
    else:
        initial = {"from_ref": wanted if wanted else needers[0].key}
        form = DependencyCreateForm(initial=initial, **kwargs)
    return render(
        request,
        "dependencies/create.html",
        {
            "nav": "board",
            "form": form,
            "next": next_url or "",
            "cancel_url": next_url or reverse("board:board"),
            "cycle": cycle,
        },
    )


@require_http_methods(["GET", "HEAD", "POST"])
def edit(request: AuthedRequest, key: str) -> HttpResponse:
    dep = _dependency_or_404(key)
    actor = access.actor_for(request)
    if not access.can_edit_dependency(actor, dep):
        raise PermissionDenied(READ_ONLY_EDIT)
    today = timezone.localdate()
    dep = decorate(dep, actor, today)
    next_url = _safe_next(request, request.POST.get("next") or request.GET.get("next"))
    conflict = None
    version = dep.version
    if request.method == "POST":
        data = request.POST
        if data.get("choice") == "mine":
            try:
                data = conflicts.draft_data(data, data.get("draft"), EDIT_FIELDS)
            except conflicts.UnreadableDraft:
                return HttpResponseBadRequest(conflicts.UNREADABLE_DRAFT)
        form = DependencyForm(data, today=today, current_due=dep.due)
        version = versioning.posted_version(request.POST)
        if form.is_valid():
            try:
                services.dependency_update(
                    dependency=dep,
                    by=request.user,
                    what=form.cleaned_data["what"],
                    due=form.cleaned_data["due"],
                    blocking=form.cleaned_data["blocking"],
                    note=form.cleaned_data["note"],
                    version=version,
                )
            except versioning.Conflict as stale:
                conflict = _dependency_conflict(stale, form, data)
                version = conflict.version
                form = DependencyForm(initial=conflict.merge.values)
            except ValidationError as error:
                form.add_service_errors(error)
            else:
                messages.success(request, f"Saved “{dep.what}”.")
                if form.late:
                    messages.warning(request, services.past_due_warning(dep.due, today=today))
                return redirect(next_url or board_url(dep=dep.key))
    else:
        form = DependencyForm(
            initial={"what": dep.what, "due": dep.due, "blocking": dep.blocking, "note": dep.note}
        )
    return render(
        request,
        "dependencies/edit.html",
        {
            "nav": "board",
            "dep": dep,
            "form": form,
            "next": next_url or "",
            "cancel_url": next_url or board_url(dep=dep.key),
            "version": version,
            "conflict": conflict,
        },
    )


EDIT_FIELDS = ("what", "due", "blocking", "note")


def _dependency_conflict(stale: versioning.Conflict, form: DependencyForm, data):
    def show(name: str, value) -> str:
        if value is None or value == "":
            return "—"
        if name == "blocking":
            return "Yes" if value else "No"
        if name == "due":
            return value.strftime("%-d %b %Y")
        return str(value)

    # An unticked box posts nothing; "" reads as unticked when the draft is posted again.
    raw = {name: data.get(name, "") for name in EDIT_FIELDS}
    return conflicts.record_conflict(
        stale,
        what="dependency",
        draft=form.cleaned_data,
        raw_draft=raw,
        names=EDIT_FIELDS,
        labels={name: str(form.fields[name].label) for name in EDIT_FIELDS},
        text_fields=("what", "note"),
        show=show,
    )


# ---------------------------------------------------------------------------------------
# The graph: blocking dependencies between squads (or initiatives), drawn on the server
# ---------------------------------------------------------------------------------------


@require_safe
def graph(request: AuthedRequest) -> HttpResponse:
    today = timezone.localdate()
    cycle = current_cycle(request)
    form = _filter_form(request, cycle, default_status="open")
    filters = form.filters(today=today, cycle_id=cycle.pk if cycle else None)
    kind = request.GET.get("nodes", "squads")
    if kind not in dict(NODE_KINDS):
        kind = "squads"
    picture = dependency_graph.build_graph(filters, kind, today) if cycle else None
    board_params = request.GET.copy()
    board_params.pop("nodes", None)
    board_params["blocking"] = "on"
    if "status" not in board_params:
        board_params["status"] = "open"
    return render(
        request,
        "dependencies/graph.html",
        {
            "nav": "graph",
            "cycle": cycle,
            "form": form,
            "active_filters": form.active(),
            "kind": kind,
            "kinds": NODE_KINDS,
            "picture": picture,
            "max_nodes": dependency_graph.GRAPH_MAX_NODES,
            "max_loops": dependency_graph.GRAPH_MAX_LOOPS_LISTED,
            "fit": picture is not None and picture.width <= dependency_graph.GRAPH_FIT_WIDTH,
            "node_w": dependency_graph.NODE_W,
            "node_h": dependency_graph.NODE_H,
            "board_url": f"{reverse('board:board')}?{board_params.urlencode()}",
        },
    )
