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
        ("planning", "0015_content_types_follow"),
    ]

    operations = [
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
        migrations.RunPython(remember_acknowledged, migrations.RunPython.noop),
    ]
