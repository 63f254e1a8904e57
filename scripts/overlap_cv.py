"""Overlap detection measured on labelled planning files; settings chosen leave-one-file-out.

    .venv/bin/python scripts/overlap_cv.py                 # every labelled file we know of
    .venv/bin/python scripts/overlap_cv.py --defaults-only # the shipped settings, per file
    .venv/bin/python scripts/overlap_cv.py FILE.json ...   # these files (EXPECTED beside each)

Each planning file FILE.json has its labels in FILE.expected.json: {"groups": [[ref, ...]]}.
Pairs of initiatives of different squads are compared, as `manage.py overlap_eval` does; the
files are read directly (no database), which is what lets a grid of settings run in seconds.

Cross-validation: for each file in turn, the settings with the best pooled F1 on the *other*
files are chosen from the grid and measured on the held-out one. The report gives each
file's held-out figures and the pooled held-out figures (the sum of the held-out TP/FP/FN),
then the settings chosen on all files together, which are what the code should ship.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import os
import sys
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# shared/ sits beside the repository (or beside the folder of worktrees).
SHARED = next(
    (p / "shared" for p in (ROOT.parent, ROOT.parent.parent) if (p / "shared").exists()),
    ROOT.parent / "shared",
)
DEFAULT_FILES = [
    SHARED / "eval" / "overlap-public.json",
    ROOT / "tests" / "data" / "overlap-harder.json",
    ROOT / "tests" / "data" / "overlap-clinic.json",
    ROOT / "tests" / "data" / "overlap-mealkit.json",
    ROOT / "tests" / "data" / "overlap-freight.json",
]


def setup_django() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "throughline.settings")
    import django

    django.setup()


def load(path: Path):
    from planning.snapshot import InitiativeFacts

    document = json.loads(path.read_text(encoding="utf-8"))
    facts = [
        InitiativeFacts(
            squad=squad["key"],
            key=i["key"],
            title=i["title"],
            description=i.get("description", ""),
            function=i["function"],
            stage=i.get("stage"),
            segment=i.get("segment"),
            starts=dt.date.fromisoformat(i["starts"]),
            ends=dt.date.fromisoformat(i["ends"]),
            headcount=Decimal(str(i["headcount"])),
            status=i["status"],
        )
        for squad in document["squads"]
        for i in squad["initiatives"]
    ]
    expected_path = path.with_name(path.name.removesuffix(".json") + ".expected.json")
    groups = json.loads(expected_path.read_text(encoding="utf-8"))["groups"]
    squad_of = {f.ref: f.squad for f in facts}
    return facts, _pairs(groups, squad_of), squad_of


def _pairs(groups, squad_of) -> set[tuple[str, str]]:
    out = set()
    for group in groups:
        for a, b in itertools.combinations(sorted(set(group)), 2):
            if squad_of[a] != squad_of[b]:
                out.add((a, b))
    return out


def counts(facts, expected, squad_of, settings) -> tuple[int, int, int]:
    from planning.overlap import find_overlaps

    found = _pairs([g.refs for g in find_overlaps(facts, settings=settings)], squad_of)
    return len(found & expected), len(found - expected), len(expected - found)


def prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f


def grid(base):
    """Every combination of the settings cross-validation chooses from."""
    from planning.overlap import GRID

    names = list(GRID)
    for values in itertools.product(*(GRID[n] for n in names)):
        yield replace(base, **dict(zip(names, values, strict=True)))


def row(name: str, c: tuple[int, int, int]) -> str:
    p, r, f = prf(*c)
    return f"{name:<28} P {p:.3f}  R {r:.3f}  F1 {f:.3f}   (TP {c[0]}, FP {c[1]}, FN {c[2]})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="*", type=Path)
    parser.add_argument("--defaults-only", action="store_true")
    args = parser.parse_args()
    setup_django()
    from planning.overlap import DEFAULTS

    files = [f for f in (args.files or DEFAULT_FILES) if f.exists()]
    data = {f.stem: load(f) for f in files}

    def total(results):
        results = list(results)
        return tuple(sum(c[k] for c in results) for k in range(3))

    print("shipped settings:", DEFAULTS)
    shipped = {name: counts(*d, DEFAULTS) for name, d in data.items()}
    for name, c in shipped.items():
        print(row(name, c))
    print(row("pooled", total(shipped.values())))
    if args.defaults_only:
        return

    settings = list(grid(DEFAULTS))
    table = {name: [counts(*d, s) for s in settings] for name, d in data.items()}
    print(f"\nleave-one-file-out over {len(settings)} settings (held-out figures):")
    held = []
    for name in data:
        others = [n for n in data if n != name]
        best = max(
            range(len(settings)),
            key=lambda k: (prf(*total(table[n][k] for n in others))[2], -k),
        )
        held.append(table[name][best])
        print(row(name, table[name][best]), " chosen:", _diff(settings[best], DEFAULTS))
    print(row("pooled held-out", total(held)))
    best = max(range(len(settings)), key=lambda k: (prf(*total(table[n][k] for n in data))[2], -k))
    print("\nchosen on all files:", _diff(settings[best], DEFAULTS))
    for name in data:
        print(row(name, table[name][best]))
    print(row("pooled (not held out)", total(table[n][best] for n in data)))


def _diff(settings, base) -> str:
    from dataclasses import fields

    changed = [
        f"{f.name}={getattr(settings, f.name)}"
        for f in fields(settings)
        if getattr(settings, f.name) != getattr(base, f.name)
    ]
    return ", ".join(changed) or "the shipped settings"


if __name__ == "__main__":
    main()
