"""Measure overlap detection on a labelled planning file: pairwise precision and recall.

    manage.py overlap_eval PLANNING_FILE EXPECTED_FILE [--threshold X] [--verbose]

EXPECTED_FILE is `{"groups": [["squad/initiative", ...], ...]}`: the groups of initiatives
that describe the same work. Both the expected and the found groups are turned into pairs
of initiatives of different squads, and those pairs are compared. The planning file is
imported inside a transaction that is rolled back, so the database is left as it was.

Optional keys, as `export_overlap_labels` writes them from people's answers to overlap
findings:
- `"not_same": [[a, b], ...]`: pairs that are not the same work; found together, each is a
  false positive (in a complete file it was one already, and is counted apart too);
- `"related": [[a, b], ...]`: related work both squads keep; neither hit nor miss, the
  output says how many of them are grouped;
- `"partial": true`: only the listed pairs are labelled, so a found pair that is in neither
  `groups` nor `not_same` is counted apart (unlabelled), not as a false positive.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from core.models import Cycle
from planning.overlap import OverlapGroup, find_overlaps, semantic_available
from planning.planning_file import PlanningFileInvalid, import_document
from planning.planning_file.reader import NotJSON, parse_json
from planning.snapshot import InitiativeFacts, snapshot_for_cycle

Pair = tuple[str, str]


class Command(BaseCommand):
    help = (
        "Print the pairwise precision and recall of overlap detection on a labelled planning "
        "file (pairs of initiatives of different squads). Leaves the database untouched."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("planning_file", help="The planning file (JSON).")
        parser.add_argument(
            "expected_file",
            help='{"groups": [["squad/initiative", ...]]}, optionally "not_same", "related" '
            'and "partial" (see above)',
        )
        parser.add_argument(
            "--threshold",
            type=float,
            help="The probability at which a pair links (default: the shipped Judge's).",
        )
        parser.add_argument(
            "--verbose", action="store_true", help="Also list the wrong and the missed pairs."
        )

    def handle(self, *args, planning_file, expected_file, threshold, verbose, **options):
        document = self._read_planning_file(planning_file)
        labels = self._read_expected(expected_file)
        expected_groups = labels.groups
        started = time.perf_counter()
        facts, groups = self._found(document, threshold)
        elapsed = time.perf_counter() - started

        squad_of = {ref: i.squad for ref, i in facts.items()}
        named = {r for g in expected_groups for r in g}
        named |= {r for p in labels.not_same + labels.related for r in p}
        unknown = sorted(named - set(squad_of))
        if unknown:
            raise CommandError(
                f"{expected_file} names initiatives that are not in {planning_file}: "
                + ", ".join(unknown)
            )
        expected = _pairs(expected_groups, squad_of)
        not_same = {_pair(*p) for p in labels.not_same}
        related = {_pair(*p) for p in labels.related}
        both = sorted(expected & not_same)
        if both:
            raise CommandError(
                f"{expected_file} lists these pairs both in a group and as not the same work: "
                + ", ".join(f"{a} ~ {b}" for a, b in both)
            )
        found = _pairs([g.refs for g in groups], squad_of)
        tp, fn = found & expected, expected - found
        if labels.partial:
            fp, unlabelled = found & not_same, found - expected - not_same - related
            judged = len(tp) + len(fp)
        else:
            fp, unlabelled = found - expected, set()
            judged = len(found)
        precision = len(tp) / judged if judged else 1.0
        recall = len(tp) / len(expected) if expected else 1.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0

        method = "sentence model (all-MiniLM-L6-v2)" if semantic_available() else "shared words"
        self.stdout.write(
            f"{len(facts)} initiatives, {len(groups)} overlap groups found by {method} in "
            f"{elapsed:.2f} s"
            + (f", threshold {threshold}" if threshold is not None else ", default threshold")
        )
        self.stdout.write(
            f"pairs across squads: expected {len(expected)}, found {len(found)}; "
            f"TP {len(tp)}, FP {len(fp)}, FN {len(fn)}"
        )
        self.stdout.write(f"precision {precision:.3f}  recall {recall:.3f}  F1 {f1:.3f}")
        if labels.not_same:
            self.stdout.write(
                f"pairs judged not the same work: {len(not_same)}, found together "
                f"{len(found & not_same)}"
            )
        if labels.related:
            self.stdout.write(
                f"related pairs both squads keep: {len(related)}, found together "
                f"{len(found & related)}"
            )
        if labels.partial:
            self.stdout.write(f"found pairs nobody labelled (not counted): {len(unlabelled)}")
        if verbose:
            score = {p: g.score for g in groups for p in _pairs([g.refs], squad_of)}
            for label, pairs in (("FP", fp), ("FN", fn)):
                for a, b in sorted(pairs):
                    extra = f"  (group score {score[(a, b)]:.2f})" if (a, b) in score else ""
                    self.stdout.write(
                        f"{label} {a} {facts[a].title!r} ~ {b} {facts[b].title!r}{extra}"
                    )
            for group in groups:
                self.stdout.write(f"group {group.score:.2f}: {group.message}")

    def _found(
        self, document: dict, threshold: float | None
    ) -> tuple[dict[str, InitiativeFacts], list[OverlapGroup]]:
        in_file = {
            f"{squad['key']}/{initiative['key']}"
            for squad in document.get("squads", [])
            for initiative in squad.get("initiatives", [])
        }
        cycle_keys = [c["key"] for c in document.get("cycles", [])]
        facts: dict[str, InitiativeFacts] = {}
        groups: list[OverlapGroup] = []
        with transaction.atomic():
            try:
                import_document(document, tell=False)
            except PlanningFileInvalid as exc:
                raise CommandError(
                    "The planning file is not valid:\n" + "\n".join(f"  {p}" for p in exc.problems)
                ) from exc
            for cycle in Cycle.objects.filter(key__in=cycle_keys).order_by("starts", "key"):
                snapshot = snapshot_for_cycle(cycle)
                # Only the file's own initiatives: the database may hold others in that cycle.
                mine = [i for i in snapshot.initiatives if i.ref in in_file]
                facts.update((i.ref, i) for i in mine)
                groups += find_overlaps(mine, squad_names=snapshot.squad_names, threshold=threshold)
            transaction.set_rollback(True)
        return facts, groups

    def _read_planning_file(self, path: str) -> dict:
        try:
            document = parse_json(Path(path).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, NotJSON) as exc:
            raise CommandError(f"{path}: {exc}") from exc
        if not isinstance(document, dict):
            raise CommandError(f"{path}: not a planning file (a JSON object)")
        return document

    def _read_expected(self, path: str) -> Expected:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise CommandError(f"{path}: {exc}") from exc
        groups = data.get("groups") if isinstance(data, dict) else None
        if not isinstance(groups, list) or not all(
            isinstance(g, list) and all(isinstance(r, str) for r in g) for g in groups
        ):
            raise CommandError(f'{path}: expected {{"groups": [["squad/initiative", ...]]}}')
        pairs = {}
        for key in ("not_same", "related"):
            value = data.get(key, [])
            if not isinstance(value, list) or not all(
                isinstance(p, list) and len(p) == 2 and all(isinstance(r, str) for r in p)
                for p in value
            ):
                raise CommandError(f'{path}: "{key}" is a list of pairs, [["a/x", "b/y"], ...]')
            pairs[key] = [tuple(p) for p in value]
        partial = data.get("partial", False)
        if not isinstance(partial, bool):
            raise CommandError(f'{path}: "partial" is true or false')
        return Expected(groups=groups, partial=partial, **pairs)


@dataclass
class Expected:
    groups: list[list[str]]
    not_same: list[tuple[str, str]] = field(default_factory=list)
    related: list[tuple[str, str]] = field(default_factory=list)
    partial: bool = False


def _pair(a: str, b: str) -> Pair:
    return (a, b) if a < b else (b, a)


def _pairs(groups, squad_of: dict[str, str]) -> set[Pair]:
    """Every pair of initiatives of different squads that share a group, as sorted refs."""
    pairs: set[Pair] = set()
    for group in groups:
        for a, b in combinations(sorted(set(group)), 2):
            if squad_of.get(a) != squad_of.get(b):
                pairs.add((a, b))
    return pairs
