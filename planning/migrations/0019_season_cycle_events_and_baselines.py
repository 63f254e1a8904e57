"""The planning season: a cycle's history of moves, and the baseline kept when it is
committed. The board and the squads' plan pages show drift from the baseline, so a change to
its tables moves `directory` (the page revisions of migration 0010, core/pagecache.py)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

# Shown on cached pages (drift since commit): any change moves `directory`.
DIRECTORY = {
    "planning_cyclebaseline": "INSERT OR UPDATE OR DELETE",
    "planning_baselineinitiative": "INSERT OR UPDATE OR DELETE",
    "planning_baselinedependency": "INSERT OR UPDATE OR DELETE",
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
        ("core", "0003_season_cycle_state"),
        ("planning", "0018_finding_event_worse"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="CycleBaseline",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("taken_at", models.DateTimeField()),
                (
                    "cycle",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="baselines",
                        to="core.cycle",
                    ),
                ),
                (
                    "taken_by",
                    models.ForeignKey(
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "ordering": ["cycle_id", "taken_at", "id"],
            },
        ),
        migrations.CreateModel(
            name="BaselineInitiative",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("squad_key", models.CharField(max_length=80)),
                ("squad_name", models.CharField(max_length=200)),
                ("key", models.CharField(max_length=80)),
                ("title", models.CharField(max_length=300)),
                ("function", models.CharField(max_length=100)),
                ("starts", models.DateField()),
                ("ends", models.DateField()),
                ("status", models.CharField(max_length=12)),
                ("headcount", models.DecimalField(decimal_places=2, max_digits=8)),
                (
                    "baseline",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="initiatives",
                        to="planning.cyclebaseline",
                    ),
                ),
            ],
            options={
                "ordering": ["baseline_id", "id"],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("baseline", "squad_key", "key"), name="baseline_initiative_once"
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="BaselineDependency",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("key", models.CharField(max_length=80)),
                ("what", models.TextField()),
                ("needer", models.CharField(help_text="The needing squad's key.", max_length=80)),
                (
                    "from_ref",
                    models.CharField(
                        help_text="The needing squad, or squad/initiative.", max_length=170
                    ),
                ),
                (
                    "to_ref",
                    models.CharField(
                        blank=True,
                        help_text="The providing squad or squad/initiative.",
                        max_length=170,
                    ),
                ),
                ("to_function", models.CharField(blank=True, max_length=100)),
                ("due", models.DateField()),
                ("status", models.CharField(max_length=10)),
                ("blocking", models.BooleanField(default=False)),
                (
                    "baseline",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="dependencies",
                        to="planning.cyclebaseline",
                    ),
                ),
            ],
            options={
                "verbose_name_plural": "baseline dependencies",
                "ordering": ["baseline_id", "id"],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("baseline", "key"), name="baseline_dependency_once"
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="CycleEvent",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "action",
                    models.CharField(
                        choices=[
                            ("opened", "Opened"),
                            ("moved", "Moved"),
                            ("carried", "Opened with work carried forward"),
                        ],
                        max_length=10,
                    ),
                ),
                ("from_state", models.CharField(blank=True, max_length=12)),
                ("to_state", models.CharField(max_length=12)),
                ("at", models.DateTimeField()),
                ("reason", models.TextField(blank=True)),
                ("overridden", models.PositiveIntegerField(default=0)),
                ("details", models.JSONField(blank=True, default=dict)),
                (
                    "by",
                    models.ForeignKey(
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "cycle",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="events",
                        to="core.cycle",
                    ),
                ),
                (
                    "source",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="core.cycle",
                    ),
                ),
            ],
            options={
                "ordering": ["cycle_id", "at", "id"],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("action__in", ["opened", "moved", "carried"])),
                        name="cycle_event_action_valid",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            ("overridden", 0),
                            models.Q(("reason", ""), _negated=True),
                            _connector="OR",
                        ),
                        name="cycle_event_override_has_reason",
                    ),
                ],
            },
        ),
        migrations.RunPython(triggers, no_triggers),
    ]
