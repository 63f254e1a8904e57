"""The load benchmark's own parts, at a tiny size and untimed (scripts/bench.py).

The budgets live in docs/performance.md, measured by `make bench`; nothing here times
anything. These only check that the benchmark still fits the app: its generator builds an
organisation people can sign in to, the bench server's URLconf serves the bare view and
every page, and the plan page still carries the poll URL the benchmark reads.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.test import override_settings

SCRIPTS = Path(__file__).resolve().parent.parent / "scripts"
if str(SCRIPTS) not in sys.path:
    sys.path.insert(0, str(SCRIPTS))

import bench  # noqa: E402
import bench_review  # noqa: E402

pytestmark = pytest.mark.django_db


def test_the_generator_builds_an_organisation_of_the_size_asked_for():
    from dependencies.models import Dependency
    from squads.models import Initiative, Squad

    made = bench_review.generate(
        40, 120, 2027, squads=6, people=20, password=make_password(bench.PASSWORD)
    )

    assert (made["squads"], made["people"]) == (6, 20)
    assert Squad.objects.count() == 6
    assert Initiative.objects.count() == 40
    assert Dependency.objects.count() == 120
    assert get_user_model().objects.get(username="p3").check_password(bench.PASSWORD)


@override_settings(ROOT_URLCONF="bench_urls")
def test_the_bench_server_serves_the_bare_view_and_the_app(client):
    from squads.models import Squad

    bench_review.generate(20, 40, 1, squads=4, people=12)
    assert client.get("/bench/bare/").status_code == 200

    squad = Squad.objects.select_related("dri").get(key="s1")
    client.force_login(squad.dri)
    page = client.get(f"/squads/{squad.key}/plan/")
    assert page.status_code == 200
    assert bench.LIVE_RE.search(page.content.decode())
    assert client.get("/board/").status_code == 200


def test_the_bare_view_exists_only_on_the_bench_server(client):
    assert client.get("/bench/bare/").status_code == 404
