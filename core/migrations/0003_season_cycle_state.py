"""Cycles gain a state. Those already there take the one their dates say: a cycle that has
ended is closed, one running today is in flight (it was under way before commits were
recorded, so it has no baseline), and one still to come is a draft."""

from django.db import migrations, models
from django.utils import timezone


def states_from_dates(apps, schema_editor):
    Cycle = apps.get_model("core", "Cycle")
    today = timezone.localdate()
    Cycle.objects.filter(ends__lt=today).update(state="closed")
    Cycle.objects.filter(starts__lte=today, ends__gte=today).update(state="in_flight")


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0002_search_indexes"),
    ]

    operations = [
        migrations.AddField(
            model_name="cycle",
            name="state",
            field=models.CharField(
                choices=[
                    ("draft", "Draft"),
                    ("reconciling", "Reconciling"),
                    ("committed", "Committed"),
                    ("in_flight", "In flight"),
                    ("closed", "Closed"),
                ],
                db_default="draft",
                default="draft",
                help_text="Moved by leadership on the season page, never here: each move is recorded.",
                max_length=12,
            ),
        ),
        migrations.RunPython(states_from_dates, migrations.RunPython.noop, elidable=True),
        migrations.AddConstraint(
            model_name="cycle",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("state__in", ["draft", "reconciling", "committed", "in_flight", "closed"])
                ),
                name="cycle_state_valid",
            ),
        ),
    ]
