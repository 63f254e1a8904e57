"""The benchmark server's URLconf: every Throughline URL, plus `/bench/bare/`.

The bare view renders a tiny template through Django's template engine, behind the same
middleware as every page, and touches neither the session nor the database: the ceiling
that scripts/bench.py measures each page against. It exists only on the benchmark server.
`/bench/frame/` is the signed-in frame alone: base.html with an empty body, behind the
sign-in, for what every page pays before its own content.
"""

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template import engines
from django.urls import include, path

from throughline.urls import handler400  # noqa: F401

BARE = engines["django"].from_string(
    "<!doctype html><title>{{ title }}</title><p>Hello from {{ title }}, {{ n }} times.</p>\n"
)


@login_not_required  # as before the sign-in became the default: the bench's baseline
def bare(request: HttpRequest) -> HttpResponse:
    return HttpResponse(BARE.render({"title": "Throughline", "n": 1}))


def frame(request: HttpRequest) -> HttpResponse:
    """A signed-in page with nothing in it: what every page pays for its frame (the
    session, the account, the person's relations, the navigation around the body)."""
    return render(request, "base.html", {})


urlpatterns = [
    path("bench/bare/", bare, name="bench_bare"),
    path("bench/frame/", frame, name="bench_frame"),
    path("", include("throughline.urls")),
]
