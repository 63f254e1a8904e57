"""Page revisions: triggers that move a scope's value whenever data its pages show changes.

PostgreSQL only (statement-level triggers with transition tables: one call per statement,
so a bulk insert of 20,000 rows moves each scope once). On other databases the table stays
empty and core/pagecache.py renders every page afresh.
"""

from django.db import migrations, models

SEQUENCE = "planning_pagerevision_seq"

TOUCH = f"""
CREATE OR REPLACE FUNCTION planning_touch(scopes text[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    s text;
BEGIN
    -- Sorted, so two transactions touching the same scopes lock them in the same order.
    FOR s IN SELECT DISTINCT x FROM unnest(scopes) AS x WHERE x IS NOT NULL ORDER BY x LOOP
        INSERT INTO planning_pagerevision (scope, value) VALUES (s, nextval('{SEQUENCE}'))
        ON CONFLICT (scope) DO UPDATE SET value = EXCLUDED.value;
    END LOOP;
END
$$;
"""

# table -> (queries giving the squads a changed row shows on, over the rows `r`; extra scopes)
BY_SQUAD = {
    "planning_plan": (["SELECT r.squad_id FROM {rows} r"], []),
    "planning_comment": (["SELECT r.squad_id FROM {rows} r"], []),
    "squads_okr": (["SELECT r.squad_id FROM {rows} r"], []),
    "squads_membership": (["SELECT r.squad_id FROM {rows} r"], []),
    "squads_squadstage": (["SELECT r.squad_id FROM {rows} r"], []),
    "squads_keyresult": (
        ["SELECT o.squad_id FROM {rows} r JOIN squads_okr o ON o.id = r.okr_id"],
        [],
    ),
    "squads_checkin": (
        [
            "SELECT o.squad_id FROM {rows} r JOIN squads_keyresult k ON k.id = r.key_result_id"
            " JOIN squads_okr o ON o.id = k.okr_id"
        ],
        [],
    ),
    # An initiative shows on its own plan, on the plans on the other side of its
    # dependencies, and on the board.
    "planning_initiative": (
        [
            "SELECT r.squad_id FROM {rows} r",
            "SELECT coalesce(d.to_squad_id, i.squad_id) FROM {rows} r"
            " JOIN dependencies_dependency d ON d.from_initiative_id = r.id"
            " LEFT JOIN planning_initiative i ON i.id = d.to_initiative_id",
            "SELECT coalesce(d.from_squad_id, i.squad_id) FROM {rows} r"
            " JOIN dependencies_dependency d ON d.to_initiative_id = r.id"
            " LEFT JOIN planning_initiative i ON i.id = d.from_initiative_id",
        ],
        ["board"],
    ),
    "dependencies_dependency": (
        [
            "SELECT coalesce(r.from_squad_id, i.squad_id) FROM {rows} r"
            " LEFT JOIN planning_initiative i ON i.id = r.from_initiative_id",
            "SELECT coalesce(r.to_squad_id, i.squad_id) FROM {rows} r"
            " LEFT JOIN planning_initiative i ON i.id = r.to_initiative_id",
        ],
        ["board"],
    ),
}

# Shown on many pages, changed seldom: any change moves `directory`.
DIRECTORY = {
    "squads_squad": "INSERT OR UPDATE OR DELETE",
    "planning_profile": "INSERT OR UPDATE OR DELETE",
    "planning_cycle": "INSERT OR UPDATE OR DELETE",
    "planning_capacity": "INSERT OR UPDATE OR DELETE",
    "journeys_segment": "INSERT OR UPDATE OR DELETE",
    "journeys_journey": "INSERT OR UPDATE OR DELETE",
    "journeys_journeysegment": "INSERT OR UPDATE OR DELETE",
    "journeys_stage": "INSERT OR UPDATE OR DELETE",
    "journeys_moment": "INSERT OR UPDATE OR DELETE",
    # Not last_login, which moves at every sign-in.
    "auth_user": "INSERT OR UPDATE OF username, first_name, last_name OR DELETE",
}


def _squad_function(table: str) -> str:
    queries, extra = BY_SQUAD[table]

    def union(rows: str) -> str:
        return " UNION ".join(q.format(rows=rows) for q in queries)

    extra_sql = "ARRAY[" + ", ".join(f"'{s}'" for s in extra) + "]::text[]"
    return f"""
CREATE OR REPLACE FUNCTION planning_touch_{table}() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    squads bigint[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT array_agg(s) INTO squads FROM ({union("new_rows")}) AS q(s);
    ELSIF TG_OP = 'DELETE' THEN
        SELECT array_agg(s) INTO squads FROM ({union("old_rows")}) AS q(s);
    ELSE
        SELECT array_agg(s) INTO squads
        FROM ({union("new_rows")} UNION {union("old_rows")}) AS q(s);
    END IF;
    PERFORM planning_touch(
        {extra_sql} || ARRAY(SELECT 'squad:' || x FROM unnest(squads) AS x WHERE x IS NOT NULL)
    );
    RETURN NULL;
END
$$;
"""


def _squad_triggers(table: str) -> list[str]:
    name = f"planning_touch_{table}"
    return [
        f"CREATE TRIGGER {name}_ins AFTER INSERT ON {table} REFERENCING NEW TABLE AS new_rows"
        f" FOR EACH STATEMENT EXECUTE FUNCTION {name}()",
        f"CREATE TRIGGER {name}_upd AFTER UPDATE ON {table}"
        f" REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows"
        f" FOR EACH STATEMENT EXECUTE FUNCTION {name}()",
        f"CREATE TRIGGER {name}_del AFTER DELETE ON {table} REFERENCING OLD TABLE AS old_rows"
        f" FOR EACH STATEMENT EXECUTE FUNCTION {name}()",
        # Emptied outright (a test flush, a restore): every page of every squad.
        f"CREATE TRIGGER {name}_trunc AFTER TRUNCATE ON {table}"
        f" FOR EACH STATEMENT EXECUTE FUNCTION planning_touch_everything()",
    ]


EVERYTHING = """
CREATE OR REPLACE FUNCTION planning_touch_everything() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- Scopes no longer in the table read as 0: delete them all and move `directory`,
    -- which every cached page's key holds, so no rendering cached before can match again.
    DELETE FROM planning_pagerevision;
    PERFORM planning_touch(ARRAY['board', 'directory']);
    RETURN NULL;
END
$$;
"""

DIRECTORY_FUNCTION = """
CREATE OR REPLACE FUNCTION planning_touch_directory() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM planning_touch(ARRAY['directory']);
    RETURN NULL;
END
$$;
"""


def _directory_triggers(table: str, events: str) -> list[str]:
    return [
        f"CREATE TRIGGER planning_touch_{table} AFTER {events} ON {table}"
        f" FOR EACH STATEMENT EXECUTE FUNCTION planning_touch_directory()",
        f"CREATE TRIGGER planning_touch_{table}_trunc AFTER TRUNCATE ON {table}"
        f" FOR EACH STATEMENT EXECUTE FUNCTION planning_touch_everything()",
    ]


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    statements = [
        f"CREATE SEQUENCE IF NOT EXISTS {SEQUENCE}",
        TOUCH,
        EVERYTHING,
        DIRECTORY_FUNCTION,
    ]
    for table in BY_SQUAD:
        statements += [_squad_function(table), *_squad_triggers(table)]
    for table, events in DIRECTORY.items():
        statements += _directory_triggers(table, events)
    for sql in statements:
        schema_editor.execute(sql)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in BY_SQUAD:
        schema_editor.execute(f"DROP FUNCTION IF EXISTS planning_touch_{table}() CASCADE")
    for table in DIRECTORY:
        for suffix in ("", "_trunc"):
            schema_editor.execute(
                f"DROP TRIGGER IF EXISTS planning_touch_{table}{suffix} ON {table}"
            )
    for function in ("planning_touch_directory()", "planning_touch_everything()"):
        schema_editor.execute(f"DROP FUNCTION IF EXISTS {function} CASCADE")
    schema_editor.execute("DROP FUNCTION IF EXISTS planning_touch(text[])")
    schema_editor.execute(f"DROP SEQUENCE IF EXISTS {SEQUENCE}")


class Migration(migrations.Migration):
    dependencies = [
        ("planning", "0009_plan_approval"),
        ("squads", "0003_cowriting"),
        ("dependencies", "0003_dependency_version_history"),
        ("journeys", "0002_cowriting"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [
        migrations.CreateModel(
            name="PageRevision",
            fields=[
                ("scope", models.CharField(max_length=40, primary_key=True, serialize=False)),
                ("value", models.BigIntegerField()),
            ],
            options={"ordering": ["scope"]},
        ),
        migrations.RunPython(forwards, backwards, elidable=False),
    ]
