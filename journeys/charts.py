"""The emotion curve: how the customer feels at each stage today and how they should feel;
and the value band beneath it: what value they have realised there today and tomorrow.

Pure geometry for a server-rendered SVG. The template draws what this computes, so the chart
needs no script and reads the same in every browser, in print and to a screen reader.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from journeys.models import (
    EMOTION_CHOICES,
    EMOTION_MAX,
    EMOTION_MIN,
    VALUE_CHOICES,
    VALUE_MAX,
    VALUE_MIN,
)

EMOTION_LABELS = dict(EMOTION_CHOICES)


def emotion_label(value: int) -> str:
    return EMOTION_LABELS.get(value, str(value))


# The curve is drawn a stage at a time, in a strip above each stage's card, so each point sits
# over its card's centre whatever the cards' widths. Heights are percentages of the strip:
# the SVG takes them as they are (no viewBox), so nothing is stretched and words keep their
# size in CSS pixels on every screen.
TOP, BOTTOM = 12.0, 88.0
CENTRE = 50.0  # a stage's point, across its own strip


def level_y(value: int) -> float:
    """Where a feeling sits, as a percentage of the strip's height from the top."""
    clamped = min(max(value, EMOTION_MIN), EMOTION_MAX)
    return round(BOTTOM - (clamped - EMOTION_MIN) * (BOTTOM - TOP) / (EMOTION_MAX - EMOTION_MIN), 1)


@dataclass(frozen=True)
class Level:
    value: int
    label: str
    y: float

    @property
    def is_neutral(self) -> bool:
        return self.value == 0


@dataclass(frozen=True)
class Segment:
    """A piece of a curve inside one stage's strip, in percentages of its width and height."""

    x1: float
    y1: float
    x2: float
    y2: float


def _half_way(here: float, there: float | None) -> float | None:
    return None if there is None else round((here + there) / 2, 1)


@dataclass(frozen=True)
class Column:
    """One stage's share of the curves: from half-way to the previous stage's point, through
    its own at the centre, to half-way to the next one's. Neighbouring strips meet at the
    same height, so the curves run on unbroken from one card to the next."""

    name: str
    today: int
    target: int
    today_y: float
    target_y: float
    first: bool
    today_in: float | None = None  # the curve's height at the left edge; None for the first
    today_out: float | None = None  # at the right edge; None for the last
    target_in: float | None = None
    target_out: float | None = None

    @property
    def today_label(self) -> str:
        return emotion_label(self.today)

    @property
    def target_label(self) -> str:
        return emotion_label(self.target)

    @staticmethod
    def _segments(start: float | None, middle: float, end: float | None) -> list[Segment]:
        parts = []
        if start is not None:
            parts.append(Segment(0.0, start, CENTRE, middle))
        if end is not None:
            parts.append(Segment(CENTRE, middle, 100.0, end))
        return parts

    @property
    def today_segments(self) -> list[Segment]:
        return self._segments(self.today_in, self.today_y, self.today_out)

    @property
    def target_segments(self) -> list[Segment]:
        return self._segments(self.target_in, self.target_y, self.target_out)

    @property
    def gap_points(self) -> str:
        """The area between the two curves in this strip: the distance the squads have to
        close. In a 100 × 100 box stretched over the strip (an area has no stroke to distort)."""

        def line(start: float | None, middle: float, end: float | None) -> list[tuple]:
            points = [(0.0, start)] if start is not None else []
            points.append((CENTRE, middle))
            if end is not None:
                points.append((100.0, end))
            return points

        there = line(self.target_in, self.target_y, self.target_out)
        back = list(reversed(line(self.today_in, self.today_y, self.today_out)))
        return " ".join(f"{x:g},{y:g}" for x, y in there + back)


@dataclass(frozen=True)
class EmotionChart:
    levels: list[Level]
    columns: list[Column]

    @property
    def description(self) -> str:
        parts = [
            f"{c.name}: today {c.today_label} ({c.today:+d}), target {c.target_label} "
            f"({c.target:+d})"
            for c in self.columns
        ]
        scale = f"Scale from {emotion_label(EMOTION_MIN)} to {emotion_label(EMOTION_MAX)}."
        return f"{scale} " + "; ".join(parts) + "."


def emotion_chart(stages: Sequence) -> EmotionChart:
    """Lay out today's and the target emotion of each stage on a Very unhappy..Delighted scale.

    `stages` are anything with `name`, `emotion_today` and `emotion_target`, in journey order.
    """
    levels = [Level(value=value, label=label, y=level_y(value)) for value, label in EMOTION_CHOICES]
    today = [level_y(stage.emotion_today) for stage in stages]
    target = [level_y(stage.emotion_target) for stage in stages]
    last = len(stages) - 1
    columns = [
        Column(
            name=stage.name,
            today=stage.emotion_today,
            target=stage.emotion_target,
            today_y=today[index],
            target_y=target[index],
            first=index == 0,
            today_in=_half_way(today[index], today[index - 1] if index else None),
            today_out=_half_way(today[index], today[index + 1] if index < last else None),
            target_in=_half_way(target[index], target[index - 1] if index else None),
            target_out=_half_way(target[index], target[index + 1] if index < last else None),
        )
        for index, stage in enumerate(stages)
    ]
    return EmotionChart(levels=levels, columns=columns)


# The value band: what value customers have realised at each stage, today and tomorrow, in
# words, in each stage's strip under the emotion curve.

VALUE_LABELS = dict(VALUE_CHOICES)
NOT_RECORDED = "not recorded"


def value_label(value: int | None) -> str:
    return NOT_RECORDED if value is None else VALUE_LABELS.get(value, str(value))


@dataclass(frozen=True)
class ValueCell:
    value: int | None
    label: str
    # How much of the cell the bar fills, in percent: a sliver for None (so "None" is
    # visible), never drawn when not recorded.
    share: float

    @property
    def recorded(self) -> bool:
        return self.value is not None


@dataclass(frozen=True)
class ValueColumn:
    name: str
    today: ValueCell
    tomorrow: ValueCell


@dataclass(frozen=True)
class ValueChart:
    columns: list[ValueColumn]

    @property
    def description(self) -> str:
        parts = [
            f"{c.name}: today {c.today.label}, tomorrow {c.tomorrow.label}" for c in self.columns
        ]
        scale = ", ".join(label for _, label in VALUE_CHOICES)
        return f"Value states, in order: {scale}. " + "; ".join(parts) + "."


def _value_cell(value: int | None) -> ValueCell:
    share = 0.0 if value is None else (value - VALUE_MIN + 0.25) / (VALUE_MAX - VALUE_MIN + 0.25)
    return ValueCell(value=value, label=value_label(value), share=round(100 * share, 1))


def value_chart(stages: Sequence) -> ValueChart:
    """Each stage's value today and tomorrow as two labelled bars, in the emotion curve's
    strips. `stages` are anything with `name`, `value_today` and `value_target` (None: not
    recorded)."""
    return ValueChart(
        columns=[
            ValueColumn(
                name=stage.name,
                today=_value_cell(stage.value_today),
                tomorrow=_value_cell(stage.value_target),
            )
            for stage in stages
        ]
    )
