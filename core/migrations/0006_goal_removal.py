"""A company goal can be removed and restored like a squad or a stage (planning/removals.py)."""

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0005_archive_removal"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="removal",
            name="removal_kind_valid",
        ),
        migrations.AlterField(
            model_name="removal",
            name="kind",
            field=models.CharField(
                choices=[
                    ("journey", "Journey"),
                    ("stage", "Stage"),
                    ("squad", "Squad"),
                    ("initiative", "Initiative"),
                    ("key_result", "Key result"),
                    ("dependency", "Dependency"),
                    ("comment", "Comment"),
                    ("goal", "Goal"),
                ],
                max_length=20,
            ),
        ),
        migrations.AddConstraint(
            model_name="removal",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    (
                        "kind__in",
                        [
                            "journey",
                            "stage",
                            "squad",
                            "initiative",
                            "key_result",
                            "dependency",
                            "comment",
                            "goal",
                        ],
                    )
                ),
                name="removal_kind_valid",
            ),
        ),
    ]
