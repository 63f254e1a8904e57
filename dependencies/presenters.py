"""The board as its template shows it: rows decorated with what they show beyond the fields,
grouped by provider or month with each group's counts, paged, and the links that keep the
board's filters.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.core.paginator import Paginator
from django.http import HttpRequest
from django.template.defaultfilters import truncatechars
from django.template.defaultfilters import urlencode as urlencode_filter
from django.urls import get_script_prefix, reverse

from core import access
from core.drift import Drift
from core.models import Cycle
from dependencies import selectors
from dependencies.forms import FUNCTION_PREFIX, GROUPS, PAGE_SIZE, BoardFilterForm
from dependencies.models import TRANSITIONS, Dependency, DependencyQuerySet, may_follow
from dependencies.services import RESPONSES

# What the provider may do from each status: (action, button label).
# A button's label says what the answer means from where the dependency is.
_LABELS = {"accept": "Accept", "at_risk": "At risk", "done": "Done"}
_LABELS_FROM = {
    ("at_risk", "accept"): "Back on track",
    ("done", "accept"): "Reopen",
    ("declined", "accept"): "Accept after all",
}
_ACTION_FOR = {status: action for action, status in RESPONSES.items()}


def _buttons(current: str) -> list[tuple[str, str]]:
    """What the provider may do from `current`, as the lifecycle allows: (action, label).
    Declining is not a button but a form of its own, for the reason (CAN_DECLINE); marking
    at risk opens a form of its own too, for the reason (see _shown)."""
    buttons = []
    for status in TRANSITIONS[current]:
        if status != Dependency.Status.DECLINED:
            action = _ACTION_FOR[status]
            buttons.append((action, _LABELS_FROM.get((current, action), _LABELS[action])))
    return buttons


# What the provider may do from each status: (action, button label), from the lifecycle.
ACTIONS = {current: _buttons(current) for current in TRANSITIONS}
CAN_DECLINE = {current for current in TRANSITIONS if may_follow(current, "declined")}
BOARD_COLUMNS = 8


def board_url(**params) -> str:
    """The board with these filters in its query string (empty ones left out)."""
    url = _board_path(get_script_prefix())
    params = {k: v for k, v in params.items() if v not in (None, "", False)}
    return f"{url}?{urlencode(params)}" if params else url


@functools.cache
def _board_path(_prefix: str) -> str:
    return reverse("board:board")


def address(name: str) -> Callable[[str], str]:
    """A function giving the address of view `name` for a key: reversed once per process
    and script prefix, not once per row (the board draws 50 rows of up to nine links)."""
    return _addresses(name, get_script_prefix())


@functools.cache
def _addresses(name: str, _prefix: str) -> Callable[[str], str]:
    before, after = reverse(name, args=[_KEY]).split(_KEY)
    return lambda key: f"{before}{key}{after}"


_KEY = "key-of-the-row"


_STATUS_LABELS = dict(Dependency.Status.choices)
_CLOSED = (Dependency.Status.DONE, Dependency.Status.DECLINED)
_EXPLAINED = (Dependency.Status.AT_RISK, Dependency.Status.DECLINED)


def decorate(dep: Dependency, actor: access.Actor, today: dt.date) -> Dependency:
    """One dependency's row (the row redrawn after an answer, the forms around it): what it
    shows beyond the fields, from its models."""
    stage = None
    if dep.from_initiative_id and dep.from_initiative.stage_id:
        stage = dep.from_initiative.stage
    elif dep.to_initiative_id and dep.to_initiative.stage_id:
        stage = dep.to_initiative.stage
    needer = dep.needer_squad()
    provider = None if dep.to_function else dep.provider_squad()
    owner = dep.owner
    profile = getattr(owner, "profile", None)
    return _shown(
        dep,
        actor,
        today,
        stage=(stage.pk, stage.name, stage.journey.key, stage.journey.name) if stage else None,
        needer=(needer.name, needer.key),
        needer_initiative=dep.from_initiative.title if dep.from_initiative_id else "",
        provider=(provider.name, provider.key) if provider else None,
        provider_initiative=dep.to_initiative.title if dep.to_initiative_id else "",
        owner_name=((profile and profile.display_name) or owner.username) if owner else "",
    )


def decorate_row(row: selectors.BoardRow, actor: access.Actor, today: dt.date):
    """A row of the board's page, from the values it was read with: as decorate."""
    if row.from_stage_id:
        stage = (
            row.from_stage_id,
            row.from_stage_name,
            row.from_journey_key,
            row.from_journey_name,
        )
    elif row.to_stage_id:
        stage = (row.to_stage_id, row.to_stage_name, row.to_journey_key, row.to_journey_name)
    else:
        stage = None
    return _shown(
        row,
        actor,
        today,
        stage=stage,
        needer=(row.needer_name, row.needer_key),
        needer_initiative=row.needer_initiative or "",
        provider=(None if row.to_function else (row.provider_squad_name, row.provider_squad_key)),
        provider_initiative=row.provider_initiative or "",
        owner_name=(row.owner_display_name or row.owner_username or ""),
    )


def _shown(
    dep,
    actor: access.Actor,
    today: dt.date,
    *,
    stage,
    needer,
    needer_initiative,
    provider,
    provider_initiative,
    owner_name,
):
    """What a row shows beyond the fields: computed once, here, so the row's template only
    prints (no method calls, links reversed or filters applied per row)."""
    is_open = dep.status not in _CLOSED
    dep.overdue = is_open and dep.due < today
    dep.days_late = (today - dep.due).days if dep.overdue else 0
    dep.affected_stage = stage is not None
    if stage:
        stage_pk, dep.stage_name, journey_key, dep.stage_journey = stage
        dep.stage_url = f"{address('journeys:detail')(journey_key)}#stage-{stage_pk}"
    else:
        dep.stage_name = dep.stage_journey = dep.stage_url = ""
    plan = address("squads:plan")
    dep.needer_name, dep.needer_url = needer[0], plan(needer[1])
    dep.needer_initiative = needer_initiative
    dep.provider_initiative = provider_initiative
    if dep.to_function:
        dep.provider_kind, dep.provider_name, dep.provider_url = "function", dep.to_function, ""
    else:
        dep.provider_kind = "removed" if dep.provider_removed() else "squad"
        dep.provider_name, dep.provider_url = provider[0], plan(provider[1])
    dep.owner_name = owner_name
    dep.status_reason_shown = dep.status_reason if dep.status in _EXPLAINED else ""
    dep.status_label = _STATUS_LABELS.get(dep.status, dep.status)
    dep.row_class = (
        " is-overdue" if dep.overdue else " is-at-risk" if dep.status == "at_risk" else ""
    ) + ("" if is_open else " is-closed")
    dep.short_what = truncatechars(dep.what, 60)
    dep.respond_url = address("board:respond")(dep.key)
    dep.decline_url = address("board:decline")(dep.key)
    dep.edit_url = address("board:edit")(dep.key)
    dep.remove_url = address("board:remove")(dep.key)
    dep.can_respond = access.can_respond_dependency(actor, dep)
    dep.can_edit = access.can_edit_dependency(actor, dep)
    # Operations answer for providers they are not part of: accepting one nobody owns asks
    # whom to name (whoever else accepts is on the provider side and becomes its owner).
    asks = {"at_risk"} | ({"accept"} if dep.owner_id is None and actor.is_operations else set())
    dep.actions = [
        (action, label, address(f"board:{action}")(dep.key) if action in asks else "")
        for action, label in (ACTIONS.get(dep.status, []) if dep.can_respond else [])
    ]
    dep.can_decline = dep.can_respond and dep.status in CAN_DECLINE
    return dep


# ---------------------------------------------------------------------------------------
# Groups and pages
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


def grouping(request: HttpRequest) -> str:
    """The board's grouping from its query string: by provider unless it names another."""
    group = request.GET.get("group", "provider")
    return group if group in dict(GROUPS) else "provider"


def provider_groups(
    rows: list[selectors.BoardRow],
    counts: dict[tuple[int | None, str], dict],
    first_row_group: bool,
) -> list[Group]:
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
                # A removed squad is kept with the declined needs on it.
                removed = dep.provider_squad_removal is not None
                name, squad_key = dep.provider_squad_name, dep.provider_squad_key
                group = Group(
                    key=key,
                    label=f"{name} (removed)" if removed else name,
                    kind="squad",
                    url="" if removed else reverse("squads:plan", args=[squad_key]),
                    filter_key="" if removed else squad_key,
                )
            groups.append(group)
        groups[-1].rows.append(dep)
    if not groups:
        return groups
    for group in groups:
        group.counts = counts.get(group.key, {})
    groups[0].continued = first_row_group
    return groups


def month_groups(
    rows: list[selectors.BoardRow], base: DependencyQuerySet, today: dt.date, first_row_group: bool
) -> list[Group]:
    groups: list[Group] = []
    for dep in rows:
        month = dep.due.replace(day=1)
        if not groups or groups[-1].key != (month,):
            groups.append(Group(key=(month,), label=f"{month:%B %Y}", kind="month"))
        groups[-1].rows.append(dep)
    if not groups:
        return groups
    months = [g.key[0] for g in groups]
    by_key = selectors.month_counts(base, today, months[0], months[-1])
    for group in groups:
        group.counts = by_key.get(group.key[0], {})
    groups[0].continued = first_row_group
    return groups


# ---------------------------------------------------------------------------------------
# Links that keep the board's filters
# ---------------------------------------------------------------------------------------


def graph_url_for(request: HttpRequest) -> str:
    """The graph of what the board shows: the same filters, without the board's own."""
    params = request.GET.copy()
    for name in ("group", "page", "dep", "blocking"):
        params.pop(name, None)
    query = params.urlencode()
    return reverse("board:graph") + (f"?{query}" if query else "")


def export_urls(request: HttpRequest) -> dict:
    """The download links keep the board's filters and grouping; a file has no pages."""
    params = request.GET.copy()
    params.pop("page", None)
    query = params.urlencode()
    suffix = f"?{query}" if query else ""
    return {
        "export_csv_url": reverse("board:export_csv") + suffix,
        "export_xlsx_url": reverse("board:export_xlsx") + suffix,
    }


# ---------------------------------------------------------------------------------------
# The board's body
# ---------------------------------------------------------------------------------------


# The board lists the first few changes of each kind since commit; the season page has all.
BOARD_DRIFT_SHOWN = 5


@dataclass
class BoardDrift:
    """The board's "since commit": its dependencies against the cycle's latest baseline."""

    baseline: object
    dependencies: Drift
    initiatives: Drift = field(default_factory=Drift)
    count: int = 0
    more: int = 0


def board_drift(cycle: Cycle | None) -> BoardDrift | None:
    baseline = selectors.latest_baseline(cycle)
    if baseline is None:
        return None
    drift = selectors.dependency_drift(cycle, baseline)
    shown = Drift(
        added=drift.added[:BOARD_DRIFT_SHOWN],
        dropped=drift.dropped[:BOARD_DRIFT_SHOWN],
        moved=drift.moved[:BOARD_DRIFT_SHOWN],
    )
    return BoardDrift(
        baseline=baseline, dependencies=shown, count=len(drift), more=len(drift) - len(shown)
    )


def board_context(
    request: HttpRequest,
    form: BoardFilterForm,
    *,
    today: dt.date,
    cycle: Cycle | None,
    actor: access.Actor,
) -> dict:
    """Everything the board's body shows for this query string and this person."""
    filters = form.filters(today=today, cycle_id=cycle.pk if cycle else None)
    group = grouping(request)

    base = Dependency.objects.filtered(filters)
    if group == "provider":
        # One grouped count gives the summary, the pages and each group's counts; a page
        # then reads only the groups it shows (selectors.ProviderPages).
        by_provider = selectors.ProviderPages(base, selectors.provider_groups(base, today))
        summary = by_provider.summary()
        paginator = Paginator(by_provider, PAGE_SIZE)
    else:
        summary = base.counts(today)
        ordered = selectors.board_ordered(filters, group)
        # Page through the narrow, ordered query; then load the page's rows with everything
        # they show, so sorting 20,000 rows never drags a dozen joins along.
        paginator = Paginator(ordered.values_list("pk", flat=True), PAGE_SIZE)
        paginator.count = summary["total"]  # counted with the summary: no COUNT query
    page = paginator.get_page(request.GET.get("page"))
    offset = (page.number - 1) * PAGE_SIZE
    rows = [decorate_row(row, actor, today) for row in selectors.board_rows(list(page))]
    if group == "provider":
        groups = provider_groups(rows, by_provider.counts(), by_provider.continues(offset))
    elif group == "month":
        continued = selectors.continues_group(ordered, offset, group, rows[0] if rows else None)
        groups = month_groups(rows, base, today, continued)
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
        "next_q": urlencode_filter(request.get_full_path()),
        "today": today,
        "can_create": can_create,
        "columns": BOARD_COLUMNS,
        "graph_url": graph_url_for(request),
        "since_commit": board_drift(cycle),
        **export_urls(request),
    }
