from django.db import migrations, models

HELP = (
    "Why it is at risk or declined, as the provider side said when it answered; empty for "
    "the other statuses, and for a status set by a planning file."
)
PREFIXES = {"at_risk": "At risk, said ", "declined": "Declined by "}


def reason_from_note(status: str, note: str) -> str:
    """The reason of the latest answer the note records for this status: the answers wrote
    "At risk, said <who> on <dd Mon yyyy>: <reason>" (or "Declined by ...") as a paragraph."""
    prefix = PREFIXES[status]
    for paragraph in reversed(note.split("\n\n")):
        if paragraph.startswith(prefix):
            head, found, reason = paragraph.partition(": ")
            if found and " on " in head:
                return reason.strip()
    return ""


def keep_reasons(apps, schema_editor):
    Dependency = apps.get_model("dependencies", "Dependency")
    answered = Dependency.objects.filter(status__in=PREFIXES).exclude(note="")
    for dep in answered.only("pk", "status", "note").iterator():
        if reason := reason_from_note(dep.status, dep.note):
            Dependency.objects.filter(pk=dep.pk).update(status_reason=reason)


class Migration(migrations.Migration):
    dependencies = [
        ("dependencies", "0007_stored_squads"),
    ]

    operations = [
        migrations.AddField(
            model_name="dependency",
            name="status_reason",
            field=models.TextField(blank=True, help_text=HELP),
        ),
        migrations.AddField(
            model_name="historicaldependency",
            name="status_reason",
            field=models.TextField(blank=True, help_text=HELP),
        ),
        migrations.RunPython(keep_reasons, migrations.RunPython.noop),
    ]
