"""The planning rules the database itself enforces, whatever code writes the rows."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction

from core.models import Capacity, Cycle
from dependencies.models import Dependency
from journeys.models import Segment
from planning.models import Finding
from squads.models import OKR, CheckIn, KeyResult, Membership, Squad
from tests import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    cycle = f.cycle()
    priya, marco, carol = f.person("priya"), f.person("marco"), f.person("carol")
    squad = f.squad("first-90-days", dri=priya, cycle=cycle, members=[marco])
    other = f.squad("product-led", dri=carol, cycle=cycle)
    return {
        "cycle": cycle,
        "priya": priya,
        "marco": marco,
        "carol": carol,
        "squad": squad,
        "other": other,
    }


def refused(make) -> None:
    """`make` must be refused by the database itself, at the latest at commit."""
    with pytest.raises(IntegrityError), transaction.atomic():
        make()
        if connection.vendor == "postgresql":
            # Deferred constraints are checked at commit; inside the test's transaction,
            # ask for the check now.
            with connection.cursor() as cursor:
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def test_a_squad_cannot_be_saved_without_a_dri(world):
    refused(lambda: Squad.objects.create(key="no-dri", name="No DRI", cycle=world["cycle"]))


@pytest.mark.postgres
def test_the_dri_must_be_a_member_of_the_squad(world):
    def make():
        Squad.objects.filter(pk=world["squad"].pk).update(dri=world["carol"])

    refused(make)


@pytest.mark.postgres
def test_the_dris_membership_cannot_be_removed_while_they_are_dri(world):
    refused(lambda: Membership.objects.filter(squad=world["squad"], person=world["priya"]).delete())


@pytest.mark.postgres
def test_handing_the_dri_role_to_another_member_is_accepted(world):
    with transaction.atomic():
        Squad.objects.filter(pk=world["squad"].pk).update(dri=world["marco"])
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    assert Squad.objects.get(pk=world["squad"].pk).dri == world["marco"]


@pytest.mark.postgres
def test_a_new_squad_and_its_dri_membership_can_be_written_in_one_transaction(world):
    with transaction.atomic():
        squad = Squad.objects.create(
            key="new", name="New", cycle=world["cycle"], dri=world["carol"]
        )
        Membership.objects.create(squad=squad, person=world["carol"], function="Sales")
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    assert squad.is_member(world["carol"])


def test_a_person_is_a_member_of_a_squad_once(world):
    refused(
        lambda: Membership.objects.create(
            squad=world["squad"], person=world["marco"], function="Sales"
        )
    )


def test_one_okr_per_squad_per_cycle(world):
    OKR.objects.create(squad=world["squad"], cycle=world["cycle"], objective="Activate")
    refused(
        lambda: OKR.objects.create(squad=world["squad"], cycle=world["cycle"], objective="Again")
    )


def test_a_squad_may_have_an_okr_in_another_cycle(world):
    OKR.objects.create(squad=world["squad"], cycle=world["cycle"], objective="Activate")
    OKR.objects.create(squad=world["squad"], cycle=f.cycle("fy2028"), objective="Expand")
    assert world["squad"].okrs.count() == 2


@pytest.mark.parametrize("field", ["emotion_today", "emotion_target"])
@pytest.mark.parametrize("value", [-3, 3])
def test_emotions_stay_within_minus_two_and_two(field, value):
    refused(lambda: f.stage(**{field: value}))


def test_emotions_at_the_edges_are_accepted():
    stage = f.stage(emotion_today=-2, emotion_target=2)
    assert (stage.emotion_today, stage.emotion_target) == (-2, 2)


def test_an_initiative_starts_on_or_before_it_ends(world):
    refused(
        lambda: f.initiative(world["squad"], starts=dt.date(2027, 4, 1), ends=dt.date(2027, 3, 31))
    )


def test_an_initiative_may_start_and_end_on_the_same_day(world):
    day = dt.date(2027, 3, 31)
    assert f.initiative(world["squad"], starts=day, ends=day).pk


def test_initiative_status_must_be_known(world):
    refused(lambda: f.initiative(world["squad"], status="maybe"))


def test_initiative_impact_is_all_three_sides_within_range(world):
    refused(
        lambda: f.initiative(
            world["squad"], key="a", impact_team=3, impact_business=0, impact_customer=0
        )
    )
    refused(lambda: f.initiative(world["squad"], key="b", impact_team=1))
    assert f.initiative(
        world["squad"], key="c", impact_team=-2, impact_business=2, impact_customer=0
    ).has_impact


def test_initiative_keys_are_unique_within_a_squad(world):
    f.initiative(world["squad"], key="assessment-tool")
    refused(lambda: f.initiative(world["squad"], key="assessment-tool"))
    assert f.initiative(world["other"], key="assessment-tool").pk


def test_keys_cannot_hold_slashes_or_spaces(world):
    refused(lambda: Segment.objects.create(key="mid/market", name="Mid-market"))
    refused(lambda: Segment.objects.create(key="mid market", name="Mid-market"))
    refused(lambda: f.initiative(world["squad"], key="a/b"))


@pytest.mark.parametrize(
    "model, values",
    [
        (
            Cycle,
            {
                "key": "fy2027",
                "name": "Again",
                "starts": dt.date(2027, 1, 1),
                "ends": dt.date(2027, 2, 1),
            },
        ),
        (Segment, {"key": "mid-market", "name": "Again"}),
    ],
)
def test_top_level_keys_are_unique(world, model, values):
    Segment.objects.create(key="mid-market", name="Mid-market")
    refused(lambda: model.objects.create(**values))


def test_squad_keys_are_unique_across_cycles(world):
    refused(
        lambda: Squad.objects.create(
            key="first-90-days", name="Again", cycle=f.cycle("fy2028"), dri=world["priya"]
        )
    )


def test_a_cycle_starts_before_it_ends():
    refused(
        lambda: Cycle.objects.create(
            key="backwards", name="B", starts=dt.date(2027, 2, 1), ends=dt.date(2027, 1, 1)
        )
    )


def test_capacity_is_once_per_function_and_cycle_and_not_negative(world):
    Capacity.objects.create(cycle=world["cycle"], function="Product", headcount=Decimal(6))
    refused(
        lambda: Capacity.objects.create(
            cycle=world["cycle"], function="Product", headcount=Decimal(1)
        )
    )
    refused(
        lambda: Capacity.objects.create(
            cycle=world["cycle"], function="Sales", headcount=Decimal(-1)
        )
    )


def _dependency(world, **values):
    base = {
        "key": "dep",
        "what": "Assessment tool",
        "due": dt.date(2027, 3, 31),
        "status": "requested",
        "from_squad": world["squad"],
    }
    base.update(values)
    return Dependency.objects.create(**base)


def test_a_dependency_has_exactly_one_provider(world):
    init = f.initiative(world["other"], key="tool")
    refused(lambda: _dependency(world))
    refused(lambda: _dependency(world, to_squad=world["other"], to_initiative=init))
    refused(lambda: _dependency(world, to_squad=world["other"], to_function="People"))
    refused(lambda: _dependency(world, to_initiative=init, to_function="People"))
    assert _dependency(world, key="squad", to_squad=world["other"]).pk
    assert _dependency(world, key="init", to_initiative=init).pk
    assert _dependency(world, key="function", to_function="People").pk


def test_a_dependency_has_exactly_one_side_that_needs_it(world):
    init = f.initiative(world["squad"], key="wizard")
    refused(lambda: _dependency(world, from_squad=None, to_squad=world["other"]))
    refused(lambda: _dependency(world, from_initiative=init, to_squad=world["other"]))


def test_dependency_keys_are_unique_and_status_known(world):
    _dependency(world, key="hiring", to_function="People")
    refused(lambda: _dependency(world, key="hiring", to_function="People"))
    refused(lambda: _dependency(world, key="other", to_function="People", status="pending"))


def test_key_result_keys_are_unique_within_an_okr_and_direction_known(world):
    okr = OKR.objects.create(squad=world["squad"], cycle=world["cycle"], objective="Activate")
    KeyResult.objects.create(okr=okr, key="activation", name="Activation", unit="%")
    refused(lambda: KeyResult.objects.create(okr=okr, key="activation", name="Again"))
    refused(lambda: KeyResult.objects.create(okr=okr, key="ttv", name="TTV", direction="up"))


def test_check_in_confidence_is_from_one_to_ten(world):
    okr = OKR.objects.create(squad=world["squad"], cycle=world["cycle"], objective="Activate")
    kr = KeyResult.objects.create(okr=okr, key="activation", name="Activation", unit="%")
    for confidence in (0, 11):
        refused(
            lambda c=confidence: CheckIn.objects.create(
                key_result=kr, value=Decimal(41), confidence=c, author=world["priya"]
            )
        )


def test_a_dismissed_finding_carries_its_reason(world):
    now = dt.datetime(2027, 1, 1, tzinfo=dt.UTC)
    values = {
        "cycle": world["cycle"],
        "kind": "blocker",
        "rule": "overdue",
        "severity": "high",
        "subjects": ["dependency:x"],
        "message": "Late.",
        "first_seen": now,
        "last_seen": now,
        "state": "dismissed",
    }
    refused(lambda: Finding.objects.create(identity="a", **values))
    Finding.objects.create(identity="b", dismissed_reason="Agreed with Product.", **values)
    refused(lambda: Finding.objects.create(identity="b", dismissed_reason="Twice.", **values))
