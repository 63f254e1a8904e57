"""Similar work in other squads, found while an initiative is still being written.

`similar_to(draft, candidates)` judges one draft against the initiatives of a cycle exactly
as the review judges a pair (planning/overlap.py `similar_to`, docs/overlap.md) and returns
the few that describe alike work, most alike first:

- "very similar": the review would link the pair, so the next review raises an overlap;
- "similar": the Judge is at least SIMILAR_SHARE of the way to that certainty (by meaning
  only; shared words are weak evidence, and the review links them only on their threshold).

The cut-offs are read from planning/overlap.py at each call, so the warning follows the
review when its Judge is fitted again. The draft is judged on its text alone: the stage,
segment and dates a half-written form holds are not yet what the person means.

The work of one call is bounded, since it runs as a person types: each text is cut to
DRAFT_LIMIT characters; the candidates' vectors come from the model's keeping in this
process or in Django's cache for every process (the review reads every initiative), so a
keystroke normally reads the draft alone; and the model reads at most overlap.DRAFT_BUDGET
tokens of candidates no process has read yet, those left over being judged on shared words.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Hashable, Sequence
from decimal import Decimal
from typing import NamedTuple

from planning import overlap
from planning.snapshot import InitiativeFacts

logger = logging.getLogger(__name__)

DRAFT_LIMIT = 2_000  # characters of a text compared; the rest is left out
SHOWN = 5  # matches returned by default
SIMILAR_SHARE = 0.5  # "similar" from half the certainty at which the review links a pair

VERY_SIMILAR = "very similar"
SIMILAR = "similar"

# NUL and lone surrogates: no text a person writes holds them, and they cannot be encoded.
_UNWRITABLE = re.compile("[\x00\ud800-\udfff]")


class Match(NamedTuple):
    ref: Hashable  # what the caller gave with the text
    score: float  # the Judge's certainty (by meaning) or the shared-word score, 0..1
    level: str  # VERY_SIMILAR or SIMILAR


def initiative_text(title: str, description: str) -> str:
    """An initiative as the review reads it ("title. description"), cut to DRAFT_LIMIT."""
    title = _UNWRITABLE.sub("", title or "").strip().rstrip(".")
    description = _UNWRITABLE.sub("", description or "").strip()
    text = f"{title}. {description}" if title and description else title or description
    return text[:DRAFT_LIMIT].strip()


def similar_to(
    draft: tuple[str, str, str],
    candidates: Sequence[tuple[Hashable, str, str, str]],
    *,
    limit: int = SHOWN,
) -> list[Match]:
    """The candidates whose text describes work like `draft`, most alike first, at most
    `limit`. `draft` is (squad key, title, description); each candidate is (what the caller
    wants back, squad key, title, description). An empty draft matches nothing."""
    squad, title, description = draft
    if not initiative_text(title, description) or not candidates or limit <= 0:
        return []
    facts = [
        _facts(f"{k}", squad_key, title_, description_)
        for k, (_, squad_key, title_, description_) in enumerate(candidates)
    ]
    mine = _facts("draft", squad, title, description)
    floor = overlap.JUDGE.threshold * SIMILAR_SHARE
    found = []
    for ref, strength, links in overlap.similar_to(mine, facts, floor=floor):
        k = int(ref.split("/", 1)[1])
        level = VERY_SIMILAR if links else SIMILAR
        found.append(Match(candidates[k][0], round(strength, 4), level))
        if len(found) == limit:
            break
    return found


def _facts(key: str, squad: str, title: str, description: str) -> InitiativeFacts:
    day = dt.date.min  # dates play no part in judging a draft
    return InitiativeFacts(
        squad=f"{squad}",
        key=key,
        title=_clean(title),
        description=_clean(description),
        function="",
        stage=None,
        segment=None,
        starts=day,
        ends=day,
        headcount=Decimal(0),
        status="proposed",
    )


def _clean(text: str) -> str:
    return _UNWRITABLE.sub("", text or "")[:DRAFT_LIMIT].strip()
