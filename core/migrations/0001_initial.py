import django.core.validators
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        # The tables were made by the planning app's migrations up to here.
        ("planning", "0012_review_run_lease"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    state_operations = [
        migrations.CreateModel(
            name="PageRevision",
            fields=[
                ("scope", models.CharField(max_length=40, primary_key=True, serialize=False)),
                ("value", models.BigIntegerField()),
            ],
            options={
                "db_table": "planning_pagerevision",
                "ordering": ["scope"],
            },
        ),
        migrations.CreateModel(
            name="Cycle",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "key",
                    models.CharField(
                        help_text="Letters, digits, dots, dashes and underscores; no spaces or slashes.",
                        max_length=80,
                        unique=True,
                        validators=[
                            django.core.validators.RegexValidator(
                                "^[A-Za-z0-9][A-Za-z0-9_.-]*$",
                                "Use letters, digits, dots, dashes and underscores only.",
                            )
                        ],
                    ),
                ),
                ("name", models.CharField(max_length=200)),
                ("starts", models.DateField()),
                ("ends", models.DateField()),
                (
                    "restrict_drafts",
                    models.BooleanField(
                        default=False,
                        help_text="A plan its DRI has not approved is read only by its squad's members, leadership and operations.",
                    ),
                ),
            ],
            options={
                "db_table": "planning_cycle",
                "ordering": ["id"],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("key__regex", "^[A-Za-z0-9][A-Za-z0-9_.-]*$")),
                        name="cycle_key_shape",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("starts__lte", models.F("ends"))),
                        name="cycle_starts_before_ends",
                    ),
                ],
            },
        ),
        migrations.CreateModel(
            name="Profile",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("display_name", models.CharField(max_length=200)),
                ("title", models.CharField(blank=True, max_length=200)),
                ("function", models.CharField(blank=True, max_length=100)),
                (
                    "user",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="profile",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "db_table": "planning_profile",
                "ordering": ["user_id"],
            },
        ),
        migrations.CreateModel(
            name="Capacity",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("function", models.CharField(max_length=100)),
                ("headcount", models.DecimalField(decimal_places=2, max_digits=8)),
                (
                    "cycle",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="capacities",
                        to="core.cycle",
                    ),
                ),
            ],
            options={
                "verbose_name_plural": "capacities",
                "db_table": "planning_capacity",
                "ordering": ["id"],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("cycle", "function"), name="capacity_once_per_function"
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("headcount__gte", 0)), name="capacity_not_negative"
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("function", ""), _negated=True),
                        name="capacity_has_function",
                    ),
                ],
            },
        ),
    ]

    # The models move between apps with their tables (db_table is kept): only Django's
    # record of which app holds them changes, and the database is left as it is.
    operations = [migrations.SeparateDatabaseAndState(state_operations=state_operations)]
