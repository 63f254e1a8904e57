"""What a person sees when their save met someone else's: both versions, side by side, and
the merge Throughline could make (docs/cowriting.md).

Built from a `cowriting.Conflict` and the draft the person posted; the draft itself always
goes back to them, in the form and in a hidden field, so choosing "keep mine" needs nothing
from their browser but a click.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from core.merge import FieldMerge, Piece, merge_fields, merge_sequences, merge_text, word_diff
from core.people import full_name
from core.validators import has_surrogate
from core.versioning import Conflict


def _marked(pieces: list[Piece], keep: str) -> list[Piece]:
    """A diff as one side reads it: its own words, with those the other side lacks marked."""
    return [piece for piece in pieces if piece.op in ("same", keep)]


@dataclass
class TextConflict:
    """A text section saved meanwhile: the saved text, the draft, and a merge if there is one."""

    saved_text: str
    draft: str
    merged: str | None
    saved_by: str
    saved_at: dt.datetime | None
    version: int

    @property
    def saved_pieces(self) -> list[Piece]:
        return _marked(word_diff(self.draft, self.saved_text), "ins")

    @property
    def draft_pieces(self) -> list[Piece]:
        return _marked(word_diff(self.saved_text, self.draft), "ins")

    @property
    def offered(self) -> str:
        """What the editor starts from: the merge when there is one, else their draft."""
        return self.merged if self.merged is not None else self.draft


def text_conflict(conflict: Conflict, *, field_name: str, draft: str) -> TextConflict:
    saved = getattr(conflict.current, field_name) or ""
    merged = None
    if conflict.base is not None:
        merged = merge_text(getattr(conflict.base, field_name) or "", draft, saved)
        if merged == saved:
            merged = None  # nothing of the draft would survive: not a merge to offer
    return TextConflict(
        saved_text=saved,
        draft=draft,
        merged=merged,
        saved_by=full_name(conflict.saved_by),
        saved_at=conflict.saved_at,
        version=conflict.version,
    )


@dataclass
class ListConflict:
    """The not-doing list saved meanwhile, merged line by line where possible."""

    saved: list[str]
    draft: list[str]
    merged: list[str] | None
    saved_by: str
    saved_at: dt.datetime | None
    version: int

    @property
    def offered(self) -> list[str]:
        return self.merged if self.merged is not None else self.draft

    @property
    def draft_json(self) -> str:
        return json.dumps(self.draft)


def list_conflict(conflict: Conflict, *, draft: Sequence[str]) -> ListConflict:
    saved = list(conflict.current.not_doing or [])
    merged = None
    if conflict.base is not None:
        merged = merge_sequences(list(conflict.base.not_doing or []), list(draft), saved)
    return ListConflict(
        saved=saved,
        draft=list(draft),
        merged=merged,
        saved_by=full_name(conflict.saved_by),
        saved_at=conflict.saved_at,
        version=conflict.version,
    )


@dataclass
class Row:
    label: str
    saved: str
    mine: str
    clash: bool


@dataclass
class RecordConflict:
    """A record (an initiative, a key result, a dependency) saved meanwhile, field by field."""

    what: str
    saved_by: str
    saved_at: dt.datetime | None
    version: int
    rows: list[Row]
    merge: FieldMerge
    draft_json: str
    labels: Mapping[str, str] = field(default_factory=dict)

    @property
    def clean(self) -> bool:
        return self.merge.clean

    @property
    def clash_labels(self) -> str:
        names = [self.labels.get(name, name).lower() for name in self.merge.conflicts]
        if len(names) <= 1:
            return "".join(names)
        return ", ".join(names[:-1]) + " and " + names[-1]


def _plain(value: Any) -> Any:
    """Values compared across a form, a row and a history entry: numbers as numbers."""
    if isinstance(value, Decimal):
        return value.normalize()
    if hasattr(value, "pk"):
        return value.pk
    if isinstance(value, str):
        return value.replace("\r\n", "\n").strip()
    return value


def values_of(source: Any, names: Sequence[str]) -> dict[str, Any]:
    """Field values of a model instance, a history entry or a dict, by field name; foreign
    keys as their primary key."""
    values = {}
    for name in names:
        if isinstance(source, Mapping):
            value = source.get(name)
        elif hasattr(source, f"{name}_id"):
            value = getattr(source, f"{name}_id")
        else:
            value = getattr(source, name, None)
        values[name] = _plain(value)
    return values


def record_conflict(
    conflict: Conflict,
    *,
    what: str,
    draft: Mapping[str, Any],
    raw_draft: Mapping[str, Any],
    names: Sequence[str],
    labels: Mapping[str, str],
    text_fields: Sequence[str],
    show: Callable[[str, Any], str],
) -> RecordConflict:
    """`draft` holds the posted values cleaned (for merging), `raw_draft` as typed (to post
    again unchanged when the person keeps theirs)."""
    ours = values_of(draft, names)
    theirs = values_of(conflict.current, names)
    if conflict.base is not None:
        merge = merge_fields(values_of(conflict.base, names), ours, theirs, text_fields=text_fields)
    else:
        merge = FieldMerge(values=dict(ours), conflicts=[n for n in names if ours[n] != theirs[n]])
    rows = [
        Row(
            label=labels.get(name, name),
            saved=show(name, theirs[name]),
            mine=show(name, ours[name]),
            clash=name in merge.conflicts,
        )
        for name in names
        if ours[name] != theirs[name]
    ]
    return RecordConflict(
        what=what,
        saved_by=full_name(conflict.saved_by),
        saved_at=conflict.saved_at,
        version=conflict.version,
        rows=rows,
        merge=merge,
        draft_json=json.dumps(dict(raw_draft)),
        labels=labels,
    )


UNREADABLE_DRAFT = "Your draft could not be read, so nothing was saved. Open the editor again."


class UnreadableDraft(ValueError):
    """A "keep my draft" whose draft is missing or not what the conflict view sends."""


def _readable(value) -> bool:
    if value is None or isinstance(value, bool | int | float):
        return True
    return isinstance(value, str) and "\x00" not in value and not has_surrogate(value)


def draft_data(posted: Mapping[str, Any], raw_json: str | None, names: Sequence[str]) -> dict:
    """The draft a person posted before, to save as it was ("keep mine"); it then goes
    through the same form as any save. UnreadableDraft when it is not the conflict view's."""
    try:
        draft = json.loads(raw_json)
    except (TypeError, ValueError):
        raise UnreadableDraft from None
    if not isinstance(draft, dict) or not all(_readable(draft.get(n)) for n in names):
        raise UnreadableDraft
    data = {
        name: "" if draft[name] is None else str(draft[name]) for name in names if name in draft
    }
    return {**{k: posted[k] for k in posted if k not in data}, **data}


def json_lines(raw: str | None, *, limit: int) -> list[str]:
    """The not-doing draft posted back from the conflict view. UnreadableDraft when it is not
    a list of at most `limit` lines of text."""
    try:
        lines = json.loads(raw)
    except (TypeError, ValueError):
        raise UnreadableDraft from None
    if not isinstance(lines, list) or len(lines) > limit:
        raise UnreadableDraft
    if not all(isinstance(line, str) and _readable(line) for line in lines):
        raise UnreadableDraft
    return lines
