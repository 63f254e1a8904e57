"""The findings list reads its page of 50 from an index in its own order, and counts by
severity (filtered by kind or not) from an index alone; on PostgreSQL the squad filter
finds its findings by an index on their subjects (docs/performance.md)."""

from django.db import migrations, models

# The squad filter (`subjects @> '["squad:s4"]'`, FindingQuerySet.concerning_squad): JSON
# containment is PostgreSQL's, and so is this index; elsewhere the filter reads the rows.
SUBJECTS_INDEX = (
    "CREATE INDEX IF NOT EXISTS finding_subjects ON planning_finding "
    "USING gin (subjects jsonb_path_ops)"
)


def subjects_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(SUBJECTS_INDEX)


def subjects_index_drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS finding_subjects")


class Migration(migrations.Migration):
    dependencies = [
        ("planning", "0020_customer_outcome_pages"),
    ]

    operations = [
        # The new counting index before the old one goes: no moment without either.
        migrations.AddIndex(
            model_name="finding",
            index=models.Index(
                fields=["cycle", "state", "severity", "kind"], name="finding_counts"
            ),
        ),
        migrations.RemoveIndex(
            model_name="finding",
            name="planning_fi_cycle_i_665369_idx",
        ),
        migrations.AddIndex(
            model_name="finding",
            index=models.Index(
                models.F("cycle_id"),
                models.Case(
                    models.When(severity="high", then=models.Value(0)),
                    models.When(severity="medium", then=models.Value(1)),
                    default=models.Value(2),
                    output_field=models.IntegerField(),
                ),
                models.F("kind"),
                models.OrderBy(models.F("last_seen"), descending=True),
                models.F("id"),
                condition=models.Q(("state__in", ["open", "acknowledged"])),
                name="finding_live_order",
            ),
        ),
        migrations.RunPython(subjects_index, subjects_index_drop, elidable=False),
    ]
