"""The needing and providing squad stored on each dependency stay right however a row is
written (a service, the ORM, bulk writes, SQL by hand) and when an initiative moves to
another squad, on PostgreSQL and on SQLite alike; and the board's filters on them select
what the squads named directly or through an initiative select."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.db.models import Q
from django.utils import timezone

from dependencies import services
from dependencies.models import BoardFilters, Dependency
from squads.models import Initiative
from tests import factories as f

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()


def stored(dep: Dependency) -> tuple[int | None, int | None]:
    """What the database holds now (not what the instance remembers)."""
    return tuple(
        Dependency.everything.filter(pk=dep.pk).values_list("needer_id", "provider_id").get()
    )


def expected(dep: Dependency) -> tuple[int | None, int | None]:
    """The squads named directly or through an initiative, read afresh."""
    dep = Dependency.everything.select_related("from_initiative", "to_initiative").get(pk=dep.pk)
    needer = dep.from_squad_id or dep.from_initiative.squad_id
    if dep.to_squad_id:
        provider = dep.to_squad_id
    elif dep.to_initiative_id:
        provider = dep.to_initiative.squad_id
    else:
        provider = None
    return needer, provider


@pytest.fixture
def third(cycle, carol):
    return f.squad("third-squad", dri=carol, cycle=cycle)


@pytest.fixture
def other_work(third):
    return f.initiative(third, "other-work", title="Other work")


def test_a_dependency_recorded_through_the_service_knows_both_squads(
    needing, providing, wizard, assessment, bob
):
    by_initiative = services.dependency_create(
        by=bob,
        from_initiative=wizard,
        to_initiative=assessment,
        what="Scores for the wizard",
        due=TODAY + dt.timedelta(days=10),
    )
    of_a_function = services.dependency_create(
        by=bob, from_squad=needing, to_function="People", what="Two hires", due=TODAY
    )
    assert stored(by_initiative) == (needing.pk, providing.pk)
    assert (by_initiative.needer_id, by_initiative.provider_id) == (needing.pk, providing.pk)
    assert stored(of_a_function) == (needing.pk, None)


def test_changing_either_side_with_save_or_a_bulk_update_moves_the_squads(
    dep, needing, providing, third, other_work, assessment
):
    assert stored(dep) == (needing.pk, providing.pk)

    dep.to_squad = None
    dep.to_initiative = other_work
    dep.save()
    assert stored(dep) == (needing.pk, third.pk)

    Dependency.objects.filter(pk=dep.pk).update(to_initiative=assessment)
    assert stored(dep) == (needing.pk, providing.pk)

    Dependency.objects.filter(pk=dep.pk).update(
        from_initiative=None, from_squad=third, to_initiative=None, to_function="Legal"
    )
    assert stored(dep) == (third.pk, None)


def test_bulk_create_and_sql_by_hand_fill_them_in(needing, providing, wizard, assessment, third):
    Dependency.objects.bulk_create(
        [
            Dependency(
                key="bulk-one",
                from_initiative=wizard,
                to_initiative=assessment,
                what="One",
                due=TODAY,
            ),
            Dependency(
                key="bulk-two", from_squad=third, to_function="Legal", what="Two", due=TODAY
            ),
        ]
    )
    made = {d.key: d for d in Dependency.objects.filter(key__in=["bulk-one", "bulk-two"])}
    assert stored(made["bulk-one"]) == (needing.pk, providing.pk)
    assert stored(made["bulk-two"]) == (third.pk, None)

    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO dependencies_dependency (key, from_initiative_id, to_squad_id,"
            " to_function, what, due, blocking, status, note, version, created_at, updated_at,"
            " needer_id, provider_id)"
            " VALUES ('by-hand', %s, %s, '', 'By hand', %s, false, 'requested', '', 1, %s, %s,"
            " %s, %s)",
            [wizard.pk, third.pk, TODAY, now, now, third.pk, needing.pk],  # wrong on purpose
        )
    by_hand = Dependency.objects.get(key="by-hand")
    assert stored(by_hand) == (needing.pk, third.pk)

    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE dependencies_dependency SET provider_id = %s, needer_id = NULL WHERE id = %s",
            [needing.pk, by_hand.pk],
        )
    assert stored(by_hand) == (needing.pk, third.pk)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE dependencies_dependency SET to_squad_id = NULL, to_initiative_id = %s"
            " WHERE id = %s",
            [assessment.pk, by_hand.pk],
        )
    assert stored(by_hand) == (needing.pk, providing.pk)


def test_an_initiative_moving_to_another_squad_takes_its_dependencies_along(
    dep, needing, providing, wizard, assessment, third
):
    provided = Dependency.objects.create(
        key="from-assessment",
        from_squad=needing,
        to_initiative=assessment,
        what="Assessment scores",
        due=TODAY,
    )
    untouched = Dependency.objects.create(
        key="untouched", from_squad=needing, to_function="People", what="Hires", due=TODAY
    )

    wizard.squad = third
    wizard.save()
    assert stored(dep) == (third.pk, providing.pk) == expected(dep)

    Initiative.objects.filter(pk=assessment.pk).update(squad=third)
    assert stored(provided) == (needing.pk, third.pk) == expected(provided)
    assert stored(untouched) == (needing.pk, None)

    # Several at once, each to its own squad, in one statement.
    Initiative.objects.filter(pk__in=[wizard.pk, assessment.pk]).update(squad=providing)
    assert stored(dep) == (providing.pk, providing.pk) == expected(dep)
    assert stored(provided) == (needing.pk, providing.pk) == expected(provided)


def test_an_initiative_moved_with_sql_by_hand_takes_its_dependencies_along(dep, third, wizard):
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE planning_initiative SET squad_id = %s WHERE id = %s", [third.pk, wizard.pk]
        )
    assert stored(dep) == expected(dep) == (third.pk, dep.to_squad_id)


def test_an_answer_leaves_the_squads_as_they_were(dep, needing, providing):
    Dependency.objects.filter(pk=dep.pk).update(status="declined")
    assert stored(dep) == (needing.pk, providing.pk)


# ---------------------------------------------------------------------------------------
# The board's filters on the stored squads select what the relations select
# ---------------------------------------------------------------------------------------


@pytest.fixture
def mixed(needing, providing, third, wizard, assessment, other_work):
    """Needed by squads and by initiatives, provided by squads, initiatives and functions,
    in every status, some late, some blocking."""
    needers = [{"from_squad": needing}, {"from_initiative": wizard}, {"from_squad": third}]
    providers = [
        {"to_squad": providing},
        {"to_initiative": assessment},
        {"to_initiative": other_work},
        {"to_function": "People"},
        {"to_squad": needing},
    ]
    statuses = ["requested", "accepted", "at_risk", "done", "declined"]
    n = 0
    for needer in needers:
        for provider in providers:
            for status in statuses:
                n += 1
                Dependency.objects.create(
                    key=f"mixed-{n}",
                    what=f"Mixed {n}",
                    due=TODAY + dt.timedelta(days=n % 7 - 3),
                    status=status,
                    blocking=n % 2 == 0,
                    **needer,
                    **provider,
                )
    return n


def _by_relations(filters: BoardFilters) -> set[str]:
    """What the board selected before the squads were stored: the same filters over the
    relations."""
    qs = Dependency.objects.all()
    if filters.needer_squad_id is not None:
        qs = qs.filter(
            Q(from_squad_id=filters.needer_squad_id)
            | Q(from_squad__isnull=True, from_initiative__squad_id=filters.needer_squad_id)
        )
    if filters.provider_squad_id is not None:
        qs = qs.filter(
            Q(to_squad_id=filters.provider_squad_id)
            | Q(to_squad__isnull=True, to_initiative__squad_id=filters.provider_squad_id)
        )
    if filters.cycle_id is not None:
        qs = qs.filter(
            Q(from_squad__cycle_id=filters.cycle_id)
            | Q(from_squad__isnull=True, from_initiative__squad__cycle_id=filters.cycle_id)
        )
    if filters.provider_function:
        qs = qs.filter(to_function=filters.provider_function)
    if filters.status == "open":
        qs = qs.filter(status__in=["requested", "accepted", "at_risk"])
    elif filters.status:
        qs = qs.filter(status=filters.status)
    if filters.overdue:
        qs = qs.filter(status__in=["requested", "accepted", "at_risk"], due__lt=filters.today)
    return set(qs.values_list("key", flat=True))


def test_the_board_filters_select_what_the_relations_select(
    mixed, cycle, needing, providing, third
):
    squads = [needing.pk, providing.pk, third.pk, None]
    checked = 0
    for needer in squads:
        for provider in squads:
            for status in ("", "open", "done"):
                for overdue in (False, True):
                    filters = BoardFilters(
                        today=TODAY,
                        cycle_id=cycle.pk,
                        needer_squad_id=needer,
                        provider_squad_id=provider,
                        status=status,
                        overdue=overdue,
                    )
                    got = set(Dependency.objects.filtered(filters).values_list("key", flat=True))
                    assert got == _by_relations(filters), filters
                    checked += bool(got)
    assert checked > 20  # most combinations select something
    people = BoardFilters(today=TODAY, provider_function="People", status="open")
    assert set(Dependency.objects.filtered(people).values_list("key", flat=True)) == (
        _by_relations(people)
    )


def test_the_board_pages_by_provider_in_the_order_of_the_export(mixed, cycle):
    """Every window of the board's pages, read group by group, is the same rows in the same
    order as the whole list in the board's order (what the export writes), and each group's
    counts and the summary are those of its rows."""
    from dependencies import selectors

    for filters in (
        BoardFilters(today=TODAY, cycle_id=cycle.pk),
        BoardFilters(today=TODAY, cycle_id=cycle.pk, status="open"),
        BoardFilters(today=TODAY, cycle_id=cycle.pk, overdue=True),
    ):
        base = Dependency.objects.filtered(filters)
        whole = list(base.by_provider().values_list("pk", flat=True))
        pages = selectors.ProviderPages(base, selectors.provider_groups(base, TODAY))
        assert len(pages) == len(whole) == pages.summary()["total"]
        for size in (1, 7, 50):
            read = [
                pk for start in range(0, len(whole), size) for pk in pages[start : start + size]
            ]
            assert read == whole, (filters, size)
        rows = {d.pk: d for d in base}
        for (provider_id, function), counts in pages.counts().items():
            mine = [
                d
                for d in rows.values()
                if (d.provider_id, d.to_function) == (provider_id, function)
            ]
            assert counts["total"] == len(mine)
            assert counts["overdue"] == sum(d.is_overdue(TODAY) for d in mine)
        starts = {0}
        for group in pages.groups:
            starts.add(max(starts) + group["total"])
        assert [n for n in range(len(whole)) if not pages.continues(n)] == sorted(
            starts - {len(whole)}
        )
