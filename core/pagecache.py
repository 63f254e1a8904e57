"""The rendered body of the busiest pages, cached under the revision of the data it shows.

A page's body (the board, a squad's plan page) is rendered once per revision of the data it
shows and served from the cache until that data changes. The revisions are exact: database
triggers move a scope's value in the same transaction as any change to the rows its pages
show (planning.models.PageRevision, migration 0010), so a change is never missed, whoever
made it and however (a form, a bulk update, an import, the admin). The key also holds the
date (what is overdue changes at midnight), the page's path and query parameters, what the
viewer may do there (so people with different permissions never share a rendering) and a
digest of the code and templates (so a new release never serves what the one before drew).

Each cached page names the query parameters that change its rendering (QUERY_PARAMETERS);
their values go into the key. A request with any other parameter is drawn afresh and not
stored, so a parameter a view starts to read can never be served someone else's rendering
(tests/test_pagecache.py checks the list against what the pages read).

What differs per request is never stored: the CSRF token and any other per-person value a
page names in `swaps` are rendered as markers derived from the secret key and put in after
the cache is read. Everything else in the page around the body (the navigation, messages,
the CSP nonce) is rendered afresh each time.

On databases without the triggers (the SQLite default), or with PAGE_CACHE=0, or when the
cache cannot be reached, pages are simply rendered each time.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable, Iterable, Mapping
from functools import cache
from pathlib import Path

from django.conf import settings
from django.core.cache import cache as django_cache
from django.db import connection, connections, router
from django.http import HttpRequest
from django.middleware.csrf import get_token
from django.utils.crypto import salted_hmac
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

logger = logging.getLogger(__name__)

BOARD = "board"
DIRECTORY = "directory"

# Per cached page (body()'s `name`), every query parameter its body reads.
QUERY_PARAMETERS: dict[str, frozenset[str]] = {
    # squads.views._arrangement: by function or on a timeline.
    "plan": frozenset({"view"}),
    # dependencies.views: the filters (BoardFilterForm), the grouping and the page number.
    "board": frozenset(
        {"from", "to", "status", "stage", "within", "overdue", "blocking", "dep", "group", "page"}
    ),
    # planning.timeline: the filters (TimelineFilterForm), grouping, zoom, page, opened group.
    "timeline": frozenset(
        {"squad", "stage", "function", "segment", "group", "zoom", "page", "open"}
    ),
}


def squad_scope(squad_id: int) -> str:
    return f"squad:{squad_id}"


def enabled() -> bool:
    return settings.PAGE_CACHE and connection.vendor == "postgresql"


@cache
def marker(name: str) -> str:
    """A stand-in for a per-request value: unguessable, so no one can write it in a plan."""
    return (
        "tlmark" + salted_hmac("core.pagecache.marker", name, algorithm="sha256").hexdigest()[:24]
    )


def revisions(scopes: Iterable[str], request: HttpRequest | None = None) -> tuple[int, ...]:
    """The scopes' values, in the order given (0 for a scope nothing has moved yet).

    With `request`, the directory's revision is kept on it: core.cycles uses it to skip
    reading the cycles again."""
    scopes = list(scopes)
    if not enabled():
        return tuple(0 for _ in scopes)
    # From the database this request reads from (a replica for the board, with one:
    # throughline/db_router.py), so a body is never keyed on revisions newer than its data.
    with connections[router.db_for_read(None)].cursor() as cursor:
        # On every cached page: plain SQL, to spare the ORM's work on the way.
        cursor.execute(
            "SELECT scope, value FROM planning_pagerevision WHERE scope = ANY(%s)", [scopes]
        )
        found = dict(cursor.fetchall())
    if request is not None and DIRECTORY in found:
        request._throughline_directory = found[DIRECTORY]
    return tuple(found.get(scope, 0) for scope in scopes)


def plan_revisions(request: HttpRequest, squad) -> tuple[tuple[int, ...], int | None]:
    """A plan page's revisions ([squad_scope(), DIRECTORY]) and its co-writing stamp's
    revision (squads.cowriting; None where the cache is off), as read with the squad."""
    if not enabled():
        return (0, 0), None
    if squad.page_directory is not None:
        request._throughline_directory = squad.page_directory
    return (squad.page_revision or 0, squad.page_directory or 0), squad.page_stamp or 0


@cache
def release() -> str:
    """A digest of the code and templates that draw pages: a new release never serves a
    rendering the one before cached."""
    digest = hashlib.sha256()
    root = Path(settings.BASE_DIR)
    for folder in ("templates", "planning", "squads", "dependencies", "journeys"):
        for path in sorted((root / folder).rglob("*")):
            if path.suffix in {".html", ".py"} and "migrations" not in path.parts:
                digest.update(str(path.relative_to(root)).encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


# What belongs to one person in a page drawn for many: its markup carries their marker, which
# show_own() turns, on the way out, into nothing for them and into `hidden` for anyone else.
OWN_PREFIX = b"tlown"
_OWN_RE = re.compile(rb"tlown[0-9a-f]{24}")


@cache
def own_marker(owner_id: int | None) -> str:
    """The stand-in for "shown only to this person": unguessable, like marker()."""
    digest = salted_hmac("core.pagecache.own", str(owner_id), algorithm="sha256").hexdigest()
    return OWN_PREFIX.decode() + digest[:24]


def show_own(content: bytes, viewer_id: int | None) -> bytes:
    """Show the viewer what is theirs in `content` and hide what is others'."""
    if OWN_PREFIX not in content:
        return content
    mine = own_marker(viewer_id).encode() if viewer_id is not None else None
    return _OWN_RE.sub(lambda m: b"" if m.group(0) == mine else b"hidden", content)


def _key(name: str, parts: tuple) -> str:
    raw = repr((settings.DATABASES["default"]["NAME"], release(), name, parts))
    return "page:" + hashlib.sha256(raw.encode()).hexdigest()


def body(
    request: HttpRequest,
    *,
    name: str,
    read: tuple[int, ...],
    vary: tuple,
    render: Callable[[dict], str],
    swaps: Mapping[str, str] | None = None,
) -> SafeString:
    """The page body `render` draws, from the cache when its data has not moved.

    The key holds `read`, the revisions of the data the body shows, which the caller reads
    (revisions() or plan_revisions()) before any of that data: a change committed in
    between makes the rendering newer than its key, never older. `render(stand_ins)` draws
    the body with `stand_ins` (the CSRF token and each of `swaps`' names mapped to a marker)
    in its context; the markers are replaced by the real values on the way out. `vary`
    holds everything else the body depends on besides the path and the query parameters
    (which body() puts in itself): the viewer's permissions, the date.
    """
    swaps = dict(swaps or {})
    real = {"csrf_token": get_token(request), **swaps}
    stand_ins = {key: marker(key) for key in real}
    query = _query(request, name)
    if not enabled() or query is None:
        return _swap(render(stand_ins), stand_ins, real)
    key = _key(name, (request.path, query, read, vary))
    try:
        stored = django_cache.get(key)
    except Exception:
        logger.warning("page cache unreachable: rendering %s afresh", name, exc_info=True)
        return _swap(render(stand_ins), stand_ins, real)
    if stored is not None:
        return _swap(stored, stand_ins, real)
    html = render(stand_ins)
    try:
        # Compressed by the cache backend (throughline/redis_cache.py).
        django_cache.set(key, html, timeout=settings.PAGE_CACHE_SECONDS)
    except Exception:
        logger.warning("could not cache %s", name, exc_info=True)
    return _swap(html, stand_ins, real)


def _query(request: HttpRequest, name: str) -> tuple | None:
    """The request's query parameters as a part of the key; None when it holds one the page
    does not list (then the page is drawn afresh)."""
    allowed = QUERY_PARAMETERS[name]
    if not set(request.GET) <= allowed:
        return None
    return tuple(sorted((param, tuple(request.GET.getlist(param))) for param in request.GET))


def _swap(html: str, stand_ins: dict[str, str], real: dict[str, str]) -> SafeString:
    for key, mark in stand_ins.items():
        html = html.replace(mark, escape(real[key]))
    return mark_safe(html)  # noqa: S308 - rendered by the template engine, values escaped
