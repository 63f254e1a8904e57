from django.db import migrations, models


class Migration(migrations.Migration):
    """An initiative's place among its function's initiatives on the plan (docs/keyboard.md).
    Empty until a squad arranges them: the plan keeps its order by start date till then."""

    dependencies = [
        ("squads", "0009_comment_edits"),
    ]

    operations = [
        migrations.AddField(
            model_name="historicalinitiative",
            name="position",
            field=models.PositiveIntegerField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="initiative",
            name="position",
            field=models.PositiveIntegerField(blank=True, null=True),
        ),
    ]
