"""The search page's reads: initiatives, dependencies, squads, journey stages, key results,
people and comments found by the same words, each scoped to what the person asking may read,
a page of each kind at a time, with where each lives.

How words match, rank and are highlighted is core/search.py; each model's `search()` QuerySet
method applies it to its own fields. Here: which rows of each kind a person may see (the
draft rule of core/access.py for initiatives and comments; everything else is readable by
everyone signed in), one query a kind (its page, with how many match in all), and the links.
docs/search.md describes the page.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Prefetch, QuerySet
from django.urls import reverse

from core import access
from core.models import Profile
from core.people import display_name
from core.search import Parts, Query, SearchFields, highlights, time_limit
from dependencies.models import Dependency
from dependencies.presenters import board_url
from journeys.models import Stage
from planning.plan.presenters import SECTIONS
from squads.models import Comment, Initiative, KeyResult, Membership, Squad

PAGE_SIZE = 20
# Pages of one kind a search may go through; past them, more words narrow it down.
MAX_PAGE = 50


@dataclass(frozen=True)
class Hit:
    """One thing found: its title and a snippet, each as (text, is_match) pieces, where it
    lives and a line of context."""

    title: Parts
    snippet: Parts
    url: str
    context: str


@dataclass(frozen=True)
class Kind:
    key: str
    label: str  # a heading: "Journey stages"
    plural: str  # in a sentence: "journey stages"
    fields: SearchFields
    rows: Callable[[access.Actor, Query], QuerySet]
    hit: Callable[[object, Parts, Parts], Hit]


@dataclass
class Group:
    """A page of one kind's results, and how many there are in all."""

    kind: Kind
    hits: list[Hit]
    total: int
    page: int

    @property
    def first(self) -> int:
        return (self.page - 1) * PAGE_SIZE + 1

    @property
    def last(self) -> int:
        return self.first + len(self.hits) - 1

    @property
    def has_next(self) -> bool:
        return self.last < self.total and self.page < MAX_PAGE

    @property
    def beyond_last_page(self) -> bool:
        """More match than the pages a search goes through."""
        return self.last < self.total and self.page >= MAX_PAGE


@dataclass
class Results:
    query: Query
    groups: list[Group] = field(default_factory=list)
    only: Kind | None = None

    @property
    def total(self) -> int:
        return sum(g.total for g in self.groups)


# --- each kind: what may be read, and where it lives ------------------------------------


def _initiatives(actor, query):
    return access.readable_initiatives(actor, Initiative.objects.all()).search(query)


def _initiative_hit(row: Initiative, title: Parts, snippet: Parts) -> Hit:
    squad = row.squad
    return Hit(
        title=title,
        snippet=snippet,
        url=reverse("squads:plan", args=[squad.key]) + f"#initiative-{row.key}",
        context=f"{squad.name} ({squad.cycle.name}) · {row.function} · {row.get_status_display()}",
    )


def _dependencies(actor, query):
    # The board, its exports and these results show every dependency to everyone signed in
    # (docs/permissions.md, "Draft plans").
    return Dependency.objects.search(query)


def _dependency_hit(row: Dependency, title: Parts, snippet: Parts) -> Hit:
    provider = row.provider_squad()
    by = provider.name if provider is not None else row.to_function
    return Hit(
        title=title,
        snippet=snippet,
        url=board_url(dep=row.key),
        context=(
            f"{row.needer_squad().name} needs it from {by} by {row.due:%-d %b %Y} · "
            f"{row.get_status_display()}"
        ),
    )


def _squads(actor, query):
    return Squad.objects.search(query)


def _squad_hit(row: Squad, title: Parts, snippet: Parts) -> Hit:
    return Hit(
        title=title,
        snippet=snippet,
        url=reverse("squads:detail", args=[row.key]),
        context=f"{row.cycle.name} · DRI {display_name(row.dri)}",
    )


def _stages(actor, query):
    return Stage.objects.search(query)


def _stage_hit(row: Stage, title: Parts, snippet: Parts) -> Hit:
    return Hit(
        title=title,
        snippet=snippet,
        url=reverse("journeys:detail", args=[row.journey.key]) + f"#stage-{row.pk}",
        context=f"A stage of the journey {row.journey.name}",
    )


def _key_results(actor, query):
    return KeyResult.objects.search(query)


def _key_result_hit(row: KeyResult, title: Parts, snippet: Parts) -> Hit:
    squad = row.okr.squad
    return Hit(
        title=title,
        snippet=snippet,
        url=reverse("squads:detail", args=[squad.key]) + f"#kr-{row.key}",
        context=f"A key result of {squad.name}",
    )


def _people(actor, query):
    squads = (
        Membership.objects.filter(squad__removal__isnull=True)
        .select_related("squad")
        .order_by("squad__name", "squad_id")
    )
    return Profile.objects.search(query).prefetch_related(
        Prefetch("user__memberships", queryset=squads, to_attr="search_memberships")
    )


def _person_hit(row: Profile, title: Parts, snippet: Parts) -> Hit:
    squads = [m.squad for m in row.user.search_memberships]
    url = reverse("person", args=[row.user.username])
    names = ", ".join(s.name for s in squads)
    return Hit(
        title=title,
        snippet=snippet,
        url=url,
        context=f"In {names}" if squads else "In no squad",
    )


def _comments(actor, query):
    return access.readable_plan_parts(actor, Comment.objects.all()).search(query)


_SECTION_TITLES = {name: title for name, title in SECTIONS.values()} | {"not_doing": "Not doing"}


def _comment_hit(row: Comment, title: Parts, snippet: Parts) -> Hit:
    if row.initiative_id:
        part, on = f"initiative-{row.initiative.key}", f"“{row.initiative.title}”"
    else:
        part, on = row.section.replace("_", "-"), _SECTION_TITLES.get(row.section, row.section)
    return Hit(
        title=[(f"{display_name(row.author)} on {on}", False)],
        snippet=snippet,
        url=reverse("squads:plan", args=[row.squad.key]) + f"#comments-{part}",
        context=f"A comment in the plan of {row.squad.name}, {row.created_at:%-d %b %Y}",
    )


KINDS = [
    Kind(
        "initiatives",
        "Initiatives",
        "initiatives",
        Initiative.SEARCHED,
        _initiatives,
        _initiative_hit,
    ),
    Kind(
        "dependencies",
        "Dependencies",
        "dependencies",
        Dependency.SEARCHED,
        _dependencies,
        _dependency_hit,
    ),
    Kind("squads", "Squads", "squads", Squad.SEARCHED, _squads, _squad_hit),
    Kind("stages", "Journey stages", "journey stages", Stage.SEARCHED, _stages, _stage_hit),
    Kind(
        "key-results",
        "Key results",
        "key results",
        KeyResult.SEARCHED,
        _key_results,
        _key_result_hit,
    ),
    Kind("people", "People", "people", Profile.SEARCHED, _people, _person_hit),
    Kind("comments", "Comments", "comments", Comment.SEARCHED, _comments, _comment_hit),
]
KINDS_BY_KEY = {kind.key: kind for kind in KINDS}


def _group(kind: Kind, actor: access.Actor, query: Query, page: int) -> Group:
    start = (page - 1) * PAGE_SIZE
    rows = list(kind.rows(actor, query)[start : start + PAGE_SIZE])
    hits = [kind.hit(row, *highlights(row, kind.fields, query)) for row in rows]
    # Every row carries the number of matches (a window count over the same query).
    return Group(kind=kind, hits=hits, total=rows[0].search_total if rows else 0, page=page)


def search(actor: access.Actor, query: Query, *, only: Kind | None = None, page: int = 1):
    """What `query` finds that this person may read: the first page of every kind, or page
    `page` of one kind (`only`). One query a kind (two for people: their squads), each
    within the search's time limit (SearchTooSlow past it)."""
    page = min(max(page, 1), MAX_PAGE) if only else 1
    results = Results(query=query, only=only)
    with time_limit(settings.SEARCH_TIME_LIMIT_MS):
        for kind in [only] if only else KINDS:
            results.groups.append(_group(kind, actor, query, page))
    return results
