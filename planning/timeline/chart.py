"""The timeline as a picture: each initiative a bar on a time axis, as plain geometry for an
SVG the template draws.

`draw` takes plain rows (one page of groups, the initiatives drawn in them and the open
dependencies that touch them, read by planning/timeline/selectors.py), the zoom, today and
the committed baseline's dates, and returns a Chart. Nothing here reads the database, so
every part can be tried with plain objects.

The size of a picture is bounded whatever the data: the axis covers at most MAX_DAYS, and
the rows, bars, arrows and markers are at most what the selectors hand over (a page of
groups, a bounded number of initiatives and dependencies).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from squads.models import Initiative as InitiativeModel

ZOOMS = [("quarter", "Quarters"), ("month", "Months")]
# Pixels a day at each zoom: a year is about 900 pixels by quarter, 2,900 by month.
DAY_WIDTH = {"quarter": 2.5, "month": 8.0}
LABEL_W = 300  # the left column: group names and initiative titles
RIGHT_PAD = 24
AXIS_H = 46
HEAD_H = 30
ROW_H = 24
BAR_H = 14
GHOST_H = 20  # behind a bar, showing above and below it
SPAN_H = 8
MARKER_R = 6  # a due date's diamond, from its centre to each corner
# The axis covers at most this many days (about two years and a quarter), so a page is never
# wider than LABEL_W + MAX_DAYS × 8 pixels whatever dates people type; bars beyond it are
# cut at its edge, and the cycle stays in view.
MAX_DAYS = 825
GROUP_CHARS = 30
TITLE_CHARS = 36
# In the names of arrows, markers and bars, which repeat them: what a dependency is about, its
# provider, the squad and the initiative that waits, shortened; and at most WAITS_NAMED of what
# a bar waits on (the arrows, the markers and the table name every one).
NAME_CHARS = 90
WAITS_NAMED = 1

STATUS_LABELS = dict(InitiativeModel.Status.choices)
CLOSED = {"done", "dropped"}


def shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def day_text(day: dt.date) -> str:
    return f"{day.day} {day:%b %Y}"


def span_text(first: dt.date, last: dt.date) -> str:
    if first.year == last.year:
        return f"{first.day} {first:%b} – {day_text(last)}"
    return f"{day_text(first)} – {day_text(last)}"


# ---------------------------------------------------------------------------------------
# What the chart is drawn from
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Item:
    """One initiative as the timeline shows it."""

    id: int
    ref: str  # "<squad key>/<initiative key>", the key of the baseline's dates
    title: str
    squad: str  # its squad's name
    url: str
    function: str
    stage: str
    segment: str
    starts: dt.date
    ends: dt.date
    status: str


@dataclass(frozen=True)
class Group:
    """A squad or a journey stage, with its initiatives on this page if it is expanded."""

    key: str  # the value of `open=` that opens it
    label: str
    url: str
    count: int
    first: dt.date
    last: dt.date
    expanded: bool
    squad: str = ""  # the squad's key when grouped by squad: squad-wide dependencies end here
    toggle_url: str = ""  # opens a collapsed group, or closes the opened one
    items: Sequence[Item] = ()

    @property
    def collapsible(self) -> bool:
        return bool(self.toggle_url)

    @property
    def not_drawn(self) -> int:
        return self.count - len(self.items) if self.expanded else 0


@dataclass(frozen=True)
class Need:
    """An open dependency touching this page: who needs what from whom, by when."""

    key: str
    what: str
    due: dt.date
    blocking: bool
    status: str
    url: str
    provider: str  # the providing squad's name, or the function
    needer_item: int | None = None
    needer_squad: str = ""  # a squad's key, when the whole squad needs it
    provider_item: int | None = None
    provider_squad: str = ""  # a squad's key, when the whole squad provides it
    provider_ends: dt.date | None = None  # the providing initiative's end, if it may be read

    @property
    def late(self) -> bool:
        """The providing initiative is planned to end after the date it is needed by."""
        return self.provider_ends is not None and self.provider_ends > self.due


# ---------------------------------------------------------------------------------------
# What the template draws
# ---------------------------------------------------------------------------------------


@dataclass
class Tick:
    x: float
    label: str
    major: bool


@dataclass
class Ghost:
    x: float
    width: float
    title: str


@dataclass
class Bar:
    x: float
    y: float
    width: float
    classes: str
    title: str
    ghost: Ghost | None = None


@dataclass
class Row:
    kind: str  # "group", "item" or "more"
    y: float  # top
    label: str
    full_label: str
    url: str = ""
    group: Group | None = None
    item: Item | None = None
    bar: Bar | None = None
    # The table's words for an initiative: status, what it waits on, the committed dates.
    state: str = ""
    waits_on: list[str] = field(default_factory=list)
    committed: str = ""

    @property
    def mid(self) -> float:
        return self.y + (HEAD_H if self.kind == "group" else ROW_H) / 2

    @property
    def text_y(self) -> float:
        return self.mid + 4.5

    @property
    def bar_y(self) -> float:
        return self.mid - (SPAN_H if self.kind == "group" else BAR_H) / 2

    @property
    def ghost_y(self) -> float:
        return self.mid - GHOST_H / 2


@dataclass
class Arrow:
    path: str
    classes: str
    title: str
    url: str
    late: bool = False


@dataclass
class Marker:
    x: float
    y: float
    classes: str
    title: str
    url: str

    @property
    def points(self) -> str:
        x, y, r = self.x, self.y, MARKER_R
        return f"{x:.1f},{y - r:.1f} {x + r:.1f},{y:.1f} {x:.1f},{y + r:.1f} {x - r:.1f},{y:.1f}"


@dataclass
class Chart:
    width: int
    height: int
    starts: dt.date
    ends: dt.date
    zoom: str
    ticks: list[Tick]
    rows: list[Row]
    arrows: list[Arrow]
    markers: list[Marker]
    today_x: float | None
    today: dt.date
    bars: int = 0

    @property
    def label_w(self) -> int:
        return LABEL_W

    @property
    def axis_h(self) -> int:
        return AXIS_H

    @property
    def head_h(self) -> int:
        return HEAD_H

    @property
    def bar_h(self) -> int:
        return BAR_H

    @property
    def span_h(self) -> int:
        return SPAN_H

    @property
    def ghost_h(self) -> int:
        return GHOST_H


# ---------------------------------------------------------------------------------------
# The axis
# ---------------------------------------------------------------------------------------


def _quarter_start(day: dt.date) -> dt.date:
    return dt.date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def _next_month(day: dt.date) -> dt.date:
    return dt.date(day.year + day.month // 12, day.month % 12 + 1, 1)


def _next_quarter(day: dt.date) -> dt.date:
    return _next_month(_next_month(_next_month(_quarter_start(day))))


def axis_range(
    *,
    cycle_starts: dt.date,
    cycle_ends: dt.date,
    first: dt.date | None,
    last: dt.date | None,
    zoom: str,
) -> tuple[dt.date, dt.date]:
    """The axis's first and last day: the cycle, widened to the initiatives' dates (`first`,
    `last`: the earliest start and latest end of everything the filters select, so every page
    has the same axis), at most MAX_DAYS long, and whole quarters (or months) at each end."""
    starts = min(cycle_starts, first) if first else cycle_starts
    ends = max(cycle_ends, last) if last else cycle_ends
    if (ends - starts).days > MAX_DAYS:
        # Keep the cycle in view, with a quarter before it at most.
        starts = max(starts, cycle_starts - dt.timedelta(days=92))
        ends = min(ends, starts + dt.timedelta(days=MAX_DAYS))
    if zoom == "month":
        return starts.replace(day=1), _next_month(ends) - dt.timedelta(days=1)
    return _quarter_start(starts), _next_quarter(ends) - dt.timedelta(days=1)


def ticks(starts: dt.date, ends: dt.date, zoom: str, x) -> list[Tick]:
    """A line at the start of each month; by quarter, the quarters are labelled and the
    months left quiet; by month, every month is labelled."""
    found = []
    day = starts.replace(day=1)
    while day <= ends:
        quarter = day.month in (1, 4, 7, 10)
        if zoom == "month":
            label = f"{day:%b %Y}" if day.month == 1 or not found else f"{day:%b}"
            found.append(Tick(x=x(day), label=label, major=quarter))
        else:
            label = f"Q{(day.month - 1) // 3 + 1} {day.year}" if quarter else ""
            found.append(Tick(x=x(day), label=label, major=quarter))
        day = _next_month(day)
    return found


# ---------------------------------------------------------------------------------------
# The picture
# ---------------------------------------------------------------------------------------


def _curve(x0: float, y0: float, x1: float, y1: float) -> str:
    """A curve leaving the provider's row to the right and coming down (or up) into the
    needer's due marker at (x1, y1): when the provider ends after the due date, it bends
    back, which is how a late delivery looks."""
    down = 1 if y1 > y0 else -1
    tip = y1 - down * (MARKER_R + 1)
    bend_x = max(abs(x1 - x0) / 2, 20)
    bend_y = max(abs(tip - y0) / 2, 12)
    return (
        f"M{x0:.1f},{y0:.1f} C{x0 + bend_x:.1f},{y0:.1f} "
        f"{x1:.1f},{tip - down * bend_y:.1f} {x1:.1f},{tip:.1f}"
    )


def _need_words(need: Need, today: dt.date) -> str:
    what, provider = shorten(need.what, NAME_CHARS), shorten(need.provider, NAME_CHARS)
    words = [f"{what} from {provider}, due {day_text(need.due)}"]
    words.append(need.status.replace("_", " "))
    if need.blocking:
        words.append("blocking")
    if need.due < today:
        words.append("overdue")
    if need.late:
        words.append(f"its provider ends {day_text(need.provider_ends)}")
    return "; ".join(words)


def _at_risk(waits: list[Need], today: dt.date) -> bool:
    """An initiative is at risk when something blocking it is at risk, overdue, or planned
    to arrive after the date it is needed by."""
    return any(n.status == "at_risk" or n.due < today or n.late for n in waits)


class _Axis:
    """Days to pixels: a day's left edge, clamped to the axis."""

    def __init__(self, starts: dt.date, ends: dt.date, zoom: str) -> None:
        self.starts, self.ends = starts, ends
        self.day_w = DAY_WIDTH[zoom]
        self.days = (ends - starts).days + 1

    def x(self, day: dt.date) -> float:
        offset = min(max((day - self.starts).days, 0), self.days)
        return LABEL_W + offset * self.day_w

    def span(self, first: dt.date, last: dt.date) -> tuple[float, float]:
        """Where a bar from `first` to `last`, both days included, starts, and its width."""
        left = self.x(first)
        return left, max(self.x(last + dt.timedelta(days=1)) - left, 2)

    def cuts(self, first: dt.date, last: dt.date) -> bool:
        return first < self.starts or last > self.ends


def _rows(groups: Sequence[Group]) -> tuple[list[Row], float]:
    """A header row per group, a row per initiative drawn, a note for those not drawn; and
    where the rows end."""
    rows: list[Row] = []
    y = float(AXIS_H)
    for group in groups:
        rows.append(
            Row(
                kind="group",
                y=y,
                label=shorten(group.label, GROUP_CHARS),
                full_label=group.label,
                url=group.url,
                group=group,
            )
        )
        y += HEAD_H
        if not group.expanded:
            continue
        for item in group.items:
            rows.append(
                Row(
                    kind="item",
                    y=y,
                    label=shorten(item.title, TITLE_CHARS),
                    full_label=item.title,
                    url=item.url,
                    item=item,
                )
            )
            y += ROW_H
        if group.not_drawn:
            rows.append(Row(kind="more", y=y, label="", full_label="", group=group))
            y += ROW_H
    return rows, y


def _needs(
    rows: list[Row], needs: Sequence[Need], axis: _Axis, today: dt.date
) -> tuple[list[Marker], list[Arrow], dict[int, list[Need]]]:
    """A marker on the needing row at each due date; for a blocking dependency, an arrow from
    the providing row (the end of its bar, or the due date for a whole squad) to it. Only
    between rows on this page. Also what each initiative waits on (its blocking needs)."""
    item_row = {row.item.id: row for row in rows if row.kind == "item"}
    squad_row = {row.group.squad: row for row in rows if row.kind == "group" and row.group.squad}
    markers: list[Marker] = []
    arrows: list[Arrow] = []
    waits: dict[int, list[Need]] = defaultdict(list)
    for need in needs:
        if need.needer_item is not None:
            needer = item_row.get(need.needer_item)
        else:
            needer = squad_row.get(need.needer_squad)
        if needer is None:
            continue
        overdue = need.due < today
        words = _need_words(need, today)
        # Due on a day means by its end: where a bar ending that day ends.
        due_x = axis.x(need.due + dt.timedelta(days=1))
        classes = ["tl-due"]
        if need.blocking:
            classes.append("tl-due--blocking")
        if overdue:
            classes.append("tl-due--overdue")
        markers.append(
            Marker(
                x=due_x,
                y=needer.mid,
                classes=" ".join(classes),
                title=f"Needs {words}",
                url=need.url,
            )
        )
        if not need.blocking:
            continue
        if need.needer_item is not None:
            waits[need.needer_item].append(need)
        if need.provider_item is not None:
            provider = item_row.get(need.provider_item)
        else:
            provider = squad_row.get(need.provider_squad) if need.provider_squad else None
        if provider is None or provider is needer:
            continue
        # From the end of the providing bar; a whole squad has none, so from the due date.
        if provider.item is not None:
            x0 = axis.x(provider.item.ends + dt.timedelta(days=1))
        else:
            x0 = due_x
        late = need.late or overdue
        arrow_classes = ["tl-arrow"]
        if late:
            arrow_classes.append("tl-arrow--late")
        if need.status == "at_risk":
            arrow_classes.append("tl-arrow--at-risk")
        arrows.append(
            Arrow(
                path=_curve(x0, provider.mid, due_x, needer.mid),
                classes=" ".join(arrow_classes),
                title=f"{shorten(needer.full_label, NAME_CHARS)} waits on {words}",
                url=need.url,
                late=late,
            )
        )
    return markers, arrows, waits


def _group_bar(row: Row, axis: _Axis) -> None:
    group = row.group
    noun = "initiative" if group.count == 1 else "initiatives"
    row.state = f"{group.count} {noun}, {span_text(group.first, group.last)}"
    left, width = axis.span(group.first, group.last)
    row.bar = Bar(
        x=left,
        y=row.bar_y,
        width=width,
        classes="tl-span" if group.expanded else "tl-span tl-span--collapsed",
        title=f"{group.label}: {row.state}",
    )


def _item_bar(
    row: Row,
    axis: _Axis,
    waits: list[Need],
    committed: tuple[dt.date, dt.date] | None,
    today: dt.date,
) -> None:
    """An initiative's bar, its ghost where the committed dates differ, and what the table
    says of it."""
    item = row.item
    words = [STATUS_LABELS.get(item.status, item.status).lower()]
    classes = ["tl-bar", f"tl-bar--{item.status.replace('_', '-')}"]
    if item.status not in CLOSED:
        if item.ends < today:
            classes.append("tl-bar--late")
            words.append("past its end date")
        if _at_risk(waits, today):
            classes.append("tl-bar--at-risk")
            words.append("at risk")
    row.state = ", ".join(words)
    row.waits_on = [_need_words(n, today) for n in waits]
    squad = shorten(item.squad, NAME_CHARS)
    title = f"{item.title} ({squad}): {span_text(item.starts, item.ends)}, {row.state}"
    if axis.cuts(item.starts, item.ends):
        title += "; it runs beyond the edge of this axis"
    ghost = None
    if committed is not None and tuple(committed) != (item.starts, item.ends):
        was_first, was_last = committed
        row.committed = span_text(was_first, was_last)
        left, width = axis.span(was_first, was_last)
        ghost = Ghost(x=left, width=width, title=f"{item.title}, as committed: {row.committed}")
        title += f"; committed {row.committed}"
    if row.waits_on:
        title += "; waits on " + "; ".join(row.waits_on[:WAITS_NAMED])
        if len(row.waits_on) > WAITS_NAMED:
            title += f"; and {len(row.waits_on) - WAITS_NAMED} more"
    left, width = axis.span(item.starts, item.ends)
    row.bar = Bar(
        x=left, y=row.bar_y, width=width, classes=" ".join(classes), title=title, ghost=ghost
    )


def draw(
    groups: Sequence[Group],
    needs: Sequence[Need],
    *,
    zoom: str,
    today: dt.date,
    cycle_starts: dt.date,
    cycle_ends: dt.date,
    first: dt.date | None = None,
    last: dt.date | None = None,
    baseline: Mapping[str, tuple[dt.date, dt.date]] | None = None,
) -> Chart:
    """The picture of one page of the timeline.

    `baseline` maps an initiative's ref to the dates the committed baseline holds for it;
    where they differ from today's, a ghost bar is drawn behind the current one."""
    baseline = baseline or {}
    if zoom not in DAY_WIDTH:
        zoom = "quarter"
    starts, ends = axis_range(
        cycle_starts=cycle_starts, cycle_ends=cycle_ends, first=first, last=last, zoom=zoom
    )
    axis = _Axis(starts, ends, zoom)
    # Rows first: every arrow and marker needs to know where its ends are.
    rows, bottom = _rows(groups)
    markers, arrows, waits = _needs(rows, needs, axis, today)
    bars = 0
    for row in rows:
        if row.kind == "group":
            _group_bar(row, axis)
        elif row.kind == "item":
            _item_bar(row, axis, waits[row.item.id], baseline.get(row.item.ref), today)
            bars += 1
    return Chart(
        width=int(LABEL_W + axis.days * axis.day_w + RIGHT_PAD),
        height=int(bottom + 8),
        starts=starts,
        ends=ends,
        zoom=zoom,
        ticks=ticks(starts, ends, zoom, axis.x),
        rows=rows,
        arrows=arrows,
        markers=markers,
        today_x=axis.x(today) if starts <= today <= ends else None,
        today=today,
        bars=bars,
    )
