"""Search index for journey stages.

PostgreSQL only: GIN expression indexes over the weighted tsvector the search page matches
against (core.search.SearchFields.vector(), the model's SEARCHED), written out here so this
migration stays as it is when the code moves on; tests/test_search.py checks each index
still answers its search. On SQLite (the embedded default) there is nothing to make: the
search falls back to icontains there. docs/search.md says why expression indexes.
"""

from django.db import migrations

# (index, table, [(column, weight), ...]), in the order the model's SEARCHED names them.
INDEXES = [
    (
        "stage_search",
        "journeys_stage",
        [("name", "A"), ("customer_goal", "B"), ("today", "B"), ("tomorrow", "B")],
    ),
]


def _vector(columns):
    return " || ".join(
        f"setweight(to_tsvector('english'::regconfig, COALESCE({column}, '')), '{weight}')"
        for column, weight in columns
    )


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, table, columns in INDEXES:
        schema_editor.execute(f"CREATE INDEX {name} ON {table} USING gin (({_vector(columns)}))")


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _table, _columns in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("journeys", "0002_cowriting")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
