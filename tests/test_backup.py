"""Backup and restore as the README's "Backup and restore" section tells an operator to do it:
the planning file for the plans, pg_dump and pg_restore for everything."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection
from psycopg import sql

from api.models import ApiToken
from dependencies import services as dependency_services
from dependencies.models import Dependency
from squads import services as squad_services
from squads.models import CheckIn, KeyResult
from tests.conftest import on_ci
from tests.test_planning_file import empty_database

User = get_user_model()


def export() -> dict:
    out = io.StringIO()
    call_command("export_plans", stdout=out)
    return json.loads(out.getvalue())


def use_the_demo_company(settings) -> None:
    """The demo company after some weeks of work: check-ins, answers, a token."""
    settings.DEBUG = True
    call_command("load_demo", stdout=io.StringIO())
    priya = User.objects.get(username="priya")
    activation = KeyResult.objects.get(okr__squad__key="first-90-days", key="activation")
    squad_services.check_in_record(
        key_result=activation, value=Decimal("31.5"), confidence=6, note="Week 6", by=priya
    )
    dependency_services.dependency_respond(
        dependency=Dependency.objects.get(key="messaging-mid-q1"),
        by=User.objects.get(username="omar"),
        action="decline",
        reason="The launch moved to Q2.",
    )
    ApiToken.issue(user=priya, name="weekly report")


@pytest.mark.django_db
def test_the_planning_file_restores_the_plans_of_a_company_in_use(tmp_path, settings):
    use_the_demo_company(settings)
    backup = export()
    assert backup["squads"][0]["okr"]["key_results"][0]["current"] == 31.5
    declined = next(d for d in backup["dependencies"] if d["key"] == "messaging-mid-q1")
    assert declined["status"] == "declined"
    assert "The launch moved to Q2." in declined["note"]

    empty_database()
    path = tmp_path / "backup.json"
    path.write_text(json.dumps(backup), encoding="utf-8")
    call_command("import_plans", str(path), stdout=io.StringIO())

    assert export() == backup
    # What the README says the planning file does not carry is indeed not restored.
    assert not CheckIn.objects.exists()
    assert not ApiToken.objects.exists()
    assert not User.objects.filter(username="admin").exists()
    assert not User.objects.get(username="priya").has_usable_password()
    assert not User.objects.get(username="priya").groups.exists()


def _pg(settings_dict: dict, dbname: str | None = None) -> tuple[list[str], dict[str, str]]:
    """libpq options and environment for the client programs, from Django's settings."""
    args = ["--host", settings_dict["HOST"] or "localhost"]
    if settings_dict["PORT"]:
        args += ["--port", str(settings_dict["PORT"])]
    if settings_dict["USER"]:
        args += ["--username", settings_dict["USER"]]
    env = {**os.environ}
    if settings_dict["PASSWORD"]:
        env["PGPASSWORD"] = settings_dict["PASSWORD"]
    return args, env


def _rows(params: dict) -> dict[str, list[tuple]]:
    """Every row of every table, in primary-key order."""
    with psycopg.connect(**params) as conn:
        tables = [
            name
            for (name,) in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
            )
        ]
        return {
            table: conn.execute(
                sql.SQL("SELECT * FROM {} ORDER BY 1").format(sql.Identifier(table))
            ).fetchall()
            for table in tables
        }


@pytest.mark.postgres
def test_pg_dump_and_pg_restore_bring_back_everything(
    transactional_db, settings, tmp_path, monkeypatch
):
    for program in ("pg_dump", "pg_restore"):
        if shutil.which(program) is None:
            reason = f"needs {program}: apt-get install postgresql-client"
            if on_ci():
                pytest.fail(f"CI=true, so this is a failure, not a skip: {reason}")
            pytest.skip(reason)
    # Commits are real here; the reviews they would ask for are not this test's business.
    monkeypatch.setattr("planning.tasks.review_enqueue_now", lambda cycle_id: False)
    use_the_demo_company(settings)
    settings_dict = connection.settings_dict
    name = settings_dict["NAME"]
    restored = f"{name}_restored"
    args, env = _pg(settings_dict)
    dump = tmp_path / "throughline.dump"

    subprocess.run(
        ["pg_dump", *args, "--format=custom", f"--file={dump}", name], env=env, check=True
    )
    params = {
        k: v
        for k, v in connection.get_connection_params().items()
        if k not in ("pool", "cursor_factory", "context", "prepare_threshold")
    }
    with psycopg.connect(**{**params, "dbname": "postgres"}, autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(restored)))
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(restored)))
    try:
        subprocess.run(
            ["pg_restore", *args, "--no-owner", f"--dbname={restored}", str(Path(dump))],
            env=env,
            check=True,
        )
        assert _rows({**params, "dbname": restored}) == _rows({**params, "dbname": name})
    finally:
        with psycopg.connect(**{**params, "dbname": "postgres"}, autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(restored))
            )
