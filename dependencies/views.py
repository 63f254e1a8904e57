"""The company-wide dependency board, the dependency graph, and recording a dependency.

The board's filters live in the URL (a GET form and plain links), so a filtered board can be
bookmarked and shared. Each row is a partial: the provider's answers swap that row only
over HTMX, and without script a plain POST redirects back to the same filtered board.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.http import content_disposition_header, url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from dependencies import exports, services
from dependencies.forms import (
    FUNCTION_PREFIX,
    GROUPS,
    NODE_KINDS,
    PAGE_SIZE,
    BoardFilterForm,
    DeclineForm,
    DependencyCreateForm,
    DependencyForm,
    RespondForm,
    people_for_owner,
)
from dependencies.models import OPEN_STATUSES, BoardFilters, Dependency
from journeys.models import Stage
from planning import access, cowriting, pagecache
from planning.cycles import current_cycle
from planning.models import Cycle, Initiative
from planning.review import simple_cycles, strongly_connected
from squads import conflicts
from squads.forms import known_functions
from squads.models import Squad

if TYPE_CHECKING:
    from django.contrib.auth.models import User
    from django_htmx.middleware import HtmxDetails


class AuthedRequest(HttpRequest):
    user: User
    htmx: HtmxDetails


READ_ONLY_ANSWER = "Only the providing side can answer this dependency."
READ_ONLY_EDIT = "Only the needing squad's members can change this dependency."
READ_ONLY_CREATE = "Only a squad's members can record what it needs."

# What the provider may do from each status: (action, button label).
ACTIONS = {
    "requested": [("accept", "Accept")],
    "accepted": [("at_risk", "At risk"), ("done", "Done")],
    "at_risk": [("accept", "Back on track"), ("done", "Done")],
    "done": [("accept", "Reopen")],
    "declined": [("accept", "Accept after all")],
}
CAN_DECLINE = {"requested", "accepted", "at_risk"}


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


def _board_url(**params) -> str:
    url = reverse("board:board")
    params = {k: v for k, v in params.items() if v not in (None, "", False)}
    return f"{url}?{urlencode(params)}" if params else url


def _with_anchor(url: str, anchor: str) -> str:
    return url if "#" in url else f"{url}#{anchor}"


def _filter_form(
    request: HttpRequest, cycle: Cycle | None, *, default_status: str = ""
) -> BoardFilterForm:
    squads = list(
        Squad.objects.filter(cycle=cycle).order_by("name", "id").only("pk", "key", "name")
        if cycle
        else Squad.objects.none()
    )
    functions = list(
        Dependency.objects.filtered(BoardFilters(today=timezone.localdate(), cycle_id=cycle.pk))
        .exclude(to_function="")
        .order_by("to_function")
        .values_list("to_function", flat=True)
        .distinct()
        if cycle
        else []
    )
    stages = list(Stage.objects.select_related("journey").order_by("journey__name", "position"))
    return BoardFilterForm(
        request.GET,
        squads=squads,
        functions=functions,
        stages=stages,
        default_status=default_status,
    )


def _decorate(dep: Dependency, actor: access.Actor, today: dt.date) -> Dependency:
    """What a row shows beyond the fields: computed once, here."""
    dep.overdue = dep.is_overdue(today)
    dep.days_late = (today - dep.due).days if dep.overdue else 0
    stage = None
    if dep.from_initiative_id and dep.from_initiative.stage_id:
        stage = dep.from_initiative.stage
    elif dep.to_initiative_id and dep.to_initiative.stage_id:
        stage = dep.to_initiative.stage
    dep.affected_stage = stage
    dep.needer_squad = dep.from_squad if dep.from_squad_id else dep.from_initiative.squad
    dep.provider_squad = (
        dep.to_squad
        if dep.to_squad_id
        else dep.to_initiative.squad
        if dep.to_initiative_id
        else None
    )
    dep.can_respond = access.can_respond_dependency(actor, dep)
    dep.can_edit = access.can_edit_dependency(actor, dep)
    dep.actions = ACTIONS.get(dep.status, []) if dep.can_respond else []
    dep.can_decline = dep.can_respond and dep.status in CAN_DECLINE
    return dep


def _dependency_or_404(key: str) -> Dependency:
    dep = (
        Dependency.objects.for_board(BoardFilters(today=timezone.localdate()))
        .filter(key=key)
        .first()
    )
    if dep is None:
        raise Http404("No such dependency.")
    return dep


def _row_response(
    request: AuthedRequest,
    dep: Dependency,
    *,
    next_url: str,
    decline_form: RespondForm | None = None,
    error: str = "",
) -> HttpResponse:
    return render(
        request,
        "dependencies/board.html#row",
        {
            "dep": dep,
            "next": next_url,
            "decline_form": decline_form,
            "row_error": error,
            "columns": BOARD_COLUMNS,
        },
    )


BOARD_COLUMNS = 8


# ---------------------------------------------------------------------------------------
# The board
# ---------------------------------------------------------------------------------------


@dataclass
class Group:
    key: tuple
    label: str
    kind: str  # "squad", "function", "month" or ""
    url: str = ""
    filter_key: str = ""
    counts: dict = field(default_factory=dict)
    rows: list = field(default_factory=list)
    continued: bool = False


def _provider_groups(rows, base, today, first_row_group) -> list[Group]:
    groups: list[Group] = []
    for dep in rows:
        key = (dep.provider_id, dep.to_function)
        if not groups or groups[-1].key != key:
            if dep.to_function:
                group = Group(
                    key=key,
                    label=dep.to_function,
                    kind="function",
                    filter_key=f"{FUNCTION_PREFIX}{dep.to_function}",
                )
            else:
                squad = dep.provider_squad
                group = Group(
                    key=key,
                    label=squad.name,
                    kind="squad",
                    url=reverse("squads:plan", args=[squad.key]),
                    filter_key=squad.key,
                )
            groups.append(group)
        groups[-1].rows.append(dep)
    if not groups:
        return groups
    squad_ids = [g.key[0] for g in groups if g.key[0] is not None]
    functions = [g.key[1] for g in groups if g.key[1]]
    counts = base.counts(today, "provider_id", "to_function").filter(
        Q(provider_id__in=squad_ids) | Q(to_function__in=functions)
    )
    by_key = {(c["provider_id"], c["to_function"]): c for c in counts}
    for group in groups:
        group.counts = by_key.get(group.key, {})
    groups[0].continued = first_row_group
    return groups


def _month_groups(rows, base, today, first_row_group) -> list[Group]:
    groups: list[Group] = []
    for dep in rows:
        month = dep.due.replace(day=1)
        if not groups or groups[-1].key != (month,):
            groups.append(Group(key=(month,), label=f"{month:%B %Y}", kind="month"))
        groups[-1].rows.append(dep)
    if not groups:
        return groups
    months = [g.key[0] for g in groups]
    counts = (
        base.by_month().counts(today, "month").filter(month__gte=months[0], month__lte=months[-1])
    )
    by_key = {_as_date(c["month"]): c for c in counts}
    for group in groups:
        group.counts = by_key.get(group.key[0], {})
    groups[0].continued = first_row_group
    return groups


def _as_date(value) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value


def _continues_group(qs, offset: int, group: str, first) -> bool:
    """Whether the first row of this page belongs to the last group of the page before."""
    if offset == 0 or first is None:
        return False
    before = qs.values("provider_id", "to_function", "due")[offset - 1 : offset].first()
    if before is None:
        return False
    if group == "provider":
        return (before["provider_id"], before["to_function"]) == (
            first.provider_id,
            first.to_function,
        )
    if group == "month":
        return before["due"].replace(day=1) == first.due.replace(day=1)
    return False


@login_required
@require_safe
def board(request: AuthedRequest) -> HttpResponse:
    today = timezone.localdate()
    # Before anything the board shows, the cycle included (see planning.pagecache).
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
        context = {**_board_context(request, today, cycle, actor), **stand_ins}
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


def _board_context(
    request: AuthedRequest, today: dt.date, cycle: Cycle | None, actor: access.Actor
) -> dict:
    form = _filter_form(request, cycle)
    filters = form.filters(today=today, cycle_id=cycle.pk if cycle else None)
    group = _group(request)

    base = Dependency.objects.filtered(filters)
    summary = base.counts(today)
    ordered = _ordered(base, group)
    # Page through the narrow, ordered query; then load the page's rows with everything
    # they show, so sorting 20,000 rows never drags a dozen joins along.
    paginator = Paginator(ordered.values_list("pk", flat=True), PAGE_SIZE)
    paginator.count = summary["total"]  # counted with the summary: no COUNT query of its own
    page = paginator.get_page(request.GET.get("page"))
    offset = (page.number - 1) * PAGE_SIZE
    page_ids = list(page)
    loaded = Dependency.objects.for_board(BoardFilters(today=today)).in_bulk(page_ids)
    rows = [_decorate(loaded[pk], actor, today) for pk in page_ids if pk in loaded]
    continued = _continues_group(ordered, offset, group, rows[0] if rows else None)
    if group == "provider":
        groups = _provider_groups(rows, base, today, continued)
    elif group == "month":
        groups = _month_groups(rows, base, today, continued)
    else:
        groups = [Group(key=(), label="", kind="", rows=rows)] if rows else []

    can_create = actor.is_operations or bool(actor.member_of)
    return {
        "nav": "board",
        "cycle": cycle,
        "form": form,
        "active_filters": form.active(),
        "group": group,
        "groups_choices": GROUPS,
        "groups": groups,
        "summary": summary,
        "page_obj": page,
        "next": request.get_full_path(),
        "today": today,
        "can_create": can_create,
        "columns": BOARD_COLUMNS,
        "graph_url": _graph_url_for(request),
        **_export_urls(request),
    }


def _group(request: HttpRequest) -> str:
    group = request.GET.get("group", "provider")
    return group if group in dict(GROUPS) else "provider"


def _ordered(qs, group: str):
    """The board's order for a grouping: by provider, by due month, or by due date."""
    if group == "provider":
        return qs.by_provider()
    if group == "month":
        return qs.by_month()
    return qs.order_by("due", "id")


def _graph_url_for(request: HttpRequest) -> str:
    params = request.GET.copy()
    for name in ("group", "page", "dep", "blocking"):
        params.pop(name, None)
    query = params.urlencode()
    return reverse("board:graph") + (f"?{query}" if query else "")


# ---------------------------------------------------------------------------------------
# The board as a file: CSV and Excel, with the board's filters and order, every page
# ---------------------------------------------------------------------------------------

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _export_urls(request: HttpRequest) -> dict:
    """The download links keep the board's filters and grouping; a file has no pages."""
    params = request.GET.copy()
    params.pop("page", None)
    query = params.urlencode()
    suffix = f"?{query}" if query else ""
    return {
        "export_csv_url": reverse("board:export_csv") + suffix,
        "export_xlsx_url": reverse("board:export_xlsx") + suffix,
    }


def _export(request: HttpRequest) -> tuple[Iterator[list], str]:
    """The rows the board shows for this query string, and a file name without extension."""
    today = timezone.localdate()
    cycle = current_cycle(request)
    form = _filter_form(request, cycle)
    filters = form.filters(today=today, cycle_id=cycle.pk if cycle else None)
    qs = _ordered(Dependency.objects.filtered(filters), _group(request))
    name = f"throughline-dependencies-{cycle.key if cycle else 'all'}-{today.isoformat()}"
    return exports.rows(qs, today), name


@login_required
@require_safe
def export_csv(request: AuthedRequest) -> StreamingHttpResponse:
    data, name = _export(request)
    response = StreamingHttpResponse(
        exports.csv_lines(data), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = content_disposition_header(True, f"{name}.csv")
    return response


@login_required
@require_safe
def export_xlsx(request: AuthedRequest) -> FileResponse:
    data, name = _export(request)
    return FileResponse(
        exports.xlsx_file(data),
        as_attachment=True,
        filename=f"{name}.xlsx",
        content_type=XLSX_TYPE,
    )


# ---------------------------------------------------------------------------------------
# The provider's answer, one row at a time
# ---------------------------------------------------------------------------------------


def _answerable(request: AuthedRequest, key: str) -> tuple[Dependency, access.Actor]:
    dep = _dependency_or_404(key)
    actor = access.actor_for(request)
    if not access.can_respond_dependency(actor, dep):
        raise PermissionDenied(READ_ONLY_ANSWER)
    return dep, actor


@login_required
@require_POST
def respond(request: AuthedRequest, key: str) -> HttpResponse:
    dep, actor = _answerable(request, key)
    today = timezone.localdate()
    next_url = _safe_next(request, request.POST.get("next")) or _board_url(dep=dep.key)
    form = RespondForm(request.POST)
    if form.is_valid():
        action = form.cleaned_data["action"]
        try:
            services.dependency_respond(
                dependency=dep,
                by=request.user,
                action=action,
                reason=form.cleaned_data["reason"],
                seen_status=form.cleaned_data["was"] or None,
            )
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            if request.htmx:
                return _row_response(request, _decorate(dep, actor, today), next_url=next_url)
            label = dep.get_status_display().lower()
            messages.success(request, f"“{dep.what}” is now {label}.")
            return redirect(_with_anchor(next_url, f"dep-{dep.key}"))
    dep = _decorate(_dependency_or_404(key), actor, today)
    declining = request.POST.get("action") == "decline"
    if request.htmx:
        problem = " ".join(form.non_field_errors()) or " ".join(
            str(e) for e in form.errors.get("action", [])
        )
        return _row_response(
            request,
            dep,
            next_url=next_url,
            decline_form=form if declining and "reason" in form.errors else None,
            error=problem,
        )
    if declining and "reason" in form.errors:
        return _decline_page(request, dep, form=form, next_url=next_url)
    for error in form.non_field_errors() or form.errors.get("action", ["That did not work."]):
        messages.error(request, error)
    return redirect(_with_anchor(next_url, f"dep-{dep.key}"))


def _decline_page(
    request: AuthedRequest, dep: Dependency, *, form: RespondForm, next_url: str
) -> HttpResponse:
    return render(
        request,
        "dependencies/decline.html",
        {"nav": "board", "dep": dep, "form": form, "next": next_url},
    )


@login_required
@require_safe
def decline(request: AuthedRequest, key: str) -> HttpResponse:
    """The decline form: in the row over HTMX, else as a small page of its own."""
    dep, actor = _answerable(request, key)
    dep = _decorate(dep, actor, timezone.localdate())
    next_url = _safe_next(request, request.GET.get("next")) or _board_url(dep=dep.key)
    form = DeclineForm(initial={"action": "decline", "was": dep.status})
    if request.htmx:
        return _row_response(request, dep, next_url=next_url, decline_form=form)
    return _decline_page(request, dep, form=form, next_url=next_url)


@login_required
@require_safe
def row(request: AuthedRequest, key: str) -> HttpResponse:
    """One board row, as it is now (the decline form's Cancel)."""
    dep = _dependency_or_404(key)
    next_url = _safe_next(request, request.GET.get("next")) or _board_url(dep=dep.key)
    if not request.htmx:
        return redirect(_with_anchor(next_url, f"dep-{dep.key}"))
    dep = _decorate(dep, access.actor_for(request), timezone.localdate())
    return _row_response(request, dep, next_url=next_url)


# ---------------------------------------------------------------------------------------
# Recording and editing a dependency (the needing side)
# ---------------------------------------------------------------------------------------


def _creatable_squads(actor: access.Actor, cycle: Cycle | None) -> list[Squad]:
    squads = Squad.objects.order_by("name", "id")
    squads = squads.filter(cycle=cycle) if cycle else squads.none()
    if not actor.is_operations:
        squads = squads.filter(pk__in=actor.member_of)
    return list(squads)


@login_required
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
    needers = _creatable_squads(actor, cycle)
    if not needers:
        raise PermissionDenied(READ_ONLY_CREATE)
    next_url = _safe_next(request, request.POST.get("next") or request.GET.get("next"))

    squads = list(Squad.objects.filter(cycle=cycle).order_by("name", "id"))
    initiatives = list(
        Initiative.objects.filter(squad__cycle=cycle)
        .select_related("squad")
        .order_by("squad__name", "squad_id", "title", "id")
    )
    kwargs = {
        "needers": needers,
        "squads": squads,
        "initiatives": initiatives,
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
                return redirect(next_url or _board_url(dep=dep.key))
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


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def edit(request: AuthedRequest, key: str) -> HttpResponse:
    dep = _dependency_or_404(key)
    actor = access.actor_for(request)
    if not access.can_edit_dependency(actor, dep):
        raise PermissionDenied(READ_ONLY_EDIT)
    dep = _decorate(dep, actor, timezone.localdate())
    next_url = _safe_next(request, request.POST.get("next") or request.GET.get("next"))
    conflict = None
    version = dep.version
    if request.method == "POST":
        data = request.POST
        if data.get("choice") == "mine":
            data = conflicts.draft_data(data, data.get("draft", ""), EDIT_FIELDS)
        form = DependencyForm(data)
        version = cowriting.posted_version(request.POST)
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
            except cowriting.Conflict as stale:
                conflict = _dependency_conflict(stale, form, data)
                version = conflict.version
                form = DependencyForm(initial=conflict.merge.values)
            except ValidationError as error:
                form.add_service_errors(error)
            else:
                messages.success(request, f"Saved “{dep.what}”.")
                return redirect(next_url or _board_url(dep=dep.key))
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
            "cancel_url": next_url or _board_url(dep=dep.key),
            "version": version,
            "conflict": conflict,
        },
    )


EDIT_FIELDS = ("what", "due", "blocking", "note")


def _dependency_conflict(stale: cowriting.Conflict, form: DependencyForm, data):
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

GRAPH_MAX_NODES = 80
GRAPH_MAX_LOOPS_LISTED = 12
# A loop of this many or more is drawn as one box ("tangle"), its members listed beside.
TANGLE_MIN = 7
TANGLE_NAMES = 12
NODE_W, NODE_H = 190, 46
GAP_X, GAP_Y = 80, 20
MARGIN = 24
LOOP_BULGE = 70
LABEL_CHARS = 21
# Wider pictures than this scroll sideways at full size instead of shrinking to fit.
GRAPH_FIT_WIDTH = 1650


@dataclass
class Node:
    id: str
    label: str
    kind: str  # squad, initiative, function
    sub: str = ""
    url: str = ""
    filter_key: str = ""  # the board's `to`/`from` value for this node's squad or function
    in_loop: bool = False
    column: int = 0
    row: int = 0
    x: float = 0
    y: float = 0
    degree: int = 0

    @property
    def short(self) -> str:
        return _shorten(self.label, LABEL_CHARS)

    @property
    def short_sub(self) -> str:
        return _shorten(self.sub, LABEL_CHARS + 6)

    @property
    def text_x(self) -> float:
        return self.x + 12

    @property
    def text_y(self) -> float:
        return self.y + (19 if self.sub else 28)

    @property
    def sub_y(self) -> float:
        return self.y + 36


@dataclass
class Edge:
    source: str
    target: str
    count: int = 0
    overdue: int = 0
    at_risk: int = 0
    in_loop: bool = False
    path: str = ""
    label_x: float = 0
    label_y: float = 0
    url: str = ""
    title: str = ""


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


@dataclass
class Loop:
    """An elementary loop (its nodes in order) or, for a big tangle, some of its members."""

    nodes: list[Node]
    tangle: bool = False
    more: int = 0


@dataclass
class GraphPicture:
    nodes: list[Node]
    edges: list[Edge]
    width: int
    height: int
    loops: list[Loop]
    loop_groups: int
    loops_cut: bool
    total_nodes: int
    boxes: int
    total_edges: int
    dependencies: int
    overdue: int
    internal: int
    capped: bool


def _graph_rows(filters: BoardFilters, kind: str, today: dt.date):
    measures = {
        "n": Count("pk"),
        "overdue": Count("pk", filter=Q(status__in=OPEN_STATUSES, due__lt=today)),
        "at_risk": Count("pk", filter=Q(status="at_risk")),
    }
    base = Dependency.objects.filtered(filters).filter(blocking=True).order_by()
    if kind == "squads":
        return list(base.values("needer_id", "provider_id", "to_function").annotate(**measures))
    return list(
        base.values(
            "from_squad_id", "from_initiative_id", "to_squad_id", "to_initiative_id", "to_function"
        ).annotate(**measures)
    )


def _graph_nodes_and_edges(rows, kind: str, filters: BoardFilters):
    """Nodes and merged edges from the grouped rows; a party needing itself is not drawn."""
    edges: dict[tuple[str, str], Edge] = {}
    internal = 0
    for r in rows:
        if kind == "squads":
            source = f"s:{r['needer_id']}"
            target = f"f:{r['to_function']}" if r["to_function"] else f"s:{r['provider_id']}"
        else:
            source = (
                f"i:{r['from_initiative_id']}"
                if r["from_initiative_id"]
                else f"s:{r['from_squad_id']}"
            )
            target = (
                f"f:{r['to_function']}"
                if r["to_function"]
                else f"i:{r['to_initiative_id']}"
                if r["to_initiative_id"]
                else f"s:{r['to_squad_id']}"
            )
        if source == target:
            internal += r["n"]
            continue
        edge = edges.setdefault((source, target), Edge(source=source, target=target))
        edge.count += r["n"]
        edge.overdue += r["overdue"]
        edge.at_risk += r["at_risk"]

    ids = {n for pair in edges for n in pair}
    squad_ids = {int(n[2:]) for n in ids if n.startswith("s:")}
    initiative_ids = {int(n[2:]) for n in ids if n.startswith("i:")}
    initiatives = {
        i.pk: i for i in Initiative.objects.filter(pk__in=initiative_ids).select_related("squad")
    }
    squads = {s.pk: s for s in Squad.objects.filter(pk__in=squad_ids).only("pk", "key", "name")}
    nodes: dict[str, Node] = {}
    for node_id in ids:
        prefix, value = node_id.split(":", 1)
        if prefix == "s":
            squad = squads[int(value)]
            nodes[node_id] = Node(
                id=node_id,
                label=squad.name,
                kind="squad",
                sub="the whole squad" if kind == "initiatives" else "",
                url=reverse("squads:plan", args=[squad.key]),
                filter_key=squad.key,
            )
        elif prefix == "i":
            initiative = initiatives[int(value)]
            nodes[node_id] = Node(
                id=node_id,
                label=initiative.title,
                kind="initiative",
                sub=initiative.squad.name,
                url=reverse("squads:plan", args=[initiative.squad.key])
                + f"#initiative-{initiative.key}",
                filter_key=initiative.squad.key,
            )
        else:
            nodes[node_id] = Node(
                id=node_id,
                label=value,
                kind="function",
                sub="function",
                url=_board_url(to=f"{FUNCTION_PREFIX}{value}"),
                filter_key=f"{FUNCTION_PREFIX}{value}",
            )
    return nodes, edges, internal


def graph_layout(nodes: dict[str, Node], edges: dict[tuple[str, str], Edge]) -> tuple[int, int]:
    """Lay the nodes out in columns, deterministically: whoever needs on the left, whoever
    provides on the right. A loop's members share a column; the order inside each column is
    refined by a few barycentre sweeps to cut crossings. Returns the picture's size."""
    succ: dict[str, list[str]] = defaultdict(list)
    for a, b in edges:
        succ[a].append(b)
    graph = {n: sorted(succ.get(n, [])) for n in nodes}
    components = strongly_connected(graph)
    comp_of = {n: i for i, comp in enumerate(components) for n in comp}
    for comp in components:
        if len(comp) > 1:
            for n in comp:
                nodes[n].in_loop = True
    for edge in edges.values():
        edge.in_loop = comp_of[edge.source] == comp_of[edge.target]

    # Longest path from the pure needers, over the graph of components (a DAG).
    preds: dict[int, set[int]] = defaultdict(set)
    for a, b in edges:
        if comp_of[a] != comp_of[b]:
            preds[comp_of[b]].add(comp_of[a])
    # Tarjan emits components in reverse topological order (providers first).
    depth: dict[int, int] = {}
    for c in reversed(range(len(components))):
        depth[c] = 1 + max((depth[p] for p in preds[c]), default=-1)
    columns: dict[int, list[str]] = defaultdict(list)
    for n in nodes:
        nodes[n].column = depth[comp_of[n]]
        columns[nodes[n].column].append(n)
    for col in columns.values():
        col.sort(key=lambda n: (comp_of[n], nodes[n].label.casefold(), n))

    in_edges: dict[str, list[str]] = defaultdict(list)
    for a, b in edges:
        in_edges[b].append(a)

    def place() -> dict[str, int]:
        return {n: i for col in columns.values() for i, n in enumerate(col)}

    order = sorted(columns)
    for sweep in range(4):
        pos = place()
        forward = sweep % 2 == 0
        for c in order if forward else reversed(order):
            neighbours = in_edges if forward else succ

            def centre(n: str, neighbours=neighbours, pos=pos) -> float:
                near = [pos[m] for m in neighbours.get(n, []) if nodes[m].column != nodes[n].column]
                return sum(near) / len(near) if near else pos[n]

            columns[c].sort(key=lambda n: (centre(n), nodes[n].label.casefold(), n))
            pos = place()

    tallest = max((len(col) for col in columns.values()), default=0)
    pitch = NODE_H + GAP_Y
    for c, col in columns.items():
        top = MARGIN + (tallest - len(col)) * pitch / 2
        for i, n in enumerate(col):
            node = nodes[n]
            node.row = i
            node.x = MARGIN + c * (NODE_W + GAP_X)
            node.y = top + i * pitch
    width = MARGIN * 2 + (max(columns, default=0) + 1) * NODE_W + max(columns, default=0) * GAP_X
    has_side_loops = any(nodes[a].column == nodes[b].column for a, b in edges)
    if has_side_loops:
        width += LOOP_BULGE + 20
    height = MARGIN * 2 + tallest * pitch - GAP_Y
    for edge in edges.values():
        _route(edge, nodes[edge.source], nodes[edge.target])
    return int(width), int(max(height, NODE_H + 2 * MARGIN))


def _route(edge: Edge, a: Node, b: Node) -> None:
    """A cubic curve from the needer's right side to the provider's left side; between two
    nodes of one column, an arc out to the right and back."""
    ay, by = a.y + NODE_H / 2, b.y + NODE_H / 2
    if a.column == b.column:
        x0, x1 = a.x + NODE_W, b.x + NODE_W
        bulge = LOOP_BULGE if b.y > a.y else LOOP_BULGE * 0.55
        c0 = (x0 + bulge, ay)
        c1 = (x1 + bulge, by)
        start, end = (x0, ay - 6), (x1 + 2, by + 6)
    else:
        start, end = (a.x + NODE_W, ay), (b.x - 2, by)
        dx = max((end[0] - start[0]) * 0.45, 40)
        c0 = (start[0] + dx, start[1])
        c1 = (end[0] - dx, end[1])
    edge.path = (
        f"M{start[0]:.1f},{start[1]:.1f} C{c0[0]:.1f},{c0[1]:.1f} "
        f"{c1[0]:.1f},{c1[1]:.1f} {end[0]:.1f},{end[1]:.1f}"
    )
    edge.label_x = (start[0] + 3 * c0[0] + 3 * c1[0] + end[0]) / 8
    edge.label_y = (start[1] + 3 * c0[1] + 3 * c1[1] + end[1]) / 8 - 4


def _cap(
    nodes: dict[str, Node], edges: dict[tuple[str, str], Edge], limit: int
) -> tuple[dict[str, Node], dict[tuple[str, str], Edge]]:
    """Keep at most `limit` nodes: those in loops first, then the most connected."""
    if len(nodes) <= limit:
        return nodes, edges
    for (a, b), edge in edges.items():
        nodes[a].degree += edge.count
        nodes[b].degree += edge.count
    keep = sorted(nodes.values(), key=lambda n: (not n.in_loop, -n.degree, n.label, n.id))[:limit]
    kept = {n.id: n for n in keep}
    return kept, {k: e for k, e in edges.items() if k[0] in kept and k[1] in kept}


def _collapse(
    nodes: dict[str, Node],
    edges: dict[tuple[str, str], Edge],
    tangles: list[list[str]],
    kind: str,
) -> tuple[dict[str, Node], dict[tuple[str, str], Edge]]:
    """Draw each big tangle of mutual waiting as one box: its members would otherwise fill
    the picture with red and say nothing more than "these all wait on each other"."""
    if not tangles:
        return nodes, edges
    noun = "squads" if kind == "squads" else "parties"
    where: dict[str, str] = {}
    for i, members in enumerate(tangles):
        box = f"t:{i}"
        nodes[box] = Node(
            id=box,
            label=f"Loop of {len(members)} {noun}",
            kind="tangle",
            sub="",
            in_loop=True,
        )
        for n in members:
            where[n] = box
    merged: dict[tuple[str, str], Edge] = {}
    inside: dict[str, int] = defaultdict(int)
    for (a, b), edge in edges.items():
        a, b = where.get(a, a), where.get(b, b)
        if a == b:
            inside[a] += edge.count
            continue
        into = merged.setdefault((a, b), Edge(source=a, target=b))
        into.count += edge.count
        into.overdue += edge.overdue
        into.at_risk += edge.at_risk
    for box, count in inside.items():
        nodes[box].sub = f"{count} blocking within"
    return {k: v for k, v in nodes.items() if k not in where}, merged


def build_graph(filters: BoardFilters, kind: str, today: dt.date) -> GraphPicture:
    rows = _graph_rows(filters, kind, today)
    nodes, edges, internal = _graph_nodes_and_edges(rows, kind, filters)
    total_nodes, total_edges = len(nodes), len(edges)
    dependencies = sum(e.count for e in edges.values())
    overdue = sum(e.overdue for e in edges.values())

    # Loops are judged on the whole graph, before collapsing or capping anything.
    succ: dict[str, list[str]] = defaultdict(list)
    for a, b in edges:
        succ[a].append(b)
    whole = {n: sorted(succ.get(n, [])) for n in nodes}
    knots = [c for c in strongly_connected(whole) if len(c) > 1]
    for comp in knots:
        for n in comp:
            nodes[n].in_loop = True
    tangles = [sorted(c, key=lambda n: nodes[n].label.casefold()) for c in knots]
    tangles = [c for c in tangles if len(c) >= TANGLE_MIN]
    small = {n for c in knots if len(c) < TANGLE_MIN for n in c}
    cycles = simple_cycles(
        {n: [m for m in whole[n] if m in small] for n in small}, limit=GRAPH_MAX_LOOPS_LISTED
    )
    loops = [Loop(nodes=[nodes[n] for n in cycle]) for cycle in cycles]
    loops += [
        Loop(
            nodes=[nodes[n] for n in c[:TANGLE_NAMES]],
            tangle=True,
            more=max(len(c) - TANGLE_NAMES, 0),
        )
        for c in tangles
    ]
    nodes, edges = _collapse(nodes, edges, tangles, kind)

    shown_nodes, shown_edges = _cap(nodes, edges, GRAPH_MAX_NODES)
    width, height = graph_layout(shown_nodes, shown_edges)
    for edge in shown_edges.values():
        a, b = shown_nodes[edge.source], shown_nodes[edge.target]
        edge.url = _board_url(
            **{"from": a.filter_key if a.kind != "function" else ""},
            to=b.filter_key,
            blocking="on",
        )
        noun = "dependency" if edge.count == 1 else "dependencies"
        parts = [f"{a.label} needs {edge.count} blocking {noun} from {b.label}"]
        if edge.overdue:
            parts.append(f"{edge.overdue} overdue")
        if edge.at_risk:
            parts.append(f"{edge.at_risk} at risk")
        if edge.in_loop:
            parts.append("part of a loop")
        edge.title = "; ".join(parts)
    ordered_nodes = sorted(shown_nodes.values(), key=lambda n: (n.column, n.row))
    ordered_edges = sorted(
        shown_edges.values(), key=lambda e: (e.in_loop, e.overdue > 0, e.source, e.target)
    )
    return GraphPicture(
        nodes=ordered_nodes,
        edges=ordered_edges,
        width=width,
        height=height,
        loops=loops,
        loop_groups=len(knots),
        loops_cut=len(cycles) >= GRAPH_MAX_LOOPS_LISTED,
        total_nodes=total_nodes,
        boxes=len(nodes),
        total_edges=total_edges,
        dependencies=dependencies,
        overdue=overdue,
        internal=internal,
        capped=len(shown_nodes) < len(nodes),
    )


@login_required
@require_safe
def graph(request: AuthedRequest) -> HttpResponse:
    today = timezone.localdate()
    cycle = current_cycle(request)
    form = _filter_form(request, cycle, default_status="open")
    filters = form.filters(today=today, cycle_id=cycle.pk if cycle else None)
    kind = request.GET.get("nodes", "squads")
    if kind not in dict(NODE_KINDS):
        kind = "squads"
    picture = build_graph(filters, kind, today) if cycle else None
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
            "max_nodes": GRAPH_MAX_NODES,
            "max_loops": GRAPH_MAX_LOOPS_LISTED,
            "fit": picture is not None and picture.width <= GRAPH_FIT_WIDTH,
            "node_w": NODE_W,
            "node_h": NODE_H,
            "board_url": f"{reverse('board:board')}?{board_params.urlencode()}",
        },
    )
