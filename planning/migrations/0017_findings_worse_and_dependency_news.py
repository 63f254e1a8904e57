import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models
from django.db.models import F


def remember_acknowledged(apps, schema_editor):
    """Findings acknowledged before now: what they are today is what was acknowledged. Their
    measure and facts were never kept, so only a higher severity re-opens them."""
    Finding = apps.get_model("planning", "Finding")
    Finding.objects.filter(state="acknowledged").update(
        acknowledged_severity=F("severity"),
        acknowledged_message=F("message"),
        acknowledged_score=F("score"),
    )


class Migration(migrations.Migration):
    dependencies = [
        ("dependencies", "0004_initiatives_in_squads"),
        ("planning", "0016_actions_finding_events_and_verdicts"),
        ("squads", "0004_plan_models_move_here"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="notification",
            name="notification_points_at_its_subject",
        ),
        migrations.AddField(
            model_name="finding",
            name="acknowledged_facts",
            field=models.JSONField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="finding",
            name="acknowledged_measure",
            field=models.FloatField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="finding",
            name="acknowledged_message",
            field=models.TextField(blank=True, db_default=""),
        ),
        migrations.AddField(
            model_name="finding",
            name="acknowledged_score",
            field=models.FloatField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="finding",
            name="acknowledged_severity",
            field=models.CharField(blank=True, db_default="", max_length=10),
        ),
        migrations.AddField(
            model_name="finding",
            name="facts",
            field=models.JSONField(
                blank=True,
                help_text="What makes it bad beyond its rule (past_due, at_risk, ...).",
                null=True,
            ),
        ),
        migrations.AddField(
            model_name="finding",
            name="measure",
            field=models.FloatField(
                blank=True,
                help_text="How bad it is, in the rule's own unit (people over capacity, days between dates); larger is worse.",
                null=True,
            ),
        ),
        migrations.AddField(
            model_name="finding",
            name="reopened_note",
            field=models.TextField(
                blank=True,
                db_default="",
                help_text="Why the review re-opened it after it was acknowledged: what got worse.",
            ),
        ),
        migrations.AddField(
            model_name="notification",
            name="dependency",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="notifications",
                to="dependencies.dependency",
            ),
        ),
        migrations.AlterField(
            model_name="notification",
            name="kind",
            field=models.CharField(
                choices=[
                    ("finding", "Finding"),
                    ("mention", "Mention"),
                    ("dependency", "Dependency"),
                ],
                db_default="finding",
                default="finding",
                max_length=10,
            ),
        ),
        migrations.AlterField(
            model_name="notificationpreference",
            name="immediate_high",
            field=models.BooleanField(
                default=True,
                help_text="An email at once when the review finds something serious about a squad they lead, or a dependency their squad needs is declined or put at risk.",
            ),
        ),
        migrations.AddConstraint(
            model_name="notification",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("finding__isnull", False), ("kind", "finding")),
                    models.Q(("comment__isnull", False), ("kind", "mention")),
                    models.Q(("dependency__isnull", False), ("kind", "dependency")),
                    _connector="OR",
                ),
                name="notification_points_at_its_subject",
            ),
        ),
        migrations.RunPython(remember_acknowledged, migrations.RunPython.noop),
    ]
