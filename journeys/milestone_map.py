"""A segment's time-to-value map: what the milestone page shows, read and laid out.

`milestone_rows` reads a segment's milestones with their readings, tied moments and the
initiatives of a cycle that serve them (those the person may read) in a fixed number of
queries; `track` lays the inline SVG out as pure geometry from those rows (the template
draws it, escaping every word), and the table under it carries the same facts in words.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, F, Prefetch, Window
from django.db.models.functions import RowNumber
from django.urls import reverse

from core import access
from journeys.models import Milestone, MilestoneReading, Segment
from journeys.outcomes import plain_decimal, rate_threshold

TREND_READINGS = 5


@dataclass
class MilestoneRow:
    milestone: Milestone
    readings: list[MilestoneReading]  # newest first, at most TREND_READINGS
    reading_count: int
    initiatives: list = field(default_factory=list)
    threshold: Decimal | None = None  # the segment's, for the success milestone

    @property
    def latest(self) -> MilestoneReading | None:
        return self.readings[0] if self.readings else None

    @property
    def actual_days(self) -> Decimal | None:
        return next((r.actual_days for r in self.readings if r.actual_days is not None), None)

    @property
    def completion_rate(self) -> Decimal | None:
        return next(
            (r.completion_rate for r in self.readings if r.completion_rate is not None), None
        )

    @property
    def actual_days_text(self) -> str:
        return plain_decimal(self.actual_days) if self.actual_days is not None else "—"

    @property
    def completion_text(self) -> str:
        rate = self.completion_rate
        return f"{plain_decimal(rate)}%" if rate is not None else "—"

    @property
    def late(self) -> bool:
        return self.actual_days is not None and self.actual_days > self.milestone.expected_day

    @property
    def short_of_success(self) -> bool:
        return (
            self.milestone.success
            and self.threshold is not None
            and self.completion_rate is not None
            and self.completion_rate < self.threshold
        )

    @property
    def behind(self) -> bool:
        return self.late or self.short_of_success

    @property
    def status(self) -> str:
        if not self.readings:
            return "No reading yet"
        return "Behind" if self.behind else "On track"

    @property
    def why_behind(self) -> str:
        reasons = []
        if self.late:
            reasons.append(
                f"customers take {self.actual_days_text} days, expected by day "
                f"{self.milestone.expected_day}"
            )
        if self.short_of_success:
            reasons.append(
                f"{self.completion_text} reach it, below the success threshold of "
                f"{plain_decimal(self.threshold)}%"
            )
        return "; ".join(reasons)

    @property
    def trend(self) -> str:
        """The last readings, oldest first, and which way they go, in words."""
        chronological = list(reversed(self.readings))
        if not chronological:
            return "—"
        use_rate = all(r.completion_rate is not None for r in chronological)
        if use_rate:
            values = [r.completion_rate for r in chronological]
            shown = " → ".join(f"{plain_decimal(v)}%" for v in values)
            better = values[-1] > values[0]
        else:
            values = [r.actual_days for r in chronological if r.actual_days is not None]
            if not values:
                return "—"
            shown = " → ".join(f"{plain_decimal(v)} d" for v in values)
            better = values[-1] < values[0]  # fewer days is better
        if len(values) < 2 or values[-1] == values[0]:
            return f"{shown} (steady)" if len(values) > 1 else shown
        return f"{shown} ({'improving' if better else 'worsening'})"


def _initiative_model():
    # The squads app sits above this one: its model is reached through the relation it
    # declares on milestones ("initiatives").
    return Milestone._meta.get_field("initiatives").related_model


def milestone_rows(segment: Segment, *, cycle, actor) -> list[MilestoneRow]:
    """The segment's milestones in their order, each with its last readings, its moment
    and the initiatives of `cycle` (live, not dropped, readable by `actor`) serving it."""
    initiative = _initiative_model()
    if cycle is None:
        serving = initiative.objects.none()
    else:
        serving = access.readable_initiatives(
            actor,
            initiative.objects.filter(squad__cycle=cycle, squad__removal__isnull=True)
            .exclude(status="dropped")
            .select_related("squad")
            .order_by("squad__name", "title", "id"),
        )
    milestones = list(
        Milestone.objects.filter(segment=segment)
        .select_related("moment__stage__journey")
        .prefetch_related(Prefetch("initiatives", queryset=serving, to_attr="cycle_initiatives"))
        .annotate(reading_count=Count("readings"))
        .order_by("position", "expected_day", "id")
    )
    # The last few readings of each milestone, in one query.
    recent: dict[int, list[MilestoneReading]] = {m.pk: [] for m in milestones}
    if milestones:
        ranked = (
            MilestoneReading.objects.filter(milestone__segment=segment)
            .annotate(
                rank=Window(
                    RowNumber(),
                    partition_by=[F("milestone_id")],
                    order_by=[F("measured_on").desc(), F("id").desc()],
                )
            )
            .filter(rank__lte=TREND_READINGS)
            .order_by("milestone_id", "-measured_on", "-id")
        )
        for reading in ranked:
            recent[reading.milestone_id].append(reading)
    threshold = segment.success_threshold if rate_threshold(segment.success_unit) else None
    rows = []
    for milestone in milestones:
        for each in milestone.cycle_initiatives:
            each.url = reverse("squads:detail", args=[each.squad.key])
        if milestone.moment is not None:
            stage = milestone.moment.stage
            milestone.moment_url = (
                reverse("journeys:detail", args=[stage.journey.key]) + f"#{milestone.moment.anchor}"
            )
        rows.append(
            MilestoneRow(
                milestone=milestone,
                readings=recent[milestone.pk],
                reading_count=milestone.reading_count,
                initiatives=milestone.cycle_initiatives,
                threshold=threshold,
            )
        )
    return rows


# The track: x is days from the customer's start.


@dataclass(frozen=True)
class Tick:
    x: float
    day: int


@dataclass(frozen=True)
class Marker:
    row: MilestoneRow
    x: float
    y: float
    label_y: float
    actual_x: float | None

    @property
    def name(self) -> str:
        return self.row.milestone.name

    @property
    def anchor(self) -> str:
        """Labels run right of a marker in the left half, left of it in the right half."""
        return "start" if self.x < 380 else "end"

    @property
    def label_x(self) -> float:
        return self.x + 8 if self.anchor == "start" else self.x - 8

    @property
    def short_name(self) -> str:
        name = self.name
        return name if len(name) <= 24 else name[:23] + "…"


@dataclass(frozen=True)
class Track:
    width: int
    height: int
    left: float
    right: float
    axis_y: int
    ticks: list[Tick]
    markers: list[Marker]
    last_day: int
    description: str


def _tick_step(last_day: int) -> int:
    for step in (1, 2, 5, 7, 10, 14, 15, 30, 60, 90, 180, 365, 730):
        if last_day / step <= 10:
            return step
    return 1000


def track(rows: list[MilestoneRow], *, within_days: int | None = None) -> Track | None:
    """The SVG's geometry: one marker per milestone at its expected day, a second at the
    latest actual day when there is one; milestones on rows of their own so labels never
    overlap. None when there is nothing to draw."""
    if not rows:
        return None
    days = [r.milestone.expected_day for r in rows]
    days += [float(r.actual_days) for r in rows if r.actual_days is not None]
    if within_days:
        days.append(within_days)
    last_day = max(1, math.ceil(max(days)))
    step = _tick_step(last_day)
    last_day = step * math.ceil(last_day / step)
    width, left, right = 760, 24.0, 736.0
    row_height, top = 34, 20
    by_day = sorted(rows, key=lambda r: (r.milestone.expected_day, r.milestone.position))
    axis_y = top + row_height * len(by_day) + 6  # an int, for the template's add

    def x_of(day: float) -> float:
        return round(left + (right - left) * day / last_day, 1)

    markers = []
    for index, row in enumerate(by_day):
        y = top + row_height * index + 10
        markers.append(
            Marker(
                row=row,
                x=x_of(row.milestone.expected_day),
                y=y,
                label_y=y - 8,
                actual_x=x_of(float(row.actual_days)) if row.actual_days is not None else None,
            )
        )
    ticks = [Tick(x=x_of(day), day=day) for day in range(0, last_day + 1, step)]
    behind = [r.milestone.name for r in rows if r.behind]
    description = (
        f"{len(rows)} milestone{'s' if len(rows) != 1 else ''} from day "
        f"{min(r.milestone.expected_day for r in rows)} to day "
        f"{max(r.milestone.expected_day for r in rows)}. "
        + (f"Behind: {', '.join(behind)}." if behind else "None is behind.")
        + " The table below lists the same milestones with their readings."
    )
    return Track(
        width=width,
        height=int(axis_y + 30),
        left=left,
        right=right,
        axis_y=axis_y,
        ticks=ticks,
        markers=markers,
        last_day=last_day,
        description=description,
    )
