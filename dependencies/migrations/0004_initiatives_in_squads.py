import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("dependencies", "0003_dependency_version_history"),
        ("squads", "0004_plan_models_move_here"),
    ]

    state_operations = [
        migrations.AlterField(
            model_name="dependency",
            name="from_initiative",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="needs",
                to="squads.initiative",
            ),
        ),
        migrations.AlterField(
            model_name="dependency",
            name="to_initiative",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="provides",
                to="squads.initiative",
            ),
        ),
        migrations.AlterField(
            model_name="historicaldependency",
            name="from_initiative",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="squads.initiative",
            ),
        ),
        migrations.AlterField(
            model_name="historicaldependency",
            name="to_initiative",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="squads.initiative",
            ),
        ),
    ]

    # The models move between apps with their tables (db_table is kept): only Django's
    # record of which app holds them changes, and the database is left as it is.
    operations = [migrations.SeparateDatabaseAndState(state_operations=state_operations)]
