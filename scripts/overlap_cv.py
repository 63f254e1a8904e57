"""Overlap detection measured on labelled planning files; the Judge chosen leave-one-file-out.

    .venv/bin/python scripts/overlap_cv.py                 # every labelled file we know of
    .venv/bin/python scripts/overlap_cv.py --shipped       # the shipped Judge, per file
    .venv/bin/python scripts/overlap_cv.py FILE.json ...   # these files (EXPECTED beside each)
    .venv/bin/python scripts/overlap_cv.py --texts T.json  # the texts the model reads, to embed
    .venv/bin/python scripts/overlap_cv.py --vectors V.npz # another model's vectors of them

`--texts` and `--vectors` measure another sentence model under the same protocol: embed the
texts elsewhere (scripts/overlap_vectors.py, in an environment that has that model), then
run the cross-validation with those vectors in place of the shipped model. Signals, fit,
thresholds and grouping are unchanged; only the vectors differ (docs/overlap.md, "Other
sentence models").

Each planning file FILE.json has its labels in FILE.expected.json: {"groups": [[ref, ...]]}.
A file of triage's answers (`manage.py export_overlap_labels`, marked "partial") counts only
the pairs people judged: its groups are the same work, its "not_same" pairs are not, and no
other pair teaches or counts, so a team can add what it decided to the files below.
Pairs of initiatives of different squads are compared, as `manage.py overlap_eval` does; the
files are read directly (no database), which keeps a whole cross-validation to a minute.

The Judge (planning/overlap.py) is a logistic model over four signals of each candidate pair.
Cross-validation: for each file in turn, a Judge is fitted on the candidate pairs of the
*other* files, its threshold is the one with the best pooled F1 on those other files (whole
detection, grouping included), and it is measured on the held-out file. The report gives
each file's held-out figures and the pooled held-out figures (the sum of the held-out
TP/FP/FN); then the Judge fitted on all files, which is what the code ships (printed as the
JUDGE literal to paste into planning/overlap.py), and its figures on each file (not held out).
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import os
import sys
from decimal import Decimal
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
# shared/ sits beside the repository.
SHARED = ROOT.parent / "shared"
DEFAULT_FILES = [
    SHARED / "eval" / "overlap-public.json",
    ROOT / "tests" / "data" / "overlap-harder.json",
    ROOT / "tests" / "data" / "overlap-clinic.json",
    ROOT / "tests" / "data" / "overlap-mealkit.json",
    ROOT / "tests" / "data" / "overlap-freight.json",
]
THRESHOLDS = [round(float(t), 3) for t in np.arange(0.2, 0.91, 0.025)]
L2 = 1.0  # ridge penalty of the logistic fit, on standardised signals


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
    labels = json.loads(expected_path.read_text(encoding="utf-8"))
    squad_of = {f.ref: f.squad for f in facts}
    expected = _pairs(labels["groups"], squad_of)
    # None: every pair is labelled (a hand-made file); else the pairs judged not the same.
    negatives = _pairs(labels.get("not_same", []), squad_of) if labels.get("partial") else None
    return facts, expected, squad_of, negatives


def _pairs(groups, squad_of) -> set[tuple[str, str]]:
    out = set()
    for group in groups:
        for a, b in itertools.combinations(sorted(set(group)), 2):
            if squad_of[a] != squad_of[b]:
                out.add((a, b))
    return out


def prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f


def total(results) -> tuple[int, int, int]:
    results = list(results)
    return tuple(sum(c[k] for c in results) for k in range(3))


def row(name: str, c: tuple[int, int, int]) -> str:
    p, r, f = prf(*c)
    return f"{name:<24} P {p:.3f}  R {r:.3f}  F1 {f:.3f}   (TP {c[0]}, FP {c[1]}, FN {c[2]})"


def fit(signals: np.ndarray, labels: np.ndarray, threshold: float = 0.5):
    """A Judge fitted by gradient descent on standardised signals (ridge penalty L2)."""
    from planning.overlap import Judge

    mean = signals.mean(axis=0)
    scale = signals.std(axis=0)
    scale[scale < 1e-9] = 1.0
    z = (signals - mean) / scale
    w = np.zeros(z.shape[1])
    b = 0.0
    for _ in range(4000):
        p = 1.0 / (1.0 + np.exp(-(z @ w + b)))
        g = p - labels
        w -= 0.1 * (z.T @ g / len(labels) + L2 * w / len(labels))
        b -= 0.1 * g.mean()
    return Judge(
        mean=tuple(round(float(x), 4) for x in mean),
        scale=tuple(round(float(x), 4) for x in scale),
        weights=tuple(round(float(x), 4) for x in w),
        bias=round(float(b), 4),
        threshold=threshold,
    )


def counts(data, judge) -> tuple[int, int, int]:
    from planning.overlap import find_overlaps

    facts, expected, squad_of, negatives = data
    found = _pairs([g.refs for g in find_overlaps(facts, judge=judge)], squad_of)
    wrong = found - expected if negatives is None else found & negatives
    return len(found & expected), len(wrong), len(expected - found)


def chosen(names, data, pairs) -> object:
    """The Judge fitted on `names` with the threshold best for them (pooled F1)."""
    from dataclasses import replace

    signals = np.vstack([pairs[n][1] for n in names])
    labels = np.concatenate([pairs[n][2] for n in names])
    judge = fit(signals, labels)
    best = max(
        THRESHOLDS,
        key=lambda t: (
            prf(*total(counts(data[n], replace(judge, threshold=t)) for n in names))[2],
            -t,
        ),
    )
    return replace(judge, threshold=best)


def labelled_pairs(data) -> tuple[list, np.ndarray, np.ndarray]:
    """The candidate pairs of a file that carry a label, their signals and labels (1 same)."""
    from planning.overlap import judged_pairs

    facts, expected, _, negatives = data
    refs, signals = judged_pairs(facts)
    keys = [tuple(sorted(p)) for p in refs]
    keep = [negatives is None or k in expected or k in negatives for k in keys]
    labels = np.array([k in expected for k in keys], dtype=float)[keep]
    return [r for r, k in zip(refs, keep, strict=True) if k], signals[keep], labels


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="*", type=Path)
    parser.add_argument("--shipped", action="store_true")
    parser.add_argument("--texts", type=Path, help="write the texts the model reads, and stop")
    parser.add_argument("--vectors", type=Path, help="judge with these vectors (.npz)")
    args = parser.parse_args()
    setup_django()
    from planning import overlap

    files = [f for f in (args.files or DEFAULT_FILES) if f.exists()]
    data = {f.stem: load(f) for f in files}
    if args.texts:
        texts = overlap.texts_read(f for d in data.values() for f in d[0])
        args.texts.write_text(json.dumps(texts, ensure_ascii=False, indent=0), encoding="utf-8")
        print(f"{len(texts)} texts written to {args.texts}")
        return
    if args.vectors:
        with overlap.reading_with(read_vectors(args.vectors)):
            report(data, shipped_only=args.shipped)
    else:
        report(data, shipped_only=args.shipped)


def read_vectors(path: Path):
    """An .npz of `texts` (strings) and `vectors` (one row per text)."""
    from planning.overlap import Vectors

    with np.load(path, allow_pickle=False) as stored:
        return Vectors([str(t) for t in stored["texts"]], stored["vectors"])


def report(data, *, shipped_only: bool) -> None:
    from planning.overlap import JUDGE

    print("shipped Judge:", JUDGE)
    shipped = {name: counts(d, JUDGE) for name, d in data.items()}
    for name, c in shipped.items():
        print(row(name, c))
    print(row("pooled", total(shipped.values())))
    if shipped_only:
        return

    pairs = {}
    for name, d in data.items():
        pairs[name] = labelled_pairs(d)

    print("\nleave-one-file-out (held-out figures):")
    held = []
    for name in data:
        judge = chosen([n for n in data if n != name], data, pairs)
        held.append(counts(data[name], judge))
        print(row(name, held[-1]), f" threshold {judge.threshold}")
    print(row("pooled held-out", total(held)))

    judge = chosen(list(data), data, pairs)
    print("\nfitted on all files (what the code should ship):")
    print(f"JUDGE = {judge!r}")
    for name in data:
        print(row(name, counts(data[name], judge)))
    print(row("pooled (not held out)", total(counts(data[n], judge) for n in data)))


if __name__ == "__main__":
    main()
