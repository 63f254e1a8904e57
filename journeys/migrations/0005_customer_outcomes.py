"""Customer outcomes: a segment's success outcome and time-to-value milestones with their
readings, value states on stages and moments, expansion stages, moments' keys and the
touchpoints at each moment. Existing moments get a key made from their "when"."""

import django.core.validators
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def moment_keys(apps, schema_editor):
    from journeys.models import moment_key

    Moment = apps.get_model("journeys", "Moment")
    taken: dict[int, set[str]] = {}
    for moment in Moment.objects.order_by("stage_id", "offset_days", "position", "id"):
        keys = taken.setdefault(moment.stage_id, set())
        moment.key = moment_key(moment.when, keys)
        keys.add(moment.key)
        moment.save(update_fields=["key"])


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0005_archive_removal"),
        ("journeys", "0004_archive_journeys_stages"),
        ("squads", "0007_archive_squads_initiatives"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="Milestone",
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
                ("name", models.CharField(max_length=200)),
                ("description", models.TextField(blank=True)),
                ("position", models.PositiveIntegerField(default=0)),
                (
                    "expected_day",
                    models.PositiveIntegerField(
                        help_text="Days from the customer's start by which they should reach it."
                    ),
                ),
                ("success", models.BooleanField(default=False)),
            ],
            options={
                "ordering": ["segment_id", "expected_day", "position", "id"],
            },
        ),
        migrations.CreateModel(
            name="MilestoneReading",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("measured_on", models.DateField()),
                (
                    "actual_days",
                    models.DecimalField(
                        blank=True,
                        decimal_places=1,
                        help_text="Days customers actually took to reach the milestone (median).",
                        max_digits=8,
                        null=True,
                    ),
                ),
                (
                    "completion_rate",
                    models.DecimalField(
                        blank=True,
                        decimal_places=2,
                        help_text="Percent of the segment's customers who reached it by the expected day.",
                        max_digits=5,
                        null=True,
                    ),
                ),
                ("customers", models.PositiveIntegerField(blank=True, null=True)),
                ("note", models.TextField(blank=True)),
                (
                    "source",
                    models.CharField(
                        choices=[
                            ("check_in", "Check-in"),
                            ("api", "API"),
                            ("csv", "CSV upload"),
                            ("feed", "Scheduled pull"),
                        ],
                        default="check_in",
                        max_length=10,
                    ),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True)),
            ],
            options={
                "ordering": ["milestone_id", "-measured_on", "-id"],
            },
        ),
        migrations.CreateModel(
            name="Touchpoint",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("position", models.PositiveIntegerField(default=0)),
                (
                    "channel",
                    models.CharField(
                        choices=[
                            ("email", "Email"),
                            ("in_app", "In-app message"),
                            ("call", "Call"),
                            ("meeting", "Meeting"),
                            ("chat", "Chat"),
                            ("webinar", "Webinar"),
                            ("sms", "Text message"),
                            ("letter", "Letter"),
                            ("other", "Other"),
                        ],
                        max_length=10,
                    ),
                ),
                ("function", models.CharField(blank=True, max_length=100)),
                ("message", models.TextField(blank=True, help_text="What is said.")),
            ],
            options={
                "ordering": ["moment_id", "position", "id"],
            },
        ),
        migrations.AddField(
            model_name="historicalstage",
            name="expansion",
            field=models.BooleanField(default=False),
        ),
        migrations.AddField(
            model_name="historicalstage",
            name="value_target",
            field=models.SmallIntegerField(
                blank=True,
                choices=[
                    (0, "None"),
                    (1, "Promised"),
                    (2, "First value"),
                    (3, "Repeat value"),
                    (4, "Expanding"),
                ],
                null=True,
            ),
        ),
        migrations.AddField(
            model_name="historicalstage",
            name="value_today",
            field=models.SmallIntegerField(
                blank=True,
                choices=[
                    (0, "None"),
                    (1, "Promised"),
                    (2, "First value"),
                    (3, "Repeat value"),
                    (4, "Expanding"),
                ],
                null=True,
            ),
        ),
        migrations.AddField(
            model_name="moment",
            name="key",
            field=models.CharField(blank=True, max_length=80),
        ),
        migrations.AddField(
            model_name="moment",
            name="value_target",
            field=models.SmallIntegerField(
                blank=True,
                choices=[
                    (0, "None"),
                    (1, "Promised"),
                    (2, "First value"),
                    (3, "Repeat value"),
                    (4, "Expanding"),
                ],
                null=True,
            ),
        ),
        migrations.AddField(
            model_name="moment",
            name="value_today",
            field=models.SmallIntegerField(
                blank=True,
                choices=[
                    (0, "None"),
                    (1, "Promised"),
                    (2, "First value"),
                    (3, "Repeat value"),
                    (4, "Expanding"),
                ],
                null=True,
            ),
        ),
        migrations.AddField(
            model_name="segment",
            name="milestone_feed_url",
            field=models.URLField(blank=True, max_length=500),
        ),
        migrations.AddField(
            model_name="segment",
            name="success_metric",
            field=models.CharField(
                blank=True, help_text='What is measured, e.g. "of seats active".', max_length=200
            ),
        ),
        migrations.AddField(
            model_name="segment",
            name="success_owner",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="owned_segment_outcomes",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddField(
            model_name="segment",
            name="success_threshold",
            field=models.DecimalField(
                blank=True, decimal_places=2, help_text="e.g. 80", max_digits=12, null=True
            ),
        ),
        migrations.AddField(
            model_name="segment",
            name="success_unit",
            field=models.CharField(blank=True, help_text='e.g. "%"', max_length=20),
        ),
        migrations.AddField(
            model_name="segment",
            name="success_within_days",
            field=models.PositiveIntegerField(
                blank=True, help_text="Days from the customer's start.", null=True
            ),
        ),
        migrations.AddField(
            model_name="stage",
            name="expansion",
            field=models.BooleanField(default=False),
        ),
        migrations.AddField(
            model_name="stage",
            name="value_target",
            field=models.SmallIntegerField(
                blank=True,
                choices=[
                    (0, "None"),
                    (1, "Promised"),
                    (2, "First value"),
                    (3, "Repeat value"),
                    (4, "Expanding"),
                ],
                null=True,
            ),
        ),
        migrations.AddField(
            model_name="stage",
            name="value_today",
            field=models.SmallIntegerField(
                blank=True,
                choices=[
                    (0, "None"),
                    (1, "Promised"),
                    (2, "First value"),
                    (3, "Repeat value"),
                    (4, "Expanding"),
                ],
                null=True,
            ),
        ),
        migrations.AddConstraint(
            model_name="moment",
            constraint=models.UniqueConstraint(
                condition=models.Q(("key", ""), _negated=True),
                fields=("stage", "key"),
                name="moment_key_unique_in_stage",
            ),
        ),
        migrations.AddConstraint(
            model_name="moment",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("value_today__isnull", True),
                    models.Q(("value_today__gte", 0), ("value_today__lte", 4)),
                    _connector="OR",
                ),
                name="moment_value_today_range",
            ),
        ),
        migrations.AddConstraint(
            model_name="moment",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("value_target__isnull", True),
                    models.Q(("value_target__gte", 0), ("value_target__lte", 4)),
                    _connector="OR",
                ),
                name="moment_value_target_range",
            ),
        ),
        migrations.AddConstraint(
            model_name="segment",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("success_threshold__isnull", True),
                    ("success_threshold__gte", 0),
                    _connector="OR",
                ),
                name="segment_success_threshold_not_negative",
            ),
        ),
        migrations.AddConstraint(
            model_name="stage",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("value_today__isnull", True),
                    models.Q(("value_today__gte", 0), ("value_today__lte", 4)),
                    _connector="OR",
                ),
                name="stage_value_today_range",
            ),
        ),
        migrations.AddConstraint(
            model_name="stage",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("value_target__isnull", True),
                    models.Q(("value_target__gte", 0), ("value_target__lte", 4)),
                    _connector="OR",
                ),
                name="stage_value_target_range",
            ),
        ),
        migrations.AddField(
            model_name="milestone",
            name="moment",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="milestones",
                to="journeys.moment",
            ),
        ),
        migrations.AddField(
            model_name="milestone",
            name="segment",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="milestones",
                to="journeys.segment",
            ),
        ),
        migrations.AddField(
            model_name="milestonereading",
            name="author",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddField(
            model_name="milestonereading",
            name="milestone",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="readings",
                to="journeys.milestone",
            ),
        ),
        migrations.AddField(
            model_name="touchpoint",
            name="moment",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="touchpoints",
                to="journeys.moment",
            ),
        ),
        migrations.AddField(
            model_name="touchpoint",
            name="segment",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="touchpoints",
                to="journeys.segment",
            ),
        ),
        migrations.AddField(
            model_name="touchpoint",
            name="squad",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="touchpoints",
                to="squads.squad",
            ),
        ),
        migrations.AddConstraint(
            model_name="milestone",
            constraint=models.CheckConstraint(
                condition=models.Q(("key__regex", "^[A-Za-z0-9][A-Za-z0-9_.-]*$")),
                name="milestone_key_shape",
            ),
        ),
        migrations.AddConstraint(
            model_name="milestone",
            constraint=models.UniqueConstraint(
                fields=("segment", "key"), name="milestone_key_unique"
            ),
        ),
        migrations.AddConstraint(
            model_name="milestone",
            constraint=models.UniqueConstraint(
                condition=models.Q(("success", True)),
                fields=("segment",),
                name="one_success_milestone",
            ),
        ),
        migrations.AddConstraint(
            model_name="milestonereading",
            constraint=models.UniqueConstraint(
                fields=("milestone", "measured_on"), name="one_reading_a_day"
            ),
        ),
        migrations.AddConstraint(
            model_name="milestonereading",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("actual_days__isnull", False),
                    ("completion_rate__isnull", False),
                    _connector="OR",
                ),
                name="reading_says_something",
            ),
        ),
        migrations.AddConstraint(
            model_name="milestonereading",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("completion_rate__isnull", True),
                    models.Q(("completion_rate__gte", 0), ("completion_rate__lte", 100)),
                    _connector="OR",
                ),
                name="reading_completion_is_a_percent",
            ),
        ),
        migrations.AddConstraint(
            model_name="milestonereading",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("actual_days__isnull", True), ("actual_days__gte", 0), _connector="OR"
                ),
                name="reading_days_not_negative",
            ),
        ),
        migrations.AddConstraint(
            model_name="touchpoint",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("function", ""), _negated=True),
                    ("squad__isnull", False),
                    _connector="OR",
                ),
                name="touchpoint_has_a_speaker",
            ),
        ),
        migrations.RunPython(moment_keys, migrations.RunPython.noop),
    ]
