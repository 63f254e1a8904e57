"""The structure the code map promises (docs/architecture.md): one table of what a change
affects, checked against the models and the database's triggers, and models that moved
between apps without losing a row."""

from __future__ import annotations

import importlib
import json
from io import StringIO
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from planning.changes import CHANGES, NOT_FOLLOWED

OUR_APPS = {"core", "journeys", "squads", "dependencies", "planning", "webhooks", "api"}
TRIGGERS = importlib.import_module("planning.migrations.0010_page_revisions")
SEASON_TRIGGERS = importlib.import_module(
    "planning.migrations.0019_season_cycle_events_and_baselines"
)
OUTCOME_TRIGGERS = importlib.import_module("planning.migrations.0020_customer_outcome_pages")
EXAMPLE = Path(settings.BASE_DIR) / "planning" / "demo" / "first-90-days.json"

# The schema as it was before the models moved between apps (the heads of that day).
BEFORE_THE_MOVE = [
    ("planning", "0012_review_run_lease"),
    ("squads", "0003_cowriting"),
    ("dependencies", "0003_dependency_version_history"),
    ("core", None),
]


def _our_models() -> set:
    return {
        model
        for model in apps.get_models()
        if model._meta.app_label in OUR_APPS and not model.__name__.startswith("Historical")
    }


def test_every_model_says_what_a_change_to_it_affects():
    listed = {m._meta.label for m in CHANGES} | set(NOT_FOLLOWED)
    missing = sorted({m._meta.label for m in _our_models()} - listed)
    assert missing == [], f"add these to planning/changes.py, CHANGES or NOT_FOLLOWED: {missing}"
    assert not {m._meta.label for m in CHANGES} & set(NOT_FOLLOWED)
    assert set(NOT_FOLLOWED) <= {m._meta.label for m in _our_models()}, "a label names no model"


def test_the_table_and_the_trigger_definitions_name_the_same_page_scopes():
    for model, follows in CHANGES.items():
        table = model._meta.db_table
        if any(table in m.DIRECTORY for m in (TRIGGERS, SEASON_TRIGGERS, OUTCOME_TRIGGERS)):
            made = {"directory"}
        elif table in TRIGGERS.BY_SQUAD:
            made = {"squad", *TRIGGERS.BY_SQUAD[table][1]}
        else:
            made = set()
        assert made == set(follows.pages), model._meta.label


@pytest.mark.postgres
def test_the_database_has_a_trigger_for_every_table_that_moves_a_page(db):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid"
            " WHERE NOT t.tgisinternal AND t.tgname LIKE 'planning_touch%%'"
        )
        with_triggers = {row[0] for row in cursor.fetchall()}
    followed = {m._meta.db_table for m, f in CHANGES.items() if f.pages}
    assert with_triggers - {"auth_user"} == followed


def _rows() -> dict[str, int]:
    counts = {}
    with connection.cursor() as cursor:
        for table in sorted(connection.introspection.table_names()):
            if table.startswith(("planning_", "squads_", "journeys_", "dependencies_", "api_")):
                cursor.execute(f'SELECT COUNT(*) FROM "{table}"')  # noqa: S608 (table names)
                counts[table] = cursor.fetchone()[0]
    return counts


def _export() -> dict:
    # planning-file/1: what the schema of before the move could hold. The customer's outcomes
    # (planning-file/2) came after it, so going back to it takes them away.
    out = StringIO()
    call_command("export_plans", "--format", "planning-file/1", stdout=out, stderr=StringIO())
    return json.loads(out.getvalue())


@pytest.mark.postgres
def test_a_database_from_before_the_models_moved_keeps_every_row(transactional_db):
    # The worked example is written by today's code, whose models hold columns the old schema
    # lacks (a removed thing's mark), then taken back to the schema of before the move: the
    # rows are the same as if that schema's code had written them.
    call_command("import_plans", str(EXAMPLE), stdout=StringIO())
    before = _export()
    executor = MigrationExecutor(connection)
    heads = executor.loader.graph.leaf_nodes()
    executor.migrate(BEFORE_THE_MOVE)
    try:
        rows_before = _rows()
        assert rows_before["planning_initiative"] > 0 and rows_before["planning_cycle"] > 0
    finally:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(heads)
    assert _export() == before
    rows_after = _rows()
    assert {table: rows_after.get(table) for table in rows_before} == rows_before
    # Tables made since start empty.
    assert {t: n for t, n in rows_after.items() if t not in rows_before and n} == {}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT app_label FROM django_content_type WHERE model = 'initiative'"
            " UNION ALL SELECT app_label FROM django_content_type WHERE model = 'cycle'"
        )
        assert sorted(row[0] for row in cursor.fetchall()) == ["core", "squads"]
