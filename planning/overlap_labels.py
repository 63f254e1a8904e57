"""What triage taught about overlaps, as labelled pairs that `overlap_eval` can measure
overlap detection against (`manage.py export_overlap_labels OUT.json`).

Three kinds of label come from people's answers to overlap findings:

- the same work: the initiatives of a finding someone settled with "one squad leads"
  (verdict `same`), written as `groups`, as in a hand-made expected file. Findings settled
  one after another that share an initiative make one group, except that a group never
  holds a pair people judged otherwise (not the same, or related): it is split into its
  largest parts without one, as the review splits its own groups;
- not the same work: the pairs of a finding judged "not the same work" (verdict
  `not_same`), written as `not_same` pairs, which overlap_eval counts as negatives;
- related, both kept: the pairs of a finding dismissed as "related, keep both" (verdict
  `related`) or dismissed with a reason of its own, written as `related` pairs. Both squads
  chose to keep work that the review rightly saw as close, so they are neither a hit nor a
  miss of the detection; overlap_eval reports how many it still groups.

The expected file says `"partial": true`: these are the pairs people looked at, not every
pair of the plan, so overlap_eval judges precision on the labelled pairs only. The planning
file beside it is the export of the cycles concerned with each labelled initiative's title
and description as they were when judged (the latest verdict on it), and none of them
dropped: a lead's decision drops the initiatives it folds in, but what was judged was their
text while they were live.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from itertools import combinations

from django.db.models import Q

from core.models import Cycle
from planning.models import Finding, OverlapVerdict
from planning.overlap_verdicts import split_group
from planning.planning_file import FORMAT_V1, export_document
from squads.models import Initiative

Pair = tuple[str, str]


@dataclass
class Labels:
    groups: list[list[str]] = field(default_factory=list)
    not_same: list[Pair] = field(default_factory=list)
    related: list[Pair] = field(default_factory=list)
    # ref -> (title, description) as judged
    texts: dict[str, tuple[str, str]] = field(default_factory=dict)
    cycles: list[str] = field(default_factory=list)

    def expected(self) -> dict:
        return {
            "partial": True,
            "groups": self.groups,
            "not_same": [list(p) for p in self.not_same],
            "related": [list(p) for p in self.related],
        }

    def same_pairs(self) -> set[Pair]:
        """The pairs of different squads the groups say are the same work."""
        return {
            _pair(a, b)
            for group in self.groups
            for a, b in combinations(group, 2)
            if a.split("/")[0] != b.split("/")[0]
        }

    def __len__(self) -> int:
        return len(self.same_pairs()) + len(self.not_same) + len(self.related)


def collect(cycle_key: str | None = None) -> Labels:
    """The labels of one cycle, or of every cycle that has some."""
    verdicts = OverlapVerdict.objects.select_related("first__squad", "second__squad", "cycle")
    dismissed = Finding.objects.filter(
        rule="similar_initiatives", state=Finding.State.DISMISSED
    ).select_related("cycle")
    if cycle_key is not None:
        verdicts = verdicts.filter(cycle__key=cycle_key)
        dismissed = dismissed.filter(cycle__key=cycle_key)
    labels = Labels()
    same: dict[str, set[str]] = defaultdict(set)  # ref -> refs judged the same work
    judged: set[frozenset[str]] = set()
    cycles: set[str] = set()
    for verdict in verdicts.order_by("at", "id"):
        first, second = verdict.first.ref, verdict.second.ref
        # Later verdicts come later: the latest text of each initiative wins.
        labels.texts[first] = (verdict.first_title, verdict.first_description)
        labels.texts[second] = (verdict.second_title, verdict.second_description)
        judged.add(frozenset((first, second)))
        cycles.add(verdict.cycle.key)
        if verdict.verdict == OverlapVerdict.Verdict.SAME:
            same[first].add(second)
            same[second].add(first)
        elif verdict.verdict == OverlapVerdict.Verdict.NOT_SAME:
            labels.not_same.append(_pair(first, second))
        else:
            labels.related.append(_pair(first, second))
    for finding in dismissed.order_by("id"):
        for pair in _dismissed_pairs(finding):
            if frozenset(pair) not in judged:
                judged.add(frozenset(pair))
                labels.related.append(pair)
                cycles.add(finding.cycle.key)
    apart = {frozenset(p) for p in labels.not_same + labels.related}
    labels.groups = [
        list(part)
        for group in _components(same)
        for part in split_group(group, apart, {ref: ref.split("/")[0] for ref in group})
    ]
    labels.not_same.sort()
    labels.related.sort()
    labels.cycles = sorted(cycles)
    return labels


def _pair(a: str, b: str) -> Pair:
    return (a, b) if a < b else (b, a)


def _components(links: dict[str, set[str]]) -> list[list[str]]:
    seen: set[str] = set()
    groups = []
    for start in sorted(links):
        if start in seen:
            continue
        group, todo = set(), [start]
        while todo:
            ref = todo.pop()
            if ref not in group:
                group.add(ref)
                todo.extend(links[ref] - group)
        seen |= group
        groups.append(sorted(group))
    return groups


def _dismissed_pairs(finding: Finding) -> list[Pair]:
    """The pairs of different squads among the finding's initiatives that still exist."""
    refs = sorted(s.split(":", 1)[1] for s in finding.subjects if s.startswith("initiative:"))
    query = Q()
    for ref in refs:
        squad, _, key = ref.partition("/")
        query |= Q(squad__key=squad, key=key)
    if not refs:
        return []
    there = {
        f"{s}/{k}"
        for s, k in Initiative.objects.filter(query, squad__cycle_id=finding.cycle_id).values_list(
            "squad__key", "key"
        )
    }
    live = [r for r in refs if r in there]
    return [_pair(a, b) for a, b in combinations(live, 2) if a.split("/")[0] != b.split("/")[0]]


def planning_file(labels: Labels) -> dict:
    """The cycles the labels concern, with the labelled initiatives as they were judged."""
    # One cycle: its own export. Several: everything, as dependencies may cross cycles.
    # planning-file/1: the labelled pairs' data sets stay in the format the evaluation and
    # the data sets beside it (tests/data/overlap-*.json) are written in.
    document = export_document(
        labels.cycles[0] if len(labels.cycles) == 1 else None, format=FORMAT_V1
    )
    for squad in document.get("squads", []):
        for initiative in squad.get("initiatives", []):
            ref = f"{squad['key']}/{initiative['key']}"
            if ref in labels.texts:
                initiative["title"], initiative["description"] = labels.texts[ref]
                if initiative.get("status") == "dropped":
                    initiative["status"] = "planned"
    return document


def known_cycle(key: str) -> bool:
    return Cycle.objects.filter(key=key).exists()
