"""Imports at scale write in bulk and still keep what each saved row promises: a history
entry, the version, the review of the cycle and the plans' stamps, and nothing on a
second import of the same file. The timings are in scripts/bench_import_scale.py."""

from __future__ import annotations

import importlib.util
import io
import json
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection

from dependencies.models import Dependency
from planning import spreadsheet_import as sheets
from planning import tasks
from squads.models import Initiative, PlanStamp, Squad

pytestmark = pytest.mark.django_db

# Six squads, 18 people, two journeys of eight stages: the journeys are still written row by
# row (a few hundred queries); the initiatives and dependencies add none per row.
QUERIES = 345
EXAMPLE = Path(settings.BASE_DIR) / "planning" / "demo" / "first-90-days.json"


def _generator():
    path = Path(settings.BASE_DIR) / "scripts" / "bench_import_scale.py"
    spec = importlib.util.spec_from_file_location("bench_import_scale", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_import(tmp_path: Path, document: dict) -> str:
    path = tmp_path / "plans.json"
    path.write_text(json.dumps(document))
    out = io.StringIO()
    call_command("import_plans", str(path), stdout=out)
    return out.getvalue()


@pytest.fixture
def queued(monkeypatch) -> list[int]:
    """The cycles whose review is queued once the import commits."""
    cycles: list[int] = []
    monkeypatch.setattr(tasks, "review_enqueue_now", lambda cycle_id: cycles.append(cycle_id))
    return cycles


def test_each_row_a_file_creates_has_its_history_entry_and_a_second_import_adds_none(
    tmp_path, django_capture_on_commit_callbacks
):
    document = json.loads(EXAMPLE.read_text())
    run_import(tmp_path, document)
    for model in (Initiative, Dependency):
        rows = list(model.objects.all())
        assert rows
        for row in rows:
            assert [h.history_type for h in model.history.filter(id=row.pk)] == ["+"]
            assert row.version == 1
    assert "Nothing to change" in run_import(tmp_path, document)
    assert Initiative.history.count() == Initiative.objects.count()
    assert Dependency.history.count() == Dependency.objects.count()


def test_a_changed_initiative_moves_its_version_and_its_history_once(tmp_path):
    document = json.loads(EXAMPLE.read_text())
    run_import(tmp_path, document)
    squad = document["squads"][0]
    squad["initiatives"][0]["title"] = "A better title"
    run_import(tmp_path, document)
    changed = Initiative.objects.get(squad__key=squad["key"], key=squad["initiatives"][0]["key"])
    assert changed.title == "A better title"
    assert changed.version == 2
    assert [h.history_type for h in changed.history.order_by("history_id")] == ["+", "~"]
    others = Initiative.objects.exclude(pk=changed.pk)
    assert set(others.values_list("version", flat=True)) == {1}


def test_an_import_queues_the_review_of_its_cycle_and_moves_the_stamp_of_each_plan(
    tmp_path, queued, django_capture_on_commit_callbacks
):
    document = json.loads(EXAMPLE.read_text())
    with django_capture_on_commit_callbacks(execute=True):
        run_import(tmp_path, document)
    squads = list(Squad.objects.all())
    assert sorted(set(queued)) == sorted({squad.cycle_id for squad in squads})
    assert len(queued) == len(set(queued))  # one review a cycle, however many rows
    stamped = set(PlanStamp.objects.filter(revision__gte=1).values_list("squad_id", flat=True))
    with_work = set(Initiative.objects.values_list("squad_id", flat=True))
    assert with_work and with_work <= stamped


@pytest.mark.parametrize("initiatives", [60, 600])
def test_a_planning_file_costs_the_same_queries_for_60_or_600_initiatives(
    tmp_path, initiatives, django_assert_max_num_queries
):
    document = _generator().planning_file(
        squads=6, initiatives=initiatives, dependencies=3 * initiatives
    )
    with django_assert_max_num_queries(QUERIES):
        run_import(tmp_path, document)
    assert Initiative.objects.count() == initiatives
    assert Dependency.objects.count() == 3 * initiatives


def test_a_spreadsheets_new_rows_are_in_the_history_as_the_uploaders(
    tmp_path, queued, django_capture_on_commit_callbacks, alice, needing, wizard
):
    rows = {
        sheets.INITIATIVES: [
            (
                n + 2,
                {
                    "squad": needing.key,
                    "key": f"sheet-{n}",
                    "title": f"Sheet work {n}",
                    "function": "Product",
                    "starts": "2027-02-01",
                    "ends": "2027-03-31",
                },
            )
            for n in range(30)
        ],
        sheets.DEPENDENCIES: [
            (
                n + 2,
                {
                    "key": f"sheet-dep-{n}",
                    "needed_by": f"{needing.key}/sheet-{n}",
                    "provided_by": f"{needing.key}/{wizard.key}",
                    "what": f"Thing {n}",
                    "due": "2027-03-01",
                },
            )
            for n in range(30)
        ],
    }
    # Making the fixtures queued a review of the cycle already: only the import's count.
    connection.run_on_commit.clear()
    with django_capture_on_commit_callbacks(execute=True):
        checked = sheets.apply(rows, alice)
    assert checked.count("create") == 60
    made = Initiative.objects.filter(key__startswith="sheet-")
    assert made.count() == 30
    for initiative in made:
        (entry,) = initiative.history.all()
        assert (entry.history_type, entry.history_user_id) == ("+", alice.pk)
    deps = Dependency.objects.filter(key__startswith="sheet-dep-")
    assert deps.count() == 30
    assert {d.history.get().history_user_id for d in deps} == {alice.pk}
    assert queued == [needing.cycle_id]
    assert PlanStamp.objects.get(squad=needing).revision >= 1
