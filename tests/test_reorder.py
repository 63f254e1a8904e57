"""Reordering a journey's stages and a squad's initiatives: the order endpoints the page's
script posts to (static/js/reorder.js), the initiatives' up and down buttons, and the
compare-and-swap on the order the page showed (core/ordering.py)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from core.ordering import OrderChanged, reordered
from squads.models import Initiative
from squads.services import INITIATIVE_ORDER
from tests import factories

pytestmark = pytest.mark.django_db

JSON = {"Accept": "application/json"}
HTMX = {"HX-Request": "true"}


# --- the rule, without a database -----------------------------------------------------------


def test_a_full_list_takes_the_new_order():
    assert reordered(["a", "b", "c"], keys=["c", "a", "b"], was=["a", "b", "c"]) == [
        "c",
        "a",
        "b",
    ]


def test_part_of_a_list_takes_the_places_it_held_and_the_rest_stays():
    current = ["p1", "m1", "p2", "m2", "p3"]
    assert reordered(current, keys=["p3", "p1", "p2"], was=["p1", "p2", "p3"]) == [
        "p3",
        "m1",
        "p1",
        "m2",
        "p2",
    ]


def test_an_item_added_meanwhile_keeps_its_place():
    # The page showed a, b, c; someone added d since: moving c first leaves d last.
    assert reordered(["a", "b", "c", "d"], keys=["c", "a", "b"], was=["a", "b", "c"]) == [
        "c",
        "a",
        "b",
        "d",
    ]


def test_a_list_reordered_since_the_page_was_drawn_is_refused_with_its_order_now():
    with pytest.raises(OrderChanged) as changed:
        reordered(["b", "a", "c"], keys=["c", "a", "b"], was=["a", "b", "c"])
    assert changed.value.current == ["b", "a", "c"]


@pytest.mark.parametrize(
    ("keys", "was"),
    [
        ([], []),  # nothing
        (["a", "a", "b"], ["a", "b", "a"]),  # twice
        (["a", "x"], ["a", "x"]),  # not in the list
        (["b", "a"], ["a", "b", "c"]),  # not the same items
        (["b", "a", "c"], ["a", "b"]),
    ],
)
def test_keys_that_are_not_distinct_items_of_the_list_are_refused(keys, was):
    with pytest.raises(ValidationError):
        reordered(["a", "b", "c"], keys=keys, was=was)


# --- a journey's stages -----------------------------------------------------------------------


@pytest.fixture
def stages(db):
    return [
        factories.stage("lifecycle", key, name=key.title(), position=index)
        for index, key in enumerate(["acquisition", "onboarding", "adoption"])
    ]


def stage_order() -> list[str]:
    from journeys.models import Stage

    return list(
        Stage.objects.filter(journey__key="lifecycle")
        .order_by("position", "id")
        .values_list("key", flat=True)
    )


STAGE_ORDER_URL = "/journeys/lifecycle/stages/order/"


def test_the_stage_order_url_is_the_journeys():
    assert reverse("journeys:stage_order", args=["lifecycle"]) == STAGE_ORDER_URL


def test_leadership_puts_the_stages_in_a_new_order(client, leo, stages):
    client.force_login(leo)
    response = client.post(
        STAGE_ORDER_URL,
        {"order": ["adoption", "acquisition", "onboarding"], "was": stage_order()},
        headers=JSON,
    )
    assert response.status_code == 200
    assert response.json()["message"] == "Order saved."
    assert stage_order() == ["adoption", "acquisition", "onboarding"]
    # The page without its script: back to the map, which says so.
    response = client.post(
        STAGE_ORDER_URL, {"order": ["onboarding", "adoption", "acquisition"], "was": stage_order()}
    )
    assert response.status_code == 302
    assert response["Location"] == "/journeys/lifecycle/"
    assert stage_order() == ["onboarding", "adoption", "acquisition"]


def test_a_stage_order_from_a_page_drawn_before_another_move_changes_nothing(client, leo, stages):
    client.force_login(leo)
    shown = stage_order()
    # Someone else moves Adoption first meanwhile.
    client.post(
        reverse("journeys:stage_move", args=["lifecycle", "adoption"]), {"direction": "left"}
    )
    after_theirs = stage_order()
    assert after_theirs == ["acquisition", "adoption", "onboarding"]
    response = client.post(
        STAGE_ORDER_URL,
        {"order": ["onboarding", "acquisition", "adoption"], "was": shown},
        headers=JSON,
    )
    assert response.status_code == 409
    assert "Someone else changed this order" in response.json()["message"]
    assert response.json()["order"] == after_theirs
    assert stage_order() == after_theirs


@pytest.mark.parametrize(
    "posted",
    [
        {},
        {"order": ["adoption", "acquisition"], "was": ["acquisition", "adoption", "onboarding"]},
        {
            "order": ["adoption", "adoption", "onboarding"],
            "was": ["acquisition", "onboarding", "adoption"],
        },
        {
            "order": ["adoption", "elsewhere", "onboarding"],
            "was": ["onboarding", "elsewhere", "adoption"],
        },
    ],
)
def test_a_stage_order_that_is_not_the_journeys_changes_nothing(client, leo, stages, posted):
    factories.stage("elsewhere", "elsewhere", name="Elsewhere")
    client.force_login(leo)
    before = stage_order()
    response = client.post(STAGE_ORDER_URL, posted, headers=JSON)
    assert response.status_code == 400
    assert (
        response.json()["message"] == "Send the items of this list, each once, in their new order."
    )
    assert stage_order() == before


def test_only_leadership_reorders_stages_and_never_by_get(client, alice, leo, stages):
    posted = {"order": ["adoption", "acquisition", "onboarding"], "was": stage_order()}
    client.force_login(alice)
    assert client.post(STAGE_ORDER_URL, posted, headers=JSON).status_code == 403
    client.force_login(leo)
    assert client.get(STAGE_ORDER_URL).status_code == 405
    assert client.post("/journeys/nope/stages/order/", posted, headers=JSON).status_code == 404
    assert stage_order() == ["acquisition", "onboarding", "adoption"]


def test_a_stage_order_without_the_csrf_token_changes_nothing(leo, stages):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(leo)
    posted = {"order": ["adoption", "acquisition", "onboarding"], "was": stage_order()}
    assert browser.post(STAGE_ORDER_URL, posted, headers=JSON).status_code == 403
    assert stage_order() == ["acquisition", "onboarding", "adoption"]


# --- a squad's initiatives ----------------------------------------------------------------------


@pytest.fixture
def plan(needing, providing):
    """First 90 Days: three Product initiatives by start date, one of Marketing between."""
    made = {
        key: factories.initiative(needing, key, function=function, starts=dt.date(2027, 1, day))
        for key, function, day in [
            ("assessment", "Product", 4),
            ("campaign", "Marketing", 5),
            ("wizard", "Product", 11),
            ("dashboard", "Product", 18),
        ]
    }
    # The other squad's Product initiative, which no order of this plan may name.
    made["theirs"] = factories.initiative(providing, "theirs", function="Product")
    return made


def plan_order(squad_key: str = "first-90-days", function: str = "Product") -> list[str]:
    return list(
        Initiative.objects.filter(squad__key=squad_key, function=function)
        .order_by(*INITIATIVE_ORDER)
        .values_list("key", flat=True)
    )


ORDER_URL = "/squads/first-90-days/plan/initiative-order/"


def move_url(key: str) -> str:
    return reverse("squads:initiative_move", args=["first-90-days", key])


def test_the_initiative_order_url_is_the_plans():
    assert reverse("squads:initiative_order", args=["first-90-days"]) == ORDER_URL


def test_a_member_puts_one_functions_initiatives_in_a_new_order(client, bob, plan):
    client.force_login(bob)
    assert plan_order() == ["assessment", "wizard", "dashboard"]
    response = client.post(
        ORDER_URL,
        {"order": ["dashboard", "assessment", "wizard"], "was": plan_order()},
        headers=JSON,
    )
    assert response.status_code == 200
    assert plan_order() == ["dashboard", "assessment", "wizard"]
    assert plan_order(function="Marketing") == ["campaign"]
    # The plan page shows them so, under their function.
    words = client.get("/squads/first-90-days/plan/").content.decode()
    assert words.index('id="initiative-dashboard"') < words.index('id="initiative-assessment"')
    assert words.index('id="initiative-assessment"') < words.index('id="initiative-wizard"')


def test_an_initiative_added_after_the_squad_arranged_its_function_comes_last(client, bob, plan):
    client.force_login(bob)
    client.post(
        ORDER_URL,
        {"order": ["dashboard", "wizard", "assessment"], "was": plan_order()},
        headers=JSON,
    )
    factories.initiative(
        plan["wizard"].squad, "early", function="Product", starts=dt.date(2027, 1, 1)
    )
    assert plan_order() == ["dashboard", "wizard", "assessment", "early"]


@pytest.mark.parametrize(
    "posted",
    [
        # Another squad's initiative, named beside this squad's own.
        {"order": ["theirs", "assessment"], "was": ["assessment", "theirs"]},
        {"order": ["theirs"], "was": ["theirs"]},
        # Two functions at once.
        {"order": ["campaign", "assessment"], "was": ["assessment", "campaign"]},
        # Not what the page showed: the same items, each once.
        {"order": ["wizard", "assessment"], "was": ["assessment", "wizard", "dashboard"]},
        {"order": ["wizard", "wizard"], "was": ["wizard", "wizard"]},
        {"order": ["nope"], "was": ["nope"]},
    ],
)
def test_an_initiative_order_that_is_not_one_function_of_this_plan_changes_nothing(
    client, bob, plan, posted
):
    client.force_login(bob)
    before = plan_order(), plan_order("product-led")
    response = client.post(ORDER_URL, posted, headers=JSON)
    assert response.status_code == 400
    assert (plan_order(), plan_order("product-led")) == before


def test_an_initiative_order_from_a_stale_page_changes_nothing(client, bob, plan):
    client.force_login(bob)
    shown = plan_order()
    client.post(move_url("dashboard"), {"direction": "up"})  # someone else, meanwhile
    theirs = plan_order()
    assert theirs == ["assessment", "dashboard", "wizard"]
    response = client.post(
        ORDER_URL, {"order": ["wizard", "assessment", "dashboard"], "was": shown}, headers=JSON
    )
    assert response.status_code == 409
    assert response.json()["order"] == theirs
    assert plan_order() == theirs


def test_only_the_squads_members_reorder_its_initiatives(client, carol, dora, leo, plan):
    posted = {"order": ["wizard", "assessment", "dashboard"], "was": plan_order()}
    for person in (carol, dora, leo):
        client.force_login(person)
        assert client.post(ORDER_URL, posted, headers=JSON).status_code == 403
        assert client.post(move_url("wizard"), {"direction": "up"}).status_code == 403
    client.logout()
    assert client.post(ORDER_URL, posted, headers=JSON).status_code == 302  # to sign in
    assert plan_order() == ["assessment", "wizard", "dashboard"]


def test_an_initiative_order_without_the_csrf_token_changes_nothing(bob, plan):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(bob)
    posted = {"order": ["wizard", "assessment", "dashboard"], "was": plan_order()}
    assert browser.post(ORDER_URL, posted, headers=JSON).status_code == 403
    assert browser.post(move_url("wizard"), {"direction": "up"}).status_code == 403
    assert plan_order() == ["assessment", "wizard", "dashboard"]


def test_the_up_and_down_buttons_move_an_initiative_within_its_function(client, bob, plan):
    client.force_login(bob)
    response = client.post(move_url("dashboard"), {"direction": "up"})
    assert response.status_code == 302
    assert response["Location"] == "/squads/first-90-days/plan/#initiative-dashboard"
    assert plan_order() == ["assessment", "dashboard", "wizard"]
    # Over HTMX: the initiatives, redrawn in their new order.
    response = client.post(move_url("assessment"), {"direction": "down"}, headers=HTMX)
    assert response.status_code == 200
    page = response.content.decode()
    assert page.index('id="initiative-dashboard"') < page.index('id="initiative-assessment"')
    assert plan_order() == ["dashboard", "assessment", "wizard"]
    # At the end of its function: nothing moves, not even past the Marketing one.
    client.post(move_url("wizard"), {"direction": "down"})
    client.post(move_url("dashboard"), {"direction": "up"})
    assert plan_order() == ["dashboard", "assessment", "wizard"]
    assert client.post(move_url("wizard"), {"direction": "left"}).status_code == 400
    assert client.post(move_url("nope"), {"direction": "up"}).status_code == 404
    assert client.get(move_url("wizard")).status_code == 405
    assert plan_order() == ["dashboard", "assessment", "wizard"]


def test_the_plan_shows_the_buttons_and_the_handle_only_to_those_who_may_move(
    client, bob, carol, leo, plan
):
    client.force_login(bob)
    page = client.get("/squads/first-90-days/plan/").content.decode()
    assert 'aria-label="Move Wizard up"' in page
    assert 'data-reorder-url="/squads/first-90-days/plan/initiative-order/"' in page
    assert page.count("data-reorder-handle hidden") == 4
    # Arranged by date, there is no function order to move in.
    page = client.get("/squads/first-90-days/plan/?view=timeline").content.decode()
    assert "data-reorder-handle" not in page and "Move Wizard up" not in page
    client.force_login(leo)  # reads the plan, changes nothing in it
    page = client.get("/squads/first-90-days/plan/").content.decode()
    assert "data-reorder-url" not in page and "data-reorder-handle" not in page
    assert "Move Wizard up" not in page


# --- a segment's milestones and the company's goals ---------------------------------------------


@pytest.fixture
def milestones(db):
    from journeys.models import Milestone, Segment

    segment = Segment.objects.create(key="icp", name="Mid-market")
    for position, (key, day) in enumerate([("kickoff", 1), ("first-value", 14), ("activated", 30)]):
        Milestone.objects.create(
            segment=segment, key=key, name=key.title(), expected_day=day, position=position
        )
    return segment


def milestone_order() -> list[str]:
    from journeys.models import Milestone

    return list(
        Milestone.objects.filter(segment__key="icp")
        .order_by("position", "expected_day", "id")
        .values_list("key", flat=True)
    )


def test_leadership_puts_the_milestones_in_a_new_order_and_nobody_else(
    client, leo, olga, milestones
):
    url = reverse("journeys:milestone_order", args=["icp"])
    posted = {"order": ["activated", "kickoff", "first-value"], "was": milestone_order()}
    client.force_login(olga)
    assert client.post(url, posted, headers=JSON).status_code == 403
    assert milestone_order() == ["kickoff", "first-value", "activated"]
    client.force_login(leo)
    assert (
        client.post(url, {**posted, "order": ["activated", "kickoff"]}, headers=JSON).status_code
        == 400
    )
    assert milestone_order() == ["kickoff", "first-value", "activated"]
    assert client.post(url, posted, headers=JSON).status_code == 200
    assert milestone_order() == ["activated", "kickoff", "first-value"]
    # The same move again, from the page drawn before it: refused.
    assert client.post(url, posted, headers=JSON).status_code == 409
    assert milestone_order() == ["activated", "kickoff", "first-value"]


@pytest.fixture
def goals(db):
    from squads.models import Goal

    for position, key in enumerate(["retention", "expansion", "efficiency"]):
        Goal.objects.create(
            key=key,
            name=key.title(),
            customer_success="Customers succeed.",
            starts_year=2027,
            ends_year=2029,
            position=position,
        )


def goal_order() -> list[str]:
    from squads.models import Goal

    return list(
        Goal.objects.order_by("position", "starts_year", "id").values_list("key", flat=True)
    )


def test_leadership_puts_the_goals_in_a_new_order_and_nobody_else(client, leo, alice, goals):
    posted = {"order": ["efficiency", "retention", "expansion"], "was": goal_order()}
    client.force_login(alice)
    assert client.post("/goals/", posted, headers=JSON).status_code == 403
    client.force_login(leo)
    assert client.post("/goals/", {"order": ["efficiency"], "was": ["nope"]}).status_code == 302
    assert goal_order() == ["retention", "expansion", "efficiency"]
    assert client.post("/goals/", posted, headers=JSON).status_code == 200
    assert goal_order() == ["efficiency", "retention", "expansion"]
    page = client.get("/goals/").content.decode()
    assert 'data-reorder-url="/goals/"' in page
    assert page.index('id="goal-efficiency"') < page.index('id="goal-retention"')
