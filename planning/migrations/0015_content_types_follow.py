"""Content types (and so permissions and admin history) follow the models that moved apps."""

from django.db import migrations

MOVED = {
    "core": ["profile", "cycle", "capacity", "pagerevision"],
    "squads": [
        "plan",
        "initiative",
        "planstamp",
        "presence",
        "comment",
        "historicalplan",
        "historicalinitiative",
    ],
}


def follow(apps, schema_editor, *, back: bool = False):
    ContentType = apps.get_model("contenttypes", "ContentType")
    for app, models in MOVED.items():
        old, new = (app, "planning") if back else ("planning", app)
        for model in models:
            if not ContentType.objects.filter(app_label=new, model=model).exists():
                ContentType.objects.filter(app_label=old, model=model).update(app_label=new)


def back(apps, schema_editor):
    follow(apps, schema_editor, back=True)


class Migration(migrations.Migration):
    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("planning", "0014_models_moved"),
    ]

    operations = [migrations.RunPython(follow, back)]
