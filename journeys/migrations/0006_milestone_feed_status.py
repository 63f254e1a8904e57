from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("journeys", "0005_customer_outcomes"),
    ]

    operations = [
        migrations.AddField(
            model_name="segment",
            name="milestone_feed_pulled_at",
            field=models.DateTimeField(
                blank=True, null=True, help_text="When the feed was last pulled, or tried."
            ),
        ),
        migrations.AddField(
            model_name="segment",
            name="milestone_feed_rows",
            field=models.PositiveIntegerField(
                blank=True, null=True, help_text="Readings the last successful pull imported."
            ),
        ),
        migrations.AddField(
            model_name="segment",
            name="milestone_feed_error",
            field=models.TextField(blank=True, help_text="Why the last pull failed; blank if not."),
        ),
    ]
