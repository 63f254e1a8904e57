"""The benchmark server's URLconf: every Throughline URL, plus `/bench/bare/`.

The bare view renders a tiny template through Django's template engine, behind the same
middleware as every page, and touches neither the session nor the database: the ceiling
that scripts/bench.py measures each page against. It exists only on the benchmark server.
"""

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.template import engines
from django.urls import include, path

from throughline.urls import handler400  # noqa: F401

BARE = engines["django"].from_string(
    "<!doctype html><title>{{ title }}</title><p>Hello from {{ title }}, {{ n }} times.</p>\n"
)


@login_not_required  # as before the sign-in became the default: the bench's baseline
def bare(request: HttpRequest) -> HttpResponse:
    return HttpResponse(BARE.render({"title": "Throughline", "n": 1}))


urlpatterns = [
    path("bench/bare/", bare, name="bench_bare"),
    path("", include("throughline.urls")),
]
