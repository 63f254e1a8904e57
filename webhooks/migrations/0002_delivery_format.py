from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def from_subscriptions(apps, schema_editor):
    """A delivery made so far holds its subscription's format of today (the only one known)."""
    Delivery = apps.get_model("webhooks", "Delivery")
    Subscription = apps.get_model("webhooks", "Subscription")
    Delivery.objects.update(
        format=Subquery(
            Subscription.objects.filter(pk=OuterRef("subscription_id")).values("format")[:1]
        )
    )


class Migration(migrations.Migration):
    dependencies = [("webhooks", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="delivery",
            name="format",
            field=models.CharField(
                choices=[
                    ("json", "Throughline JSON (signed)"),
                    ("slack", "Slack message"),
                    ("teams", "Microsoft Teams card"),
                ],
                default="json",
                max_length=10,
            ),
            preserve_default=False,
        ),
        migrations.RunPython(from_subscriptions, migrations.RunPython.noop),
    ]
