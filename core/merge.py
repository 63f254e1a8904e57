"""Three-way merges and readable diffs for co-written text (docs/cowriting.md).

Pure functions over plain values, so every rule is testable without a database.

A text merges by sentence: the base is the version both people started from, "ours" the
draft being saved and "theirs" what someone saved meanwhile. Where the two changed different
sentences both changes are kept; where they changed the same sentence (or both added text at
the same place) there is no automatic merge and the person chooses. Lists (the not-doing
list) merge the same way by line, and records (an initiative, a dependency) field by field.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

# A sentence ends at ., ! or ? followed by white space, or at a line break; the white space
# between sentences is a token of its own, so a sentence added at the end of a paragraph does
# not count as a change to the sentence before it.
_SENTENCE_BREAK = re.compile(r"((?<=[.!?])[ \t]+|[ \t]*\n\s*)")
_WORDS = re.compile(r"\s+|[^\s]+")


def sentences(text: str) -> list[str]:
    """The text as sentences and the white space between them; joined, the text again."""
    return [token for token in _SENTENCE_BREAK.split(text) if token]


@dataclass(frozen=True)
class _Hunk:
    start: int  # the changed range of the base, [start, end)
    end: int
    replacement: tuple


def _hunks(base: Sequence, changed: Sequence) -> list[_Hunk]:
    matcher = difflib.SequenceMatcher(None, base, changed, autojunk=False)
    return [
        _Hunk(i1, i2, tuple(changed[j1:j2]))
        for tag, i1, i2, j1, j2 in matcher.get_opcodes()
        if tag != "equal"
    ]


def _clash(a: _Hunk, b: _Hunk) -> bool:
    if a.start < b.end and b.start < a.end:
        return True  # both changed something of the base in common
    # Both added something at the same place: which goes first is a choice for a person.
    return a.start == b.start and (a.start == a.end or b.start == b.end)


def merge_sequences(base: Sequence, ours: Sequence, theirs: Sequence) -> list | None:
    """ours and theirs merged over base, or None when both changed the same part."""
    if list(ours) == list(theirs):
        return list(ours)
    our_hunks, their_hunks = _hunks(base, ours), _hunks(base, theirs)
    merged_hunks: list[_Hunk] = []
    for hunk in our_hunks:
        same = [h for h in their_hunks if _clash(h, hunk)]
        if same and not (len(same) == 1 and same[0] == hunk):
            return None
    taken_theirs = [h for h in their_hunks if h not in our_hunks]
    merged_hunks = sorted([*our_hunks, *taken_theirs], key=lambda h: (h.start, h.end))
    result: list = []
    position = 0
    for hunk in merged_hunks:
        result.extend(base[position : hunk.start])
        result.extend(hunk.replacement)
        position = max(position, hunk.end)
    result.extend(base[position:])
    return result


def merge_text(base: str, ours: str, theirs: str) -> str | None:
    """The two edits of a text merged sentence by sentence, or None when they clash."""
    merged = merge_sequences(sentences(base), sentences(ours), sentences(theirs))
    return None if merged is None else "".join(merged)


@dataclass
class FieldMerge:
    """A record merged field by field: the values to offer and the fields to decide."""

    values: dict[str, Any]
    conflicts: list[str]

    @property
    def clean(self) -> bool:
        return not self.conflicts


def merge_fields(
    base: Mapping[str, Any],
    ours: Mapping[str, Any],
    theirs: Mapping[str, Any],
    *,
    text_fields: Iterable[str] = (),
) -> FieldMerge:
    """Each field takes the side that changed it; text fields changed on both sides merge by
    sentence; any other field changed differently on both sides is a conflict, kept as ours."""
    text_fields = set(text_fields)
    values: dict[str, Any] = {}
    conflicts: list[str] = []
    for name, mine in ours.items():
        original, current = base.get(name), theirs.get(name)
        if mine == current or current == original:
            values[name] = mine
        elif mine == original:
            values[name] = current
        elif name in text_fields:
            merged = merge_text(str(original or ""), str(mine or ""), str(current or ""))
            if merged is None:
                conflicts.append(name)
                values[name] = mine
            else:
                values[name] = merged
        else:
            conflicts.append(name)
            values[name] = mine
    return FieldMerge(values=values, conflicts=conflicts)


# Readable differences ---------------------------------------------------------------------


@dataclass(frozen=True)
class Piece:
    """A run of words in a diff: kept, removed or added."""

    op: str  # "same", "del", "ins", or "gap": a space shown between words replaced
    text: str


def word_diff(before: str, after: str) -> list[Piece]:
    """The words removed from before and added in after, in reading order."""
    old, new = _WORDS.findall(before or ""), _WORDS.findall(after or "")
    pieces: list[Piece] = []
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            pieces.append(Piece("same", "".join(old[i1:i2])))
            continue
        if i2 > i1:
            pieces.append(Piece("del", "".join(old[i1:i2])))
        if j2 > j1:
            if i2 > i1:
                # Replaced words: without a space the two runs read as one word
                # ("feelare" for "feel" struck out and "are" put in).
                pieces.append(Piece("gap", " "))
            pieces.append(Piece("ins", "".join(new[j1:j2])))
    return pieces
