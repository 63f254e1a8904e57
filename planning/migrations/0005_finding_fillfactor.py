from django.db import migrations


def leave_room_on_each_page(apps, schema_editor):
    # Every review rewrites last_seen on each live finding. With free space on the page,
    # PostgreSQL updates such rows in place (HOT: no new index entries), which halves the
    # cost of storing a large cycle's review. Other databases have no such setting.
    if schema_editor.connection.vendor == "postgresql":
        table = schema_editor.quote_name(apps.get_model("planning", "Finding")._meta.db_table)
        schema_editor.execute(f"ALTER TABLE {table} SET (fillfactor = 70)")


def back_to_the_default(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        table = schema_editor.quote_name(apps.get_model("planning", "Finding")._meta.db_table)
        schema_editor.execute(f"ALTER TABLE {table} RESET (fillfactor)")


class Migration(migrations.Migration):
    dependencies = [("planning", "0004_review_lifecycle_and_notifications")]

    operations = [migrations.RunPython(leave_room_on_each_page, back_to_the_default)]
