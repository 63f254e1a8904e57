"""The needing and providing squad stored on each dependency, with the indexes the board's
filters use, kept right by the database on every write however it is made (a form, the API,
an import, a bulk update(), the admin, SQL by hand) and when an initiative moves to another
squad: row triggers on PostgreSQL and on SQLite alike, so both give the same answers.
"""

import django.db.models.deletion
from django.db import migrations, models

# What each column holds: the squad named, else the squad of the initiative named.
NEEDER = (
    "COALESCE({row}from_squad_id,"
    " (SELECT i.squad_id FROM planning_initiative i WHERE i.id = {row}from_initiative_id))"
)
PROVIDER = (
    "COALESCE({row}to_squad_id,"
    " (SELECT i.squad_id FROM planning_initiative i WHERE i.id = {row}to_initiative_id))"
)
# A write to any of these (Django's save() writes them all) sets both columns again.
PARTY_COLUMNS = (
    "from_squad_id, from_initiative_id, to_squad_id, to_initiative_id, needer_id, provider_id"
)

BACKFILL = (
    f"UPDATE dependencies_dependency"
    f" SET needer_id = {NEEDER.format(row='dependencies_dependency.')},"
    f" provider_id = {PROVIDER.format(row='dependencies_dependency.')}"
)

POSTGRESQL = [
    f"""
CREATE OR REPLACE FUNCTION dependencies_parties() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.needer_id := {NEEDER.format(row="NEW.")};
    NEW.provider_id := {PROVIDER.format(row="NEW.")};
    RETURN NEW;
END
$$;
""",
    "CREATE TRIGGER dependencies_parties_ins BEFORE INSERT ON dependencies_dependency"
    " FOR EACH ROW EXECUTE FUNCTION dependencies_parties()",
    f"CREATE TRIGGER dependencies_parties_upd BEFORE UPDATE OF {PARTY_COLUMNS}"
    " ON dependencies_dependency FOR EACH ROW EXECUTE FUNCTION dependencies_parties()",
    # One call per statement: moving 1,000 initiatives is two UPDATEs of their dependencies.
    """
CREATE OR REPLACE FUNCTION dependencies_initiative_moved() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE dependencies_dependency d SET needer_id = n.squad_id
    FROM new_rows n JOIN old_rows o ON o.id = n.id
    WHERE d.from_initiative_id = n.id AND n.squad_id IS DISTINCT FROM o.squad_id;
    UPDATE dependencies_dependency d SET provider_id = n.squad_id
    FROM new_rows n JOIN old_rows o ON o.id = n.id
    WHERE d.to_initiative_id = n.id AND n.squad_id IS DISTINCT FROM o.squad_id;
    RETURN NULL;
END
$$;
""",
    # PostgreSQL allows no column list beside transition tables: the function compares.
    "CREATE TRIGGER dependencies_initiative_moved AFTER UPDATE ON planning_initiative"
    " REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows"
    " FOR EACH STATEMENT EXECUTE FUNCTION dependencies_initiative_moved()",
]
POSTGRESQL_DROP = [
    "DROP TRIGGER IF EXISTS dependencies_initiative_moved ON planning_initiative",
    "DROP FUNCTION IF EXISTS dependencies_initiative_moved()",
    "DROP TRIGGER IF EXISTS dependencies_parties_ins ON dependencies_dependency",
    "DROP TRIGGER IF EXISTS dependencies_parties_upd ON dependencies_dependency",
    "DROP FUNCTION IF EXISTS dependencies_parties()",
]

# SQLite's triggers cannot change the row being written: they update it after. Its
# recursive triggers are off, so the update does not call its own trigger again.
_SQLITE_SET = (
    f"UPDATE dependencies_dependency SET needer_id = {NEEDER.format(row='NEW.')},"
    f" provider_id = {PROVIDER.format(row='NEW.')} WHERE id = NEW.id;"
)
SQLITE = [
    "CREATE TRIGGER dependencies_parties_ins AFTER INSERT ON dependencies_dependency"
    f" BEGIN {_SQLITE_SET} END",
    f"CREATE TRIGGER dependencies_parties_upd AFTER UPDATE OF {PARTY_COLUMNS}"
    f" ON dependencies_dependency BEGIN {_SQLITE_SET} END",
    "CREATE TRIGGER dependencies_initiative_moved AFTER UPDATE OF squad_id"
    " ON planning_initiative WHEN NEW.squad_id IS NOT OLD.squad_id BEGIN"
    " UPDATE dependencies_dependency SET needer_id = NEW.squad_id"
    " WHERE from_initiative_id = NEW.id;"
    " UPDATE dependencies_dependency SET provider_id = NEW.squad_id"
    " WHERE to_initiative_id = NEW.id;"
    " END",
]
SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS dependencies_initiative_moved",
    "DROP TRIGGER IF EXISTS dependencies_parties_ins",
    "DROP TRIGGER IF EXISTS dependencies_parties_upd",
]


def forwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    schema_editor.execute(BACKFILL)
    for sql in {"postgresql": POSTGRESQL, "sqlite": SQLITE}.get(vendor, []):
        schema_editor.execute(sql)


def backwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for sql in {"postgresql": POSTGRESQL_DROP, "sqlite": SQLITE_DROP}.get(vendor, []):
        schema_editor.execute(sql)


def _squad_field(help_text: str) -> models.ForeignKey:
    return models.ForeignKey(
        blank=True,
        db_constraint=False,
        db_index=False,
        editable=False,
        help_text=help_text,
        null=True,
        on_delete=django.db.models.deletion.DO_NOTHING,
        related_name="+",
        to="squads.squad",
    )


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0006_goal_removal"),
        ("dependencies", "0006_archive_dependencies"),
        ("squads", "0008_customer_outcomes"),
    ]

    operations = [
        migrations.AddField(
            model_name="dependency",
            name="needer",
            field=_squad_field("The needing squad, kept by the database."),
        ),
        migrations.AddField(
            model_name="dependency",
            name="provider",
            field=_squad_field("The providing squad (none for a function), kept by the database."),
        ),
        migrations.RunPython(forwards, backwards, elidable=False),
        migrations.AddIndex(
            model_name="dependency",
            index=models.Index(
                fields=["provider", "status", "due"], name="dependency_provider_status"
            ),
        ),
        migrations.AddIndex(
            model_name="dependency",
            index=models.Index(fields=["needer", "status", "due"], name="dependency_needer_status"),
        ),
        migrations.AddIndex(
            model_name="dependency",
            index=models.Index(
                condition=models.Q(
                    ("removal__isnull", True), models.Q(("to_function", ""), _negated=True)
                ),
                fields=["to_function", "needer"],
                name="dependency_function",
            ),
        ),
    ]
