"""What people decided about overlapping initiatives, applied by the review before it makes
its overlap findings.

Answering an overlap finding ("one squad leads", "not the same work", "related, keep both")
gives each pair of its initiatives from different squads a verdict (planning.models.
OverlapVerdict) that keeps both texts as they were judged. The review takes those pairs out
of the overlap rule's groups before it makes findings, so a judged pair is not raised again,
until one of its two texts changes materially:

- An initiative's text is its title and description. Its words are its runs of letters and
  digits, lower-cased, without accents and reduced to their stems (English Snowball:
  "wizards" and "wizard" are one word).
- How much a text changed is the share of words the two versions do not have in common,
  counting repeats: 1 - sum(min) / sum(max) over the word counts. More than MATERIAL_CHANGE
  (a quarter) is material: rewording a sentence or fixing a typo in a long description is
  not; a new title, or a description that now says something else, is. A short text moves
  faster: one word added to a two-word title changes a third of it.

A group that loses a pair is split into its largest parts that hold no judged pair (each a
maximal set of the group's initiatives whose every pair still stands), keeping those that
still span two squads or more, so no finding claims a judged pair. This works on the groups
and pairs only, whatever scored them. Nothing here touches the database.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import Stemmer

# More than this share of a text's words changed since it was judged: the verdict lapses.
MATERIAL_CHANGE = 0.25
# A group split into more parts than this keeps the first ones (largest first): a group
# with many judged pairs inside it is no longer one piece of work anyway.
MAX_PARTS = 20

# How far the search for a group's parts goes before it settles for those found so far.
SEARCH_STEPS = 10_000

_WORD = re.compile(r"[a-z0-9]+")
_stemmer = Stemmer.Stemmer("english")

Pair = frozenset[str]


@dataclass(frozen=True)
class VerdictFacts:
    """One judged pair: two initiative refs ("squad/key") and their texts as judged."""

    first: str
    second: str
    verdict: str  # same, not_same or related
    first_text: str
    second_text: str

    @property
    def pair(self) -> Pair:
        return frozenset((self.first, self.second))


def text_of(title: str, description: str) -> str:
    """An initiative's text as verdicts compare it."""
    return f"{title}\n{description}"


def words(text: str) -> Counter[str]:
    folded = unicodedata.normalize("NFKD", text.lower())
    folded = "".join(ch for ch in folded if not unicodedata.combining(ch))
    return Counter(_stemmer.stemWords(_WORD.findall(folded)))


def change(before: str, after: str) -> float:
    """How much of a text changed, 0 (the same words) to 1 (no word in common)."""
    old, new = words(before), words(after)
    union = sum((old | new).values())
    if union == 0:
        return 0.0
    return 1 - sum((old & new).values()) / union


def materially_changed(before: str, after: str) -> bool:
    return change(before, after) > MATERIAL_CHANGE


def standing_pairs(verdicts: Iterable[VerdictFacts], texts: Mapping[str, str]) -> set[Pair]:
    """The judged pairs whose verdict still holds: both initiatives are still there (in
    `texts`, ref -> text now) and neither text has changed materially since."""
    standing = set()
    for verdict in verdicts:
        now_first, now_second = texts.get(verdict.first), texts.get(verdict.second)
        if now_first is None or now_second is None:
            continue
        if materially_changed(verdict.first_text, now_first):
            continue
        if materially_changed(verdict.second_text, now_second):
            continue
        standing.add(verdict.pair)
    return standing


def split_group(
    refs: Sequence[str], judged: set[Pair], squad_of: Mapping[str, str]
) -> list[tuple[str, ...]]:
    """The parts of a group of initiatives that hold none of the judged pairs.

    A group without a judged pair comes back whole. Otherwise, the initiatives in no judged
    pair belong to every part; the others are shared out as the maximal sets of them with no
    judged pair between them. Parts within one squad are left out; at most MAX_PARTS parts,
    the largest first.
    """
    members = sorted(set(refs))
    inside = {p for p in judged if p <= set(members)}
    if not inside:
        return [tuple(members)]
    touched = sorted({ref for pair in inside for ref in pair})
    free = [ref for ref in members if ref not in set(touched)]
    parts = set()
    for clique in _cliques(touched, inside):
        part = tuple(sorted(free + clique))
        if len(part) > 1 and len({squad_of.get(r, r) for r in part}) > 1:
            parts.add(part)
    ordered = sorted(parts, key=lambda p: (-len(p), p))
    return ordered[:MAX_PARTS]


def _cliques(nodes: list[str], judged: set[Pair]) -> list[list[str]]:
    """Maximal sets of `nodes` with no judged pair between them (Bron-Kerbosch with a pivot
    over the pairs that stand), stopping after a bounded number of them."""
    fine = {n: {m for m in nodes if m != n and frozenset((n, m)) not in judged} for n in nodes}
    found: list[list[str]] = []
    limit = MAX_PARTS * 4
    steps = [0]

    def grow(chosen: list[str], candidates: set[str], excluded: set[str]) -> None:
        steps[0] += 1
        if len(found) >= limit or steps[0] > SEARCH_STEPS:
            return
        if not candidates and not excluded:
            found.append(sorted(chosen))
            return
        pivot = max(candidates | excluded, key=lambda n: (len(fine[n] & candidates), n))
        for node in sorted(candidates - fine[pivot]):
            grow(chosen + [node], candidates & fine[node], excluded & fine[node])
            candidates = candidates - {node}
            excluded = excluded | {node}

    grow([], set(nodes), set())
    return found
