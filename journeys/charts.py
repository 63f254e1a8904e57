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


@dataclass(frozen=True)
class Level:
    value: int
    label: str
    y: float
    face_x: float
    mouth: str  # the face's mouth as an SVG path, smiling or frowning with the level

    @property
    def is_neutral(self) -> bool:
        return self.value == 0

    @property
    def eye_left(self) -> float:
        return self.face_x - 3.2

    @property
    def eye_right(self) -> float:
        return self.face_x + 3.2

    @property
    def eye_y(self) -> float:
        return round(self.y - 2.6, 1)


@dataclass(frozen=True)
class Column:
    x: float
    name: str
    short_name: str
    today: int
    target: int
    today_y: float
    target_y: float

    @property
    def today_label(self) -> str:
        return emotion_label(self.today)

    @property
    def target_label(self) -> str:
        return emotion_label(self.target)


@dataclass(frozen=True)
class EmotionChart:
    width: int
    height: int
    left: float
    right: float
    top: float
    bottom: float
    label_y: float
    levels: list[Level]
    columns: list[Column]

    @property
    def today_points(self) -> str:
        return " ".join(f"{c.x:.1f},{c.today_y:.1f}" for c in self.columns)

    @property
    def target_points(self) -> str:
        return " ".join(f"{c.x:.1f},{c.target_y:.1f}" for c in self.columns)

    @property
    def gap_points(self) -> str:
        """The area between the two curves: the distance the squads have to close."""
        there = [f"{c.x:.1f},{c.target_y:.1f}" for c in self.columns]
        back = [f"{c.x:.1f},{c.today_y:.1f}" for c in reversed(self.columns)]
        return " ".join(there + back)

    @property
    def description(self) -> str:
        parts = [
            f"{c.name}: today {c.today_label} ({c.today:+d}), target {c.target_label} "
            f"({c.target:+d})"
            for c in self.columns
        ]
        scale = f"Scale from {emotion_label(EMOTION_MIN)} to {emotion_label(EMOTION_MAX)}."
        return f"{scale} " + "; ".join(parts) + "."


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: max(limit - 1, 1)].rstrip() + "…"


def emotion_chart(stages: Sequence, *, width: int = 1000, height: int = 300) -> EmotionChart:
    """Lay out today's and the target emotion of each stage on a Very unhappy..Delighted scale.

    `stages` are anything with `name`, `emotion_today` and `emotion_target`, in journey order.
    """
    left, right, top = 150.0, width - 30.0, 24.0
    bottom = height - 48.0
    span = EMOTION_MAX - EMOTION_MIN

    def y_for(value: int) -> float:
        clamped = min(max(value, EMOTION_MIN), EMOTION_MAX)
        return round(bottom - (clamped - EMOTION_MIN) * (bottom - top) / span, 1)

    levels = []
    for value, label in EMOTION_CHOICES:
        y = y_for(value)
        face_x = 18.0
        # A mouth that bends with the level: a frown below neutral, a smile above.
        bend = value * 2.6
        mouth_y = y + 4.0 - (value * 0.6 if value < 0 else 0)
        mouth = (
            f"M{face_x - 4.5:.1f},{mouth_y:.1f} "
            f"Q{face_x:.1f},{mouth_y + bend:.1f} {face_x + 4.5:.1f},{mouth_y:.1f}"
        )
        levels.append(Level(value=value, label=label, y=y, face_x=face_x, mouth=mouth))

    count = len(stages)
    step = (right - left) / count if count else 0
    limit = max(int(step / 8), 6) if count else 0
    columns = [
        Column(
            x=round(left + step * (index + 0.5), 1),
            name=stage.name,
            short_name=_shorten(stage.name, limit),
            today=stage.emotion_today,
            target=stage.emotion_target,
            today_y=y_for(stage.emotion_today),
            target_y=y_for(stage.emotion_target),
        )
        for index, stage in enumerate(stages)
    ]
    return EmotionChart(
        width=width,
        height=height,
        left=left,
        right=right,
        top=top,
        bottom=bottom,
        label_y=bottom + 28.0,
        levels=levels,
        columns=columns,
    )


# The value band: what value customers have realised at each stage, today and tomorrow, in
# words, in the same columns as the emotion curve above it.

VALUE_LABELS = dict(VALUE_CHOICES)
NOT_RECORDED = "not recorded"


def value_label(value: int | None) -> str:
    return NOT_RECORDED if value is None else VALUE_LABELS.get(value, str(value))


@dataclass(frozen=True)
class ValueCell:
    x: float
    y: float
    width: float
    height: float
    value: int | None
    label: str
    # How much of the cell the bar fills: 0 for None (a thin sliver, so "None" is visible),
    # never drawn when not recorded.
    bar_width: float

    @property
    def recorded(self) -> bool:
        return self.value is not None

    @property
    def text_x(self) -> float:
        return round(self.x + self.width / 2, 1)

    @property
    def text_y(self) -> float:
        return round(self.y + self.height / 2, 1)


@dataclass(frozen=True)
class ValueColumn:
    x: float
    name: str
    short_name: str
    today: ValueCell
    tomorrow: ValueCell


@dataclass(frozen=True)
class ValueChart:
    width: int
    height: int
    left: float
    right: float
    today_y: float
    tomorrow_y: float
    label_y: float
    columns: list[ValueColumn]
    row_height: float = 34.0
    # The cells' words: as large as the narrowest column lets "Repeat value" fit.
    font_size: float = 16.0

    @property
    def row_label_x(self) -> float:
        return self.left - 12

    @property
    def today_text_y(self) -> float:
        return round(self.today_y + self.row_height / 2, 1)

    @property
    def tomorrow_text_y(self) -> float:
        return round(self.tomorrow_y + self.row_height / 2, 1)

    @property
    def description(self) -> str:
        parts = [
            f"{c.name}: today {c.today.label}, tomorrow {c.tomorrow.label}" for c in self.columns
        ]
        scale = ", ".join(label for _, label in VALUE_CHOICES)
        return f"Value states, in order: {scale}. " + "; ".join(parts) + "."


def value_chart(stages: Sequence, *, width: int = 1000) -> ValueChart:
    """Lay out each stage's value today and tomorrow as two rows of labelled cells, in the
    emotion curve's columns (same `width`, margins and steps as emotion_chart).

    `stages` are anything with `name`, `value_today` and `value_target` (None: not recorded).
    """
    left, right = 150.0, width - 30.0
    row, gap, top = 34.0, 10.0, 8.0
    today_y, tomorrow_y = top, top + row + gap
    count = len(stages)
    step = (right - left) / count if count else 0
    limit = max(int(step / 8), 6) if count else 0
    pad = min(6.0, step / 10) if count else 0

    def cell(index: int, y: float, value: int | None) -> ValueCell:
        x = round(left + step * index + pad, 1)
        inner = round(step - 2 * pad, 1)
        share = (
            0.0 if value is None else (value - VALUE_MIN + 0.25) / (VALUE_MAX - VALUE_MIN + 0.25)
        )
        return ValueCell(
            x=x,
            y=y,
            width=inner,
            height=row,
            value=value,
            label=value_label(value),
            bar_width=round(inner * share, 1),
        )

    columns = [
        ValueColumn(
            x=round(left + step * (index + 0.5), 1),
            name=stage.name,
            short_name=_shorten(stage.name, limit),
            today=cell(index, today_y, stage.value_today),
            tomorrow=cell(index, tomorrow_y, stage.value_target),
        )
        for index, stage in enumerate(stages)
    ]
    height = tomorrow_y + row + 34.0
    return ValueChart(
        width=width,
        height=int(height),
        left=left,
        right=right,
        today_y=today_y,
        tomorrow_y=tomorrow_y,
        label_y=tomorrow_y + row + 22.0,
        columns=columns,
        row_height=row,
        font_size=round(min(16.0, max(11.0, (step - 2 * pad) / 7.8)), 1) if count else 16.0,
    )
