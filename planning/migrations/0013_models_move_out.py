from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("planning", "0012_review_run_lease"),
    ]

    state_operations = [
        migrations.RemoveConstraint(
            model_name="capacity",
            name="capacity_once_per_function",
        ),
        migrations.RemoveConstraint(
            model_name="capacity",
            name="capacity_not_negative",
        ),
        migrations.RemoveConstraint(
            model_name="capacity",
            name="capacity_has_function",
        ),
        migrations.RemoveIndex(
            model_name="comment",
            name="planning_co_squad_i_8aa50b_idx",
        ),
        migrations.RemoveConstraint(
            model_name="comment",
            name="comment_on_a_section_or_an_initiative",
        ),
        migrations.RemoveConstraint(
            model_name="comment",
            name="comment_has_a_body",
        ),
    ]

    # The models move between apps with their tables (db_table is kept): only Django's
    # record of which app holds them changes, and the database is left as it is.
    operations = [migrations.SeparateDatabaseAndState(state_operations=state_operations)]
