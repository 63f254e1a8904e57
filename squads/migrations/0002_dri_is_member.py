"""The DRI of a squad is always one of its members, enforced by PostgreSQL.

A composite foreign key from squads_squad (id, dri_id) to squads_membership (squad_id,
person_id) makes the database refuse a DRI without a membership, and refuse removing the
DRI's membership while they are DRI. It is deferred to commit so that a squad and its
memberships can be written in one transaction in any order. SQLite, the local default,
cannot add such a key to an existing table; there the services keep the rule.
"""

from django.db import migrations

FORWARD = """
ALTER TABLE squads_squad
    ADD CONSTRAINT squad_dri_is_member
    FOREIGN KEY (id, dri_id) REFERENCES squads_membership (squad_id, person_id)
    DEFERRABLE INITIALLY DEFERRED
"""
BACKWARD = "ALTER TABLE squads_squad DROP CONSTRAINT squad_dri_is_member"


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD)


class Migration(migrations.Migration):
    dependencies = [("squads", "0001_initial")]

    operations = [migrations.RunPython(forward, backward, elidable=False)]
