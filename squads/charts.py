"""Small pictures for inline SVG: the balance of a plan's impact on team, business and customer."""

from __future__ import annotations

from dataclasses import dataclass

from squads import services

SIDE_LABELS = {"team": "Team", "business": "Business", "customer": "Customer"}


@dataclass
class Bar:
    label: str
    value: int
    x: float
    width: float
    y: int
    text_y: int
    tone: str

    @property
    def signed(self) -> str:
        return f"{self.value:+d}" if self.value else "0"


@dataclass
class BalancePicture:
    """Three bars from -scale to +scale around a centre line, for an inline SVG."""

    bars: list[Bar]
    scale: int
    label: str

    LEFT, WIDTH = 64, 76  # where the bar area starts and how wide it is
    ROW = 16

    @property
    def centre(self) -> float:
        return self.LEFT + self.WIDTH / 2

    @property
    def track_x(self) -> int:
        return self.LEFT

    @property
    def track_width(self) -> int:
        return self.WIDTH

    @property
    def tick_x(self) -> float:
        return self.centre - 1

    @property
    def height(self) -> int:
        return self.ROW * len(self.bars)


def balance_picture(values: dict[str, int], scale: int = 2) -> BalancePicture:
    half = BalancePicture.WIDTH / 2
    centre = BalancePicture.LEFT + half
    bars = []
    for row, side in enumerate(services.SIDES):
        value = values[side]
        width = half * min(abs(value), scale) / scale
        bars.append(
            Bar(
                label=SIDE_LABELS[side],
                value=value,
                x=round(centre - width if value < 0 else centre, 2),
                width=round(width, 2),
                y=row * BalancePicture.ROW + 3,
                text_y=row * BalancePicture.ROW + 12,
                tone="up" if value > 0 else "down" if value < 0 else "even",
            )
        )
    label = ", ".join(f"{b.label.lower()} {b.signed}" for b in bars)
    return BalancePicture(bars=bars, scale=scale, label=f"Impact: {label}")
