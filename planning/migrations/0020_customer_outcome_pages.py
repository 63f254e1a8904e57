"""Customer outcomes are shown on cached pages (the journey map, the segments' milestone maps,
the goals' alignment, a squad's page): a change to their tables moves `directory` (the page
revisions of migration 0010, core/pagecache.py)."""

from django.db import migrations

DIRECTORY = {
    "journeys_milestone": "INSERT OR UPDATE OR DELETE",
    "journeys_milestonereading": "INSERT OR UPDATE OR DELETE",
    "journeys_touchpoint": "INSERT OR UPDATE OR DELETE",
    "squads_goal": "INSERT OR UPDATE OR DELETE",
    "squads_objectivegoal": "INSERT OR UPDATE OR DELETE",
    "squads_initiativemilestone": "INSERT OR UPDATE OR DELETE",
}


def triggers(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table, events in DIRECTORY.items():
        schema_editor.execute(
            f"CREATE TRIGGER planning_touch_{table} AFTER {events} ON {table}"
            " FOR EACH STATEMENT EXECUTE FUNCTION planning_touch_directory()"
        )
        schema_editor.execute(
            f"CREATE TRIGGER planning_touch_{table}_trunc AFTER TRUNCATE ON {table}"
            " FOR EACH STATEMENT EXECUTE FUNCTION planning_touch_everything()"
        )


def no_triggers(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in DIRECTORY:
        for suffix in ("", "_trunc"):
            schema_editor.execute(
                f"DROP TRIGGER IF EXISTS planning_touch_{table}{suffix} ON {table}"
            )


class Migration(migrations.Migration):
    dependencies = [
        ("planning", "0019_season_cycle_events_and_baselines"),
        ("journeys", "0005_customer_outcomes"),
        ("squads", "0008_customer_outcomes"),
    ]

    operations = [migrations.RunPython(triggers, no_triggers)]
