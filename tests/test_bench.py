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


def _result(name: str, cached: bool, rps: float, p95: float | None = 40.0) -> dict:
    label = next(s[1] for s in bench.SCENARIOS if s[0] == name)
    return {
        "name": name,
        "cached": cached,
        "label": label,
        "users": 8,
        "requests": int(rps * 10),
        "failures": 0,
        "failure_text": "",
        "rps": rps,
        "p50": p95,
        "p95": p95,
        "p99": p95,
        "conflicts": 0,
        "server_p50": None,
        "server_p95": None,
    }


def test_each_share_is_of_its_own_servers_bare_view_and_the_goals_are_judged_on_it():
    results = [
        _result("bare", True, 1000),
        _result("bare", False, 500),
        _result("plan", True, 200),  # 20% of its server's 1000
        _result("plan", False, 60),  # 12% of its server's 500, though 6% of the other's
        _result("graph", False, 20),  # 4%
        _result("squads", False, 0, p95=None),  # nothing answered within the run
        _result("timeline", False, 24.9),  # 4.98%: judged as printed, 5.0%
        _result("bare", True, 1000),
        _result("bare", False, 500),
    ]
    ceilings = bench.ceilings_of(results)
    assert ceilings == {True: 1000, False: 500}

    said = "\n".join(bench.verdicts(results, ceilings))
    assert "plan page, `PAGE_CACHE=0`, >= 10% of the bare view: holds (12.0%)" in said
    assert "plan page, page cache on, >= 15% of the bare view: holds (20.0%)" in said
    assert "/board/graph/, `PAGE_CACHE=0`, >= 5% of the bare view: **does not hold** (4.0%)" in said
    assert "/squads/, `PAGE_CACHE=0`, >= 10% of the bare view: **does not hold** (0.0%)" in said
    assert "/timeline/, `PAGE_CACHE=0`, >= 5% of the bare view: holds (5.0%)" in said
    rows = "\n".join(bench.table(results, ceilings))
    assert "none answered" in rows


def test_the_growth_table_says_which_share_stays_roughly_constant():
    def run(squads: int, plan_rps: float) -> dict:
        results = [_result("bare", False, 500), _result("plan", False, plan_rps)]
        made = {"squads": squads, "people": 5 * squads, "initiatives": 25 * squads}
        made |= {"dependencies": 100 * squads, "generate_s": 1.0, "review_s": 2.0}
        return {"made": made, "results": results, "ceilings": {False: 500}, "seconds": 60}

    args = bench.parse_args(["--growth", "0.25,1,4"])
    steady = bench.growth_report(args, [run(50, 60), run(200, 55), run(800, 50)], "make bench")
    assert "| plan page | 12.0% (40) | 11.0% (40) | 10.0% (40) | yes |" in steady
    falling = bench.growth_report(args, [run(50, 60), run(800, 20)], "make bench")
    assert "| plan page | 12.0% (40) | 4.0% (40) | **no** (33% of the smallest) |" in falling


def test_the_growth_table_runs_by_default_only_at_the_default_size():
    assert bench.parse_args([]).growth_scales == [0.25, 1.0, 4.0]
    assert bench.parse_args(["--scale", "0.1"]).growth_scales == []
    assert bench.parse_args(["--scale=0.1", "--growth", "0.05"]).growth_scales == [0.05]
    assert bench.parse_args(["--growth", "none"]).growth_scales == []


def test_the_run_and_the_growth_table_each_replace_only_their_own_part_of_the_doc(
    tmp_path, monkeypatch
):
    doc = tmp_path / "performance.md"
    others = "<!-- bench-import:start -->\nimport figures\n<!-- bench-import:end -->"
    doc.write_text(
        f"# Performance\n\n## Web app under load\n\nprose\n\n{bench.DOC_START}\nold run\n"
        f"{bench.DOC_END}\n\nmore prose\n\n{others}\n\n## Overlap detection\n",
        encoding="utf-8",
    )
    monkeypatch.setattr(bench, "DOC", doc)

    bench.write_growth_doc("growth one")
    bench.write_doc("new run")
    bench.write_growth_doc("growth two")

    text = doc.read_text(encoding="utf-8")
    assert "old run" not in text and "growth one" not in text
    assert f"{bench.DOC_START}\nnew run\n{bench.DOC_END}" in text
    assert f"{bench.GROWTH_START}\ngrowth two\n{bench.GROWTH_END}" in text
    assert text.index(bench.DOC_END) < text.index(bench.GROWTH_START) < text.index("more prose")
    assert others in text and text.count("## Overlap detection") == 1
