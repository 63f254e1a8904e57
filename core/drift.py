"""Drift since commit: how a cycle's plan moved away from the baseline kept when leadership
committed to it (docs/season.md).

Pure: the callers read the baseline and today's rows (planning/season/selectors.py for
initiatives, dependencies/selectors.py for dependencies) and this compares them, so the
season page, a squad's plan and the board all count drift the same way.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

ADDED, DROPPED, MOVED = "added", "dropped", "moved"


@dataclass(frozen=True)
class Item:
    """One initiative or dependency as compared: its reference, what people call it, its
    dates ((starts, ends) or (due,)) and whether it is out of the plan (an initiative
    dropped, a dependency declined)."""

    ref: str
    name: str
    dates: tuple[dt.date, ...]
    out: bool = False
    group: str = ""  # the squad it belongs to, for the season page's grouping


@dataclass(frozen=True)
class Change:
    kind: str  # ADDED, DROPPED or MOVED
    ref: str
    name: str
    was: tuple[dt.date, ...] = ()
    now: tuple[dt.date, ...] = ()
    group: str = ""


@dataclass
class Drift:
    added: list[Change] = field(default_factory=list)
    dropped: list[Change] = field(default_factory=list)
    moved: list[Change] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.added) + len(self.dropped) + len(self.moved)

    def __bool__(self) -> bool:
        return len(self) > 0

    def changes(self) -> list[Change]:
        return [*self.added, *self.dropped, *self.moved]


def compare(before: Iterable[Item], now: Iterable[Item]) -> Drift:
    """What changed from `before` (the baseline) to `now`.

    Added: in the plan now but not at commit (new, or brought back after being dropped).
    Dropped: in the plan at commit, and now out of it or gone altogether. Moved: in the plan
    both times, with other dates. Something added and dropped again since is no drift.
    """
    was = {item.ref: item for item in before}
    is_ = {item.ref: item for item in now}
    drift = Drift()
    for ref, item in is_.items():
        old = was.get(ref)
        in_before = old is not None and not old.out
        if item.out:
            continue
        if not in_before:
            drift.added.append(Change(ADDED, ref, item.name, now=item.dates, group=item.group))
        elif old.dates != item.dates:
            drift.moved.append(
                Change(MOVED, ref, item.name, was=old.dates, now=item.dates, group=item.group)
            )
    for ref, old in was.items():
        if old.out:
            continue
        item = is_.get(ref)
        if item is None or item.out:
            drift.dropped.append(
                Change(
                    DROPPED,
                    ref,
                    item.name if item else old.name,
                    was=old.dates,
                    group=item.group if item else old.group,
                )
            )
    for changes in (drift.added, drift.dropped, drift.moved):
        changes.sort(key=lambda c: (c.group.casefold(), c.name.casefold(), c.ref))
    return drift
