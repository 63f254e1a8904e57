"""What the timeline's body shows for one query string: the filters, one page of groups with
the initiatives drawn in them, the chart and its text alternative."""

from __future__ import annotations

import datetime as dt
from urllib.parse import quote_plus, urlencode

from django.core.paginator import Paginator
from django.http import HttpRequest
from django.urls import reverse

from core.models import Cycle
from dependencies.presenters import board_url
from planning.timeline import chart, selectors
from planning.timeline.baseline import baseline_dates
from planning.timeline.forms import TimelineFilterForm

GROUPS_PER_PAGE = 25


def grouping(request: HttpRequest) -> str:
    group = request.GET.get("group", "squad")
    return group if group in dict(selectors.GROUPINGS) else "squad"


def zoom(request: HttpRequest) -> str:
    value = request.GET.get("zoom", "quarter")
    return value if value in dict(chart.ZOOMS) else "quarter"


def timeline_url(request: HttpRequest, **changes: str | None) -> str:
    """This timeline with some query parameters changed (None leaves one out)."""
    params = request.GET.copy()
    for name, value in changes.items():
        if value is None:
            params.pop(name, None)
        else:
            params[name] = value
    query = params.urlencode()
    return reverse("timeline") + (f"?{query}" if query else "")


def _group_key(row: dict, group_by: str) -> tuple[str, int | None]:
    """A group's key in the URL (`open=`) and its id in the database."""
    if group_by == "squad":
        return row["squad__key"], row["squad_id"]
    if row["stage_id"] is None:
        return selectors.NO_STAGE, None
    return f"{row['stage__journey__key']}/{row['stage__key']}", row["stage_id"]


def _group_label(row: dict, group_by: str) -> tuple[str, str]:
    """A group's name and where it links: the squad's plan, or the stage on its journey."""
    if group_by == "squad":
        return row["squad__name"], reverse("squads:plan", args=[row["squad__key"]])
    if row["stage_id"] is None:
        return "No journey stage", ""
    url = reverse("journeys:detail", args=[row["stage__journey__key"]])
    return f"{row['stage__journey__name']}: {row['stage__name']}", f"{url}#stage-{row['stage_id']}"


def _items(rows: list[dict], group_by: str) -> dict[int | None, list[chart.Item]]:
    plans: dict[str, str] = {}
    found: dict[int | None, list[chart.Item]] = {}
    for r in rows:
        squad_key = r["squad__key"]
        if squad_key not in plans:
            plans[squad_key] = reverse("squads:plan", args=[squad_key])
        stage = f"{r['stage__journey__name']}: {r['stage__name']}" if r["stage_id"] else ""
        item = chart.Item(
            id=r["id"],
            ref=f"{squad_key}/{r['key']}",
            title=r["title"],
            squad=r["squad__name"],
            url=f"{plans[squad_key]}#initiative-{r['key']}",
            function=r["function"],
            stage=stage,
            segment=r["segment__name"] or "",
            starts=r["starts"],
            ends=r["ends"],
            status=r["status"],
        )
        found.setdefault(r["squad_id"] if group_by == "squad" else r["stage_id"], []).append(item)
    return found


def _needs(rows: list[dict]) -> list[chart.Need]:
    # board_url(dep=key), with the board's address reversed once for up to 1,000 needs.
    board = board_url()
    return [
        chart.Need(
            key=r["key"],
            what=r["what"],
            due=r["due"],
            blocking=r["blocking"],
            status=r["status"],
            url=f"{board}?dep={quote_plus(r['key'])}",
            provider=r["provider_name"] or "",
            needer_item=r["from_initiative_id"],
            needer_squad=r["from_squad__key"] or "",
            provider_item=r["to_initiative_id"],
            provider_squad=r["to_squad__key"] or "",
            provider_ends=r["to_initiative__ends"],
        )
        for r in rows
    ]


def timeline_context(
    request: HttpRequest,
    *,
    cycle: Cycle | None,
    hidden: list[tuple[int, str]],
    today: dt.date,
) -> dict:
    """Everything the timeline's body shows for this query string and this person."""
    group_by = grouping(request)
    context: dict = {
        "cycle": cycle,
        "group": group_by,
        "groupings": selectors.GROUPINGS,
        "zoom": zoom(request),
        "zooms": chart.ZOOMS,
        "hidden_squads": [name for _, name in hidden],
        "collapse_over": selectors.COLLAPSE_OVER,
    }
    if cycle is None:
        return context
    hidden_ids = frozenset(pk for pk, _ in hidden)
    squads, stages, functions, segments = selectors.choices(cycle, hidden_ids)
    form = TimelineFilterForm(
        request.GET, squads=squads, stages=stages, functions=functions, segments=segments
    )
    selected = selectors.selected(form.filters(cycle_id=cycle.pk, hidden=hidden_ids))
    counted = selectors.group_counts(selected, group_by)
    page = Paginator(counted, GROUPS_PER_PAGE).get_page(request.GET.get("page"))
    opened = request.GET.get("open", "")

    # A big group is one summary row, unless it is the one opened; the others are drawn whole.
    heads = []
    for row in page.object_list:
        key, pk = _group_key(row, group_by)
        big = row["n"] > selectors.COLLAPSE_OVER
        heads.append((row, key, pk, big, not big or key == opened))
    drawn = [pk for _, _, pk, _, expanded in heads if expanded]
    items = _items(selectors.page_items(selected, group_by, drawn), group_by)

    groups = []
    for row, key, pk, big, expanded in heads:
        label, url = _group_label(row, group_by)
        groups.append(
            chart.Group(
                key=key,
                label=label,
                url=url,
                count=row["n"],
                first=row["first"],
                last=row["last"],
                expanded=expanded,
                squad=key if group_by == "squad" else "",
                toggle_url=timeline_url(request, open=None if expanded else key) if big else "",
                items=tuple(items.get(pk, ())) if expanded else (),
            )
        )
    item_ids = [i.id for g in groups for i in g.items]
    squad_ids = [row["squad_id"] for row in page.object_list] if group_by == "squad" else []
    need_rows = selectors.needs_touching(item_ids, squad_ids, hidden_ids)
    picture = chart.draw(
        groups,
        _needs(need_rows),
        zoom=context["zoom"],
        today=today,
        cycle_starts=cycle.starts,
        cycle_ends=cycle.ends,
        first=min((r["first"] for r in counted), default=None),
        last=max((r["last"] for r in counted), default=None),
        baseline=baseline_dates(cycle),
    )
    context.update(
        {
            "form": form,
            "active_filters": form.active(),
            "chart": picture,
            "page_obj": page,
            "total": sum(r["n"] for r in counted),
            "groups_total": len(counted),
            "needs_cut": len(need_rows) >= selectors.NEEDS_MAX,
            "needs_max": selectors.NEEDS_MAX,
            "open_max": selectors.OPEN_MAX,
            "board_url": board_url(blocking="on", status="open"),
            "reset_url": _cleared_url(request),
        }
    )
    return context


def _cleared_url(request: HttpRequest) -> str:
    """The timeline without filters: it keeps the grouping and the zoom that are not the
    defaults."""
    kept = {}
    if grouping(request) != "squad":
        kept["group"] = grouping(request)
    if zoom(request) != "quarter":
        kept["zoom"] = zoom(request)
    return reverse("timeline") + (f"?{urlencode(kept)}" if kept else "")
