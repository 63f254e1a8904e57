from importlib import import_module

from django.db import migrations, models

# SQLite adds a column by rebuilding the table, which would drop the triggers that keep the
# stored squads (0007) and trip over the one on initiatives that names this table: they are
# dropped before and made again after. PostgreSQL adds the column in place.
_STORED_SQUADS = import_module("dependencies.migrations.0007_stored_squads")


def _sqlite_triggers(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "sqlite":
            for sql in statements:
                schema_editor.execute(sql)

    return run


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
        migrations.RunPython(
            _sqlite_triggers(_STORED_SQUADS.SQLITE_DROP), _sqlite_triggers(_STORED_SQUADS.SQLITE)
        ),
        migrations.AddField(
            model_name="dependency",
            name="status_reason",
            field=models.TextField(blank=True, db_default="", help_text=HELP),
        ),
        migrations.AddField(
            model_name="historicaldependency",
            name="status_reason",
            field=models.TextField(blank=True, db_default="", help_text=HELP),
        ),
        migrations.RunPython(
            _sqlite_triggers(_STORED_SQUADS.SQLITE), _sqlite_triggers(_STORED_SQUADS.SQLITE_DROP)
        ),
        migrations.RunPython(keep_reasons, migrations.RunPython.noop),
    ]
