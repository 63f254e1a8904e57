import datetime as dt

from django.db import migrations, models
from django.db.models import F


def lease_runs_still_running(apps, schema_editor):
    # Runs left "running" before runs had a lease: as before, they count as running for an
    # hour after they started (the broker's visibility timeout), then as abandoned.
    ReviewRun = apps.get_model("planning", "ReviewRun")
    ReviewRun.objects.filter(status="running").update(
        lease_expires_at=F("started_at") + dt.timedelta(hours=1)
    )


class Migration(migrations.Migration):
    dependencies = [
        ("planning", "0011_staged_import"),
    ]

    operations = [
        migrations.AddField(
            model_name="reviewrun",
            name="lease_expires_at",
            field=models.DateTimeField(
                blank=True,
                help_text="While running: the run counts as abandoned once this passes unrenewed.",
                null=True,
            ),
        ),
        migrations.RunPython(lease_runs_still_running, migrations.RunPython.noop),
    ]
