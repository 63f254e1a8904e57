"""The search page, `/search/?q=`: one box in the navigation, results grouped by kind
(planning/search.py reads them; core/search.py matches the words)."""

from __future__ import annotations

from urllib.parse import urlencode

from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_safe

from core import access
from core.http import AuthedRequest
from core.search import MAX_QUERY_LENGTH, Query, SearchTooSlow
from planning import search as reads


def _page(value: str | None) -> int:
    try:
        return int(value or 1)
    except ValueError:
        return 1


def _url(query: Query, **params) -> str:
    return reverse("search") + "?" + urlencode({"q": query.text, **params})


@require_safe
def search(request: AuthedRequest) -> HttpResponse:
    query = Query.parse(request.GET.get("q"))
    only = reads.KINDS_BY_KEY.get(request.GET.get("kind", ""))
    results, too_slow = None, False
    if query and query.has_wanted_terms():
        try:
            results = reads.search(
                access.actor_for(request), query, only=only, page=_page(request.GET.get("page"))
            )
        except SearchTooSlow:
            too_slow = True
    groups = results.groups if results else []
    return render(
        request,
        "planning/search.html",
        {
            "query": query,
            "search_query": query.text,
            "max_length": MAX_QUERY_LENGTH,
            "only": only,
            "results": results,
            "all_url": _url(query),
            # Every kind is counted at the top; those with results are shown below it.
            "counts": groups,
            "sections": [
                {
                    "group": g,
                    "kind_url": _url(query, kind=g.kind.key),
                    "next_url": _url(query, kind=g.kind.key, page=g.page + 1),
                    "previous_url": _url(query, kind=g.kind.key, page=g.page - 1),
                }
                for g in groups
                if g.hits or only
            ],
            "too_slow": too_slow,
            "only_excluded": bool(query) and not query.has_wanted_terms(),
        },
    )
