"""Similar work in other squads, found while an initiative is still being written.

`similar_to(text, candidates)` compares one draft ("title. description", as the review reads
an initiative) with the initiatives of a cycle and returns the few that describe alike work,
most alike first. It judges the way the review does (planning/overlap.py, docs/overlap.md):
by meaning with the sentence model where it can, by shared words otherwise, and a pair is
worth a warning from the score at which the review could link it:

- by meaning, from SEMANTIC_THRESHOLD - MUTUAL_GAP (the review links such a pair when each
  is the other's closest match), "very similar" from SEMANTIC_THRESHOLD (it links on its own);
- by shared words, from LEXICAL_THRESHOLD, where the review links without the mutual rule.

The thresholds are read from planning/overlap.py at each call, so the warning follows the
review when they change. The draft is judged on its text alone: the stage, segment and dates
a half-written form holds are not yet what the person means.

The work of one call is bounded, since it runs as a person types: the draft is cut to
DRAFT_LIMIT characters; the candidates' vectors are kept by the model in each process and in
Django's cache for all of them (keyed by the model and a digest of the text, so a change to
an initiative is a new key), so a keystroke reads the draft alone; and the model reads at
most EMBED_BUDGET tokens of candidates no process has read yet, those left over being judged
on shared words until a later call has read them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re
from collections.abc import Hashable, Sequence
from decimal import Decimal
from typing import NamedTuple

import numpy as np
from django.core.cache import cache

from planning import overlap
from planning.snapshot import InitiativeFacts

logger = logging.getLogger(__name__)

DRAFT_LIMIT = 2_000  # characters of a text compared; the rest is left out
EMBED_BUDGET = 4_000  # tokens of uncached candidates the model reads per call (~0.7 s)
SHOWN = 5  # matches returned by default
CACHE_SECONDS = 30 * 24 * 3600
CACHE_PREFIX = "similar-work:v1"

VERY_SIMILAR = "very similar"
SIMILAR = "similar"

# NUL and lone surrogates: no text a person writes holds them, and they cannot be encoded.
_UNWRITABLE = re.compile("[\x00\ud800-\udfff]")


class Match(NamedTuple):
    ref: Hashable  # what the caller gave with the text
    score: float  # the cosine (by meaning) or shared-word score, 0..1
    level: str  # VERY_SIMILAR or SIMILAR


def initiative_text(title: str, description: str) -> str:
    """An initiative as the review reads it ("title. description"), cut to DRAFT_LIMIT."""
    title = _UNWRITABLE.sub("", title or "").strip().rstrip(".")
    description = _UNWRITABLE.sub("", description or "").strip()
    text = f"{title}. {description}" if title and description else title or description
    return text[:DRAFT_LIMIT].strip()


def similar_to(
    text: str, candidates: Sequence[tuple[Hashable, str]], *, limit: int = SHOWN
) -> list[Match]:
    """The candidates whose text describes work like `text`, most alike first, at most
    `limit`. Texts are cut to DRAFT_LIMIT characters; an empty text matches nothing."""
    text = _UNWRITABLE.sub("", text or "")[:DRAFT_LIMIT].strip()
    if not text or not candidates or limit <= 0:
        return []
    texts = [_UNWRITABLE.sub("", t or "")[:DRAFT_LIMIT].strip() for _, t in candidates]
    scores = np.zeros(len(texts), dtype=np.float32)
    by_meaning = np.zeros(len(texts), dtype=bool)
    encoder = overlap._encoder()
    if encoder is not None:
        draft = encoder.embed([text])[0]
        vectors, by_meaning = _candidate_vectors(encoder, texts)
        if by_meaning.any():
            scores[by_meaning] = vectors[by_meaning] @ draft
    if not by_meaning.all():
        words = _shared_words(text, texts)
        scores[~by_meaning] = words[~by_meaning]
    scores = np.round(scores, 4)  # as the review rounds, so float noise never flips a call
    found = []
    for k, score in enumerate(scores.tolist()):
        level = _level(score, semantic=bool(by_meaning[k]))
        if level is not None:
            found.append(Match(candidates[k][0], round(score, 4), level))
    found.sort(key=lambda m: (m.level != VERY_SIMILAR, -m.score))
    return found[:limit]


def _level(score: float, *, semantic: bool) -> str | None:
    if semantic:
        strong = overlap.SEMANTIC_THRESHOLD
        lower = strong - overlap.MUTUAL_GAP
    else:
        # Shared words are weak evidence: the review links them only on the full threshold.
        strong = lower = overlap.LEXICAL_THRESHOLD
    if score >= strong:
        return VERY_SIMILAR
    if score >= lower:
        return SIMILAR
    return None


def _shared_words(text: str, texts: list[str]) -> np.ndarray:
    """The review's shared-word scores (TF-IDF over word stems) of the draft with each text."""
    day = dt.date.min  # dates play no part in shared words
    facts = [
        InitiativeFacts(
            squad=str(k),
            key="",
            title="",
            description=t,
            function="",
            stage=None,
            segment=None,
            starts=day,
            ends=day,
            headcount=Decimal(0),
            status="proposed",
        )
        for k, t in enumerate([text, *texts])
    ]
    rows = overlap._Plan(facts).lexical
    return rows[1:] @ rows[0]


def _key(text: str) -> str:
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return f"{CACHE_PREFIX}:{overlap.MODEL_SHA256[:16]}:{digest}"


def _candidate_vectors(encoder, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(vectors, read): each text's sentence vector and which have one. From the model's own
    cache when this process has read the text, else from Django's cache (shared by the
    processes), else from the model: up to EMBED_BUDGET tokens, the shortest texts first
    (the most texts for the budget), then kept in Django's cache for the next call."""
    vectors = np.zeros((len(texts), encoder.dim), dtype=np.float32)
    read = np.zeros(len(texts), dtype=bool)
    here = [k for k, t in enumerate(texts) if t in encoder.cache]
    if here:
        vectors[here] = encoder.embed([texts[k] for k in here])
        read[here] = True
    rest = np.flatnonzero(~read).tolist()
    keys = {k: _key(texts[k]) for k in rest}
    try:
        cached = cache.get_many(list(set(keys.values()))) if keys else {}
    except Exception:  # the cache is a saving, not a need
        logger.warning("similar work: the cache is unreachable", exc_info=True)
        cached = {}
    missing: dict[str, list[int]] = {}
    for k, key in keys.items():
        raw = cached.get(key)
        if isinstance(raw, bytes) and len(raw) == 4 * encoder.dim:
            vectors[k] = np.frombuffer(raw, dtype=np.float32)
            read[k] = True
        else:
            missing.setdefault(texts[k], []).append(k)
    lengths = {t: len(encoder.tokenizer.encode(t)) for t in missing}
    chosen, used = [], 0
    for t in sorted(missing, key=lambda t: (lengths[t], t)):
        used += lengths[t]
        if used > EMBED_BUDGET:
            break
        chosen.append(t)
    if not chosen:
        return vectors, read
    fresh = encoder.embed(chosen)
    for t, vector in zip(chosen, fresh, strict=True):
        vectors[missing[t]] = vector
        read[missing[t]] = True
    try:
        cache.set_many(
            {_key(t): vector.tobytes() for t, vector in zip(chosen, fresh, strict=True)},
            timeout=CACHE_SECONDS,
        )
    except Exception:
        logger.warning("similar work: the cache is unreachable", exc_info=True)
    return vectors, read
