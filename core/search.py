"""Finding words in what people wrote: one way of matching for every kind the search page shows.

Each searchable model names its fields by weight in a `SearchFields` beside it (A: titles and
names, B: descriptions, C: notes and comments) and reads through a `search(query)` QuerySet
method that calls `matching()` here. On PostgreSQL that is full-text search in English: the
weighted fields as one tsvector (the expression the GIN index of migration `*_search_indexes`
holds, so the index answers the match), the person's words read as a web search
(`websearch_to_tsquery`: quotes for a phrase, `-` to leave a word out, `or`) with the last
word also matched as the start of a word, ranked by `ts_rank` and highlighted by
`ts_headline`. On SQLite (the embedded default) it is a plain fallback: every word or phrase
in one of the fields, case-insensitively, words marked `-` in none, ranked by the weight of
the fields they are in, highlighted in Python.

Highlights never trust the database's output as HTML: `ts_headline` marks matches with two
private-use characters taken out of the text beforehand, so the marks it returns are its
own, and `parts()` turns them into (text, is_match) pieces a template escapes.
docs/search.md says why, and what the indexes are.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import reduce
from operator import add, or_

from django.db import OperationalError, connections, transaction
from django.db.models import Case, Count, F, Func, Q, QuerySet, TextField, Value, When, Window
from django.db.models.functions import NullIf

MAX_QUERY_LENGTH = 200
# The text search configuration of every vector, query and headline (and of the indexes).
CONFIG = "english"
# ts_headline's marks around a match: private-use characters, removed from the text before
# it is searched, so a mark in the answer is always one ts_headline put there.
MARK_START, MARK_STOP = "\ue000", "\ue001"
SNIPPET_WORDS = 30
# The fallback's snippet: this many characters around the first match.
SNIPPET_CHARS = 220
SNIPPET_SEPARATOR = " · "
# The last word is also matched as the start of a word from this many characters on: a
# shorter start would match most of the text and leave nothing to rank.
PREFIX_MIN_LENGTH = 3
# The fallback looks for at most this many terms (a condition for each, in every field).
FALLBACK_MAX_TERMS = 16
# PostgreSQL's code for a statement cancelled by statement_timeout.
QUERY_CANCELED = "57014"

_TOKEN = re.compile(r'(-?)"([^"]*)"?|(\S+)')
_WORD = re.compile(r"^\w+$")


class SearchTooSlow(Exception):
    """The database gave up on a search at its time limit."""


@dataclass(frozen=True)
class Term:
    """A word or a quoted phrase of a search, and whether it is to be left out (`-`)."""

    text: str
    excluded: bool = False
    phrase: bool = False


@dataclass(frozen=True)
class Query:
    """What a person searched for: at most MAX_QUERY_LENGTH characters, spaces collapsed."""

    text: str
    cut: bool = False

    @classmethod
    def parse(cls, raw: str | None) -> Query:
        text = " ".join((raw or "").split())
        if len(text) > MAX_QUERY_LENGTH:
            return cls(text[:MAX_QUERY_LENGTH].rstrip(), cut=True)
        return cls(text)

    def __bool__(self) -> bool:
        return bool(self.text)

    def terms(self) -> list[Term]:
        """The words and phrases, as a web search reads them; `or` between words is left to
        PostgreSQL (the fallback asks for every term)."""
        found = []
        for match in _TOKEN.finditer(self.text):
            minus, phrase, word = match.groups()
            if phrase is not None:
                term = Term(" ".join(phrase.split()), excluded=bool(minus), phrase=True)
            elif word.lower() == "or":
                continue
            else:
                text = word.lstrip("-").replace('"', "").strip(string.punctuation)
                term = Term(text, excluded=word.startswith("-"))
            if term.text:
                found.append(term)
        return found

    def wanted(self) -> list[str]:
        """The terms to find (not those left out), to highlight."""
        return [t.text for t in self.terms() if not t.excluded]

    def has_wanted_terms(self) -> bool:
        """Whether it asks for something, not only leaves things out: a search of only `-word`
        would read every row, so it finds nothing instead."""
        return bool(self.wanted())

    def last_word(self) -> tuple[str, str] | None:
        """(the text before it, the last word) when the search ends in a plain word that may
        be unfinished, to match it as the start of a word; None otherwise (a phrase, a word
        left out, a word after `or`, punctuation, a word shorter than PREFIX_MIN_LENGTH)."""
        if self.text.count('"') % 2:
            return None
        rest, _, last = self.text.rpartition(" ")
        if not _WORD.match(last) or len(last) < PREFIX_MIN_LENGTH or last.lower() == "or":
            return None
        if rest.rpartition(" ")[2].lower() == "or":
            return None
        return rest, last


@dataclass(frozen=True)
class SearchFields:
    """A model's searched fields by weight: `a` titles and names (the first is the title a
    result shows), `b` descriptions, `c` notes and comments. The order is the index's: the
    migration that makes the index writes the same fields in the same order."""

    a: tuple[str, ...] = ()
    b: tuple[str, ...] = ()
    c: tuple[str, ...] = ()

    def weighted(self) -> list[tuple[str, str]]:
        return [(f, "A") for f in self.a] + [(f, "B") for f in self.b] + [(f, "C") for f in self.c]

    @property
    def title(self) -> str | None:
        return self.a[0] if self.a else None

    @property
    def body(self) -> tuple[str, ...]:
        """What a snippet is cut from: everything but the title."""
        return self.a[1:] + self.b + self.c

    def vector(self):
        """The weighted tsvector, exactly as the GIN index holds it (see the migrations)."""
        from django.contrib.postgres.search import SearchVector

        return reduce(add, (SearchVector(f, config=CONFIG, weight=w) for f, w in self.weighted()))


def uses_full_text(using: str) -> bool:
    """Whether the database `using` searches in full text (PostgreSQL), or falls back."""
    return connections[using].vendor == "postgresql"


def _unmarked(field: str):
    """The field's text without the two mark characters (translate() drops them)."""
    return Func(
        F(field),
        Value(MARK_START + MARK_STOP),
        Value(""),
        function="translate",
        output_field=TextField(),
    )


def _joined(fields: tuple[str, ...]):
    """The fields as one text for a snippet, empty ones left out."""
    if len(fields) == 1:
        return _unmarked(fields[0])
    return Func(
        Value(SNIPPET_SEPARATOR),
        *(NullIf(_unmarked(f), Value("")) for f in fields),
        function="concat_ws",
        output_field=TextField(),
    )


def tsquery(query: Query):
    """The person's words as a PostgreSQL tsquery: a web search, its last plain word also
    matched as the start of a word ("wiz" finds "wizard")."""
    from django.contrib.postgres.search import Lexeme, SearchQuery

    split = query.last_word()
    if split is None:
        return SearchQuery(query.text, search_type="websearch", config=CONFIG)
    rest, last = split
    started = SearchQuery(Lexeme(last, prefix=True), config=CONFIG)
    if not rest:
        return started
    return SearchQuery(rest, search_type="websearch", config=CONFIG) & started


def matching(queryset: QuerySet, fields: SearchFields, query: Query) -> QuerySet:
    """The rows of `queryset` that match `query`, best first, annotated with `search_rank`
    and `search_total` (how many rows match in all) and, on PostgreSQL, the highlighted
    `search_title` and `search_snippet` (read them with `highlights()`). Slice it: every
    search reads a page at a time."""
    if not query.has_wanted_terms():
        return queryset.none()
    total = Window(Count("pk"))
    if uses_full_text(queryset.db):
        from django.contrib.postgres.search import SearchHeadline, SearchRank

        vector, ts = fields.vector(), tsquery(query)
        annotations = {"search_rank": SearchRank(vector, ts), "search_total": total}
        if fields.title:
            annotations["search_title"] = SearchHeadline(
                _unmarked(fields.title),
                ts,
                config=CONFIG,
                start_sel=MARK_START,
                stop_sel=MARK_STOP,
                highlight_all=True,
            )
        if fields.body:
            annotations["search_snippet"] = SearchHeadline(
                _joined(fields.body),
                ts,
                config=CONFIG,
                start_sel=MARK_START,
                stop_sel=MARK_STOP,
                max_words=SNIPPET_WORDS,
                min_words=SNIPPET_WORDS // 2,
            )
        return (
            queryset.alias(search_vector=vector)
            .filter(search_vector=ts)
            .annotate(**annotations)
            .order_by("-search_rank", "pk")
        )
    return _fallback(queryset, fields, query).annotate(search_total=total)


def _contains(names, text: str) -> Q:
    return reduce(or_, [Q(**{f"{name}__icontains": text}) for name in names])


def _fallback(queryset: QuerySet, fields: SearchFields, query: Query) -> QuerySet:
    """SQLite: every wanted term in some field, no excluded term in any, ranked by where the
    terms are (3 in a title or name, 2 in a description, 1 in a note)."""
    every = [f for f, _ in fields.weighted()]
    scores = []
    for term in query.terms()[:FALLBACK_MAX_TERMS]:
        if term.excluded:
            queryset = queryset.exclude(_contains(every, term.text))
            continue
        queryset = queryset.filter(_contains(every, term.text))
        whens = [
            When(_contains(names, term.text), then=Value(score))
            for names, score in ((fields.a, 3), (fields.b, 2), (fields.c, 1))
            if names
        ]
        scores.append(Case(*whens, default=Value(0)))
    if not scores:
        return queryset.none()
    return queryset.annotate(search_rank=reduce(add, scores)).order_by("-search_rank", "pk")


# --- highlights -------------------------------------------------------------------------

Parts = list[tuple[str, bool]]


def parts(marked: str) -> Parts:
    """ts_headline's answer as (text, is_match) pieces; the text is escaped where shown."""
    pieces: Parts = []
    for i, chunk in enumerate(marked.split(MARK_START)):
        if i == 0:
            text, rest = "", chunk
        else:
            text, _, rest = chunk.partition(MARK_STOP)
        if text:
            pieces.append((text, True))
        if rest:
            pieces.append((rest, False))
    return _merged(pieces)


def _merged(pieces: Parts) -> Parts:
    merged: Parts = []
    for text, is_match in pieces:
        if merged and merged[-1][1] == is_match:
            merged[-1] = (merged[-1][0] + text, is_match)
        else:
            merged.append((text, is_match))
    return merged


def marked(text: str, words: list[str]) -> Parts:
    """`text` as (text, is_match) pieces, each of `words` marked wherever it occurs (case
    ignored): the fallback's highlights."""
    if not text or not words:
        return [(text, False)] if text else []
    pattern = re.compile(
        "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True)), re.IGNORECASE
    )
    pieces: Parts = []
    at = 0
    for match in pattern.finditer(text):
        pieces.append((text[at : match.start()], False))
        pieces.append((match.group(), True))
        at = match.end()
    pieces.append((text[at:], False))
    return _merged([p for p in pieces if p[0]])


def _window(text: str, words: list[str]) -> str:
    """About SNIPPET_CHARS characters of `text` around the first of `words`, cut at spaces."""
    if len(text) <= SNIPPET_CHARS:
        return text
    lowered = text.lower()
    found = [i for i in (lowered.find(w.lower()) for w in words) if i >= 0]
    start = max(0, min(found) - SNIPPET_CHARS // 3) if found else 0
    if start:
        space = text.find(" ", start)
        start = space + 1 if 0 <= space < start + 30 else start
    end = start + SNIPPET_CHARS
    if end < len(text):
        space = text.rfind(" ", start, end)
        end = space if space > start else end
    return ("… " if start else "") + text[start:end] + (" …" if end < len(text) else "")


def highlights(row, fields: SearchFields, query: Query) -> tuple[Parts, Parts]:
    """The row's title and snippet with the matches marked: what matching() annotated on
    PostgreSQL, made from the fields in Python on the fallback."""
    if uses_full_text(row._state.db):
        title = parts(getattr(row, "search_title", "") or "")
        return title, parts(getattr(row, "search_snippet", "") or "")
    words = query.wanted()
    title = marked(getattr(row, fields.title) or "", words) if fields.title else []
    body = SNIPPET_SEPARATOR.join(t for t in (getattr(row, f) or "" for f in fields.body) if t)
    return title, marked(_window(body, words), words)


# --- bounds ------------------------------------------------------------------------------


@contextmanager
def time_limit(milliseconds: int, using: str = "default") -> Iterator[None]:
    """Every statement inside runs for at most `milliseconds` on PostgreSQL (a transaction
    with a local statement_timeout, gone when it ends); past it, SearchTooSlow. SQLite has
    no such limit: there every search reads a page at a time (LIMIT) and nothing more."""
    connection = connections[using]
    if connection.vendor != "postgresql" or milliseconds <= 0:
        yield
        return
    try:
        with transaction.atomic(using=using):
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT set_config('statement_timeout', %s, true)", [f"{int(milliseconds)}ms"]
                )
            yield
    except OperationalError as error:
        if getattr(error.__cause__, "sqlstate", None) == QUERY_CANCELED:
            raise SearchTooSlow from error
        raise
