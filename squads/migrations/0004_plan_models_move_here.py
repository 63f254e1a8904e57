from decimal import Decimal

import django.core.validators
import django.db.models.deletion
import simple_history.models
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0001_initial"),
        ("journeys", "0002_cowriting"),
        ("squads", "0003_cowriting"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    state_operations = [
        migrations.CreateModel(
            name="PlanStamp",
            fields=[
                (
                    "squad",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="plan_stamp",
                        serialize=False,
                        to="squads.squad",
                    ),
                ),
                ("revision", models.PositiveBigIntegerField(default=0)),
                ("presence_revision", models.PositiveBigIntegerField(default=0)),
                ("presence_until", models.DateTimeField(blank=True, null=True)),
            ],
            options={
                "db_table": "planning_planstamp",
                "ordering": ["squad_id"],
            },
        ),
        migrations.AlterField(
            model_name="okr",
            name="cycle",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE, related_name="okrs", to="core.cycle"
            ),
        ),
        migrations.AlterField(
            model_name="squad",
            name="cycle",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT, related_name="squads", to="core.cycle"
            ),
        ),
        migrations.CreateModel(
            name="HistoricalInitiative",
            fields=[
                (
                    "id",
                    models.BigIntegerField(
                        auto_created=True, blank=True, db_index=True, verbose_name="ID"
                    ),
                ),
                (
                    "key",
                    models.CharField(
                        help_text="Letters, digits, dots, dashes and underscores; no spaces or slashes.",
                        max_length=80,
                        validators=[
                            django.core.validators.RegexValidator(
                                "^[A-Za-z0-9][A-Za-z0-9_.-]*$",
                                "Use letters, digits, dots, dashes and underscores only.",
                            )
                        ],
                    ),
                ),
                ("title", models.CharField(max_length=300)),
                ("description", models.TextField(blank=True)),
                (
                    "function",
                    models.CharField(help_text="The function that builds it.", max_length=100),
                ),
                ("starts", models.DateField()),
                ("ends", models.DateField()),
                (
                    "headcount",
                    models.DecimalField(
                        decimal_places=2,
                        default=Decimal("0"),
                        help_text="Full-time people.",
                        max_digits=8,
                    ),
                ),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("proposed", "Proposed"),
                            ("planned", "Planned"),
                            ("in_progress", "In progress"),
                            ("done", "Done"),
                            ("dropped", "Dropped"),
                        ],
                        default="proposed",
                        max_length=12,
                    ),
                ),
                ("impact_team", models.SmallIntegerField(blank=True, null=True)),
                ("impact_business", models.SmallIntegerField(blank=True, null=True)),
                ("impact_customer", models.SmallIntegerField(blank=True, null=True)),
                (
                    "counter_measure",
                    models.TextField(
                        blank=True,
                        help_text="What to watch on the other sides when a plan leans to one.",
                    ),
                ),
                (
                    "version",
                    models.PositiveIntegerField(
                        default=1, help_text="Goes up by one with each save."
                    ),
                ),
                ("created_at", models.DateTimeField(blank=True, editable=False)),
                ("updated_at", models.DateTimeField(blank=True, editable=False)),
                ("history_id", models.AutoField(primary_key=True, serialize=False)),
                ("history_date", models.DateTimeField(db_index=True)),
                ("history_change_reason", models.CharField(max_length=100, null=True)),
                (
                    "history_type",
                    models.CharField(
                        choices=[("+", "Created"), ("~", "Changed"), ("-", "Deleted")], max_length=1
                    ),
                ),
                (
                    "history_user",
                    models.ForeignKey(
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "segment",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="journeys.segment",
                    ),
                ),
                (
                    "squad",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="squads.squad",
                    ),
                ),
                (
                    "stage",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="journeys.stage",
                    ),
                ),
            ],
            options={
                "verbose_name": "historical initiative",
                "verbose_name_plural": "historical initiatives",
                "db_table": "planning_historicalinitiative",
                "ordering": ("-history_date", "-history_id"),
                "get_latest_by": ("history_date", "history_id"),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.CreateModel(
            name="HistoricalPlan",
            fields=[
                (
                    "id",
                    models.BigIntegerField(
                        auto_created=True, blank=True, db_index=True, verbose_name="ID"
                    ),
                ),
                (
                    "current_experience",
                    models.TextField(blank=True, help_text="The customer's pain today."),
                ),
                (
                    "desired_experience",
                    models.TextField(
                        blank=True, help_text="What the customer experiences tomorrow, by moment."
                    ),
                ),
                ("success_metrics", models.TextField(blank=True)),
                (
                    "not_doing",
                    models.JSONField(
                        blank=True,
                        default=list,
                        help_text="Initiatives the squad says no to, one per entry.",
                    ),
                ),
                ("current_experience_version", models.PositiveIntegerField(default=1)),
                ("desired_experience_version", models.PositiveIntegerField(default=1)),
                ("success_metrics_version", models.PositiveIntegerField(default=1)),
                ("not_doing_version", models.PositiveIntegerField(default=1)),
                ("updated_at", models.DateTimeField(blank=True, editable=False)),
                ("approved_at", models.DateTimeField(blank=True, null=True)),
                ("history_id", models.AutoField(primary_key=True, serialize=False)),
                ("history_date", models.DateTimeField(db_index=True)),
                ("history_change_reason", models.CharField(max_length=100, null=True)),
                (
                    "history_type",
                    models.CharField(
                        choices=[("+", "Created"), ("~", "Changed"), ("-", "Deleted")], max_length=1
                    ),
                ),
                (
                    "approved_by",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "history_user",
                    models.ForeignKey(
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "squad",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="squads.squad",
                    ),
                ),
            ],
            options={
                "verbose_name": "historical plan",
                "verbose_name_plural": "historical plans",
                "db_table": "planning_historicalplan",
                "ordering": ("-history_date", "-history_id"),
                "get_latest_by": ("history_date", "history_id"),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.CreateModel(
            name="Initiative",
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
                        validators=[
                            django.core.validators.RegexValidator(
                                "^[A-Za-z0-9][A-Za-z0-9_.-]*$",
                                "Use letters, digits, dots, dashes and underscores only.",
                            )
                        ],
                    ),
                ),
                ("title", models.CharField(max_length=300)),
                ("description", models.TextField(blank=True)),
                (
                    "function",
                    models.CharField(help_text="The function that builds it.", max_length=100),
                ),
                ("starts", models.DateField()),
                ("ends", models.DateField()),
                (
                    "headcount",
                    models.DecimalField(
                        decimal_places=2,
                        default=Decimal("0"),
                        help_text="Full-time people.",
                        max_digits=8,
                    ),
                ),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("proposed", "Proposed"),
                            ("planned", "Planned"),
                            ("in_progress", "In progress"),
                            ("done", "Done"),
                            ("dropped", "Dropped"),
                        ],
                        default="proposed",
                        max_length=12,
                    ),
                ),
                ("impact_team", models.SmallIntegerField(blank=True, null=True)),
                ("impact_business", models.SmallIntegerField(blank=True, null=True)),
                ("impact_customer", models.SmallIntegerField(blank=True, null=True)),
                (
                    "counter_measure",
                    models.TextField(
                        blank=True,
                        help_text="What to watch on the other sides when a plan leans to one.",
                    ),
                ),
                (
                    "version",
                    models.PositiveIntegerField(
                        default=1, help_text="Goes up by one with each save."
                    ),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                (
                    "segment",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="initiatives",
                        to="journeys.segment",
                    ),
                ),
                (
                    "squad",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="initiatives",
                        to="squads.squad",
                    ),
                ),
                (
                    "stage",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="initiatives",
                        to="journeys.stage",
                    ),
                ),
            ],
            options={
                "db_table": "planning_initiative",
                "ordering": ["squad_id", "id"],
            },
        ),
        migrations.CreateModel(
            name="Comment",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "section",
                    models.CharField(
                        blank=True,
                        help_text="The plan section, or blank for an initiative.",
                        max_length=30,
                    ),
                ),
                ("body", models.TextField()),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                (
                    "author",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "squad",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="comments",
                        to="squads.squad",
                    ),
                ),
                (
                    "initiative",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="comments",
                        to="squads.initiative",
                    ),
                ),
            ],
            options={
                "db_table": "planning_comment",
                "ordering": ["created_at", "id"],
            },
        ),
        migrations.CreateModel(
            name="Plan",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "current_experience",
                    models.TextField(blank=True, help_text="The customer's pain today."),
                ),
                (
                    "desired_experience",
                    models.TextField(
                        blank=True, help_text="What the customer experiences tomorrow, by moment."
                    ),
                ),
                ("success_metrics", models.TextField(blank=True)),
                (
                    "not_doing",
                    models.JSONField(
                        blank=True,
                        default=list,
                        help_text="Initiatives the squad says no to, one per entry.",
                    ),
                ),
                ("current_experience_version", models.PositiveIntegerField(default=1)),
                ("desired_experience_version", models.PositiveIntegerField(default=1)),
                ("success_metrics_version", models.PositiveIntegerField(default=1)),
                ("not_doing_version", models.PositiveIntegerField(default=1)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                ("approved_at", models.DateTimeField(blank=True, null=True)),
                (
                    "approved_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "squad",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="plan",
                        to="squads.squad",
                    ),
                ),
            ],
            options={
                "db_table": "planning_plan",
                "ordering": ["squad_id"],
            },
        ),
        migrations.CreateModel(
            name="Presence",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "part",
                    models.CharField(help_text="The part's id on the plan page.", max_length=120),
                ),
                (
                    "label",
                    models.CharField(
                        help_text="The part's name, as people read it.", max_length=300
                    ),
                ),
                ("expires_at", models.DateTimeField()),
                (
                    "person",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "squad",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="squads.squad",
                    ),
                ),
            ],
            options={
                "db_table": "planning_presence",
                "ordering": ["squad_id", "id"],
            },
        ),
        migrations.AddIndex(
            model_name="initiative",
            index=models.Index(
                fields=["function", "status"], name="planning_in_functio_903177_idx"
            ),
        ),
        migrations.AddConstraint(
            model_name="initiative",
            constraint=models.UniqueConstraint(
                fields=("squad", "key"), name="initiative_key_unique_in_squad"
            ),
        ),
        migrations.AddConstraint(
            model_name="initiative",
            constraint=models.CheckConstraint(
                condition=models.Q(("key__regex", "^[A-Za-z0-9][A-Za-z0-9_.-]*$")),
                name="initiative_key_shape",
            ),
        ),
        migrations.AddConstraint(
            model_name="initiative",
            constraint=models.CheckConstraint(
                condition=models.Q(("starts__lte", models.F("ends"))),
                name="initiative_starts_before_ends",
            ),
        ),
        migrations.AddConstraint(
            model_name="initiative",
            constraint=models.CheckConstraint(
                condition=models.Q(("headcount__gte", 0)), name="initiative_headcount_not_negative"
            ),
        ),
        migrations.AddConstraint(
            model_name="initiative",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("status__in", ["proposed", "planned", "in_progress", "done", "dropped"])
                ),
                name="initiative_status_valid",
            ),
        ),
        migrations.AddConstraint(
            model_name="initiative",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(
                        ("impact_business__isnull", True),
                        ("impact_customer__isnull", True),
                        ("impact_team__isnull", True),
                    ),
                    models.Q(
                        ("impact_business__gte", -2),
                        ("impact_business__isnull", False),
                        ("impact_business__lte", 2),
                        ("impact_customer__gte", -2),
                        ("impact_customer__isnull", False),
                        ("impact_customer__lte", 2),
                        ("impact_team__gte", -2),
                        ("impact_team__isnull", False),
                        ("impact_team__lte", 2),
                    ),
                    _connector="OR",
                ),
                name="initiative_impact_complete_and_in_range",
            ),
        ),
        migrations.AddConstraint(
            model_name="initiative",
            constraint=models.CheckConstraint(
                condition=models.Q(("function", ""), _negated=True), name="initiative_has_function"
            ),
        ),
        migrations.AddIndex(
            model_name="comment",
            index=models.Index(fields=["squad", "section"], name="planning_co_squad_i_8aa50b_idx"),
        ),
        migrations.AddConstraint(
            model_name="comment",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(
                        ("initiative__isnull", True), models.Q(("section", ""), _negated=True)
                    ),
                    models.Q(("initiative__isnull", False), ("section", "")),
                    _connector="OR",
                ),
                name="comment_on_a_section_or_an_initiative",
            ),
        ),
        migrations.AddConstraint(
            model_name="comment",
            constraint=models.CheckConstraint(
                condition=models.Q(("body", ""), _negated=True), name="comment_has_a_body"
            ),
        ),
        migrations.AddConstraint(
            model_name="presence",
            constraint=models.UniqueConstraint(
                fields=("squad", "person"), name="presence_once_per_person"
            ),
        ),
    ]

    # The models move between apps with their tables (db_table is kept): only Django's
    # record of which app holds them changes, and the database is left as it is.
    operations = [migrations.SeparateDatabaseAndState(state_operations=state_operations)]
