"""The REST API for the customer's outcomes: goals and the objectives serving them,
segments' success outcomes and milestones, a journey's stages with value states and
touchpoints. The same rights as the pages: everyone signed in reads; leadership writes the
goals; a squad's DRI (and leadership) says which goals its objective serves."""

from __future__ import annotations

import io
import json

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client

from api.models import ApiToken
from journeys.models import Segment
from squads.models import Goal, ObjectiveGoal

pytestmark = pytest.mark.django_db
User = get_user_model()


@pytest.fixture
def demo(db):
    call_command("load_demo", "--allow-production", stdout=io.StringIO())


def bearer(username: str) -> Client:
    _row, token = ApiToken.issue(user=User.objects.get(username=username), name="tests")
    return Client(headers={"authorization": f"Bearer {token}"})


def send(client: Client, method: str, url: str, payload: dict):
    return getattr(client, method)(url, json.dumps(payload), content_type="application/json")


def goal(**changes) -> dict:
    return {
        "key": "net-revenue",
        "name": "Grow net revenue retention",
        "description": "Customers stay and grow with us.",
        "customer_success": "Customers renew because they reached their outcome.",
        "starts_year": 2027,
        "ends_year": 2029,
        "owner": "priya",
        "segments": ["mid-market"],
        **changes,
    }


# --- reading -----------------------------------------------------------------------------


def test_goals_come_with_the_objectives_serving_them(demo):
    body = bearer("lee").get("/api/v1/goals").json()
    assert [g["key"] for g in body["items"]] == [
        "customer-success",
        "mid-market-leader",
        "trusted-brand",
    ]
    first = body["items"][0]
    assert first["owner"] == "priya"
    assert first["segments"] == ["mid-market", "enterprise"]
    assert {o["squad"] for o in first["objectives"]} == {"first-90-days", "cs-onboarding"}
    assert all(o["cycle"] == "fy2027" and o["objective"] for o in first["objectives"])
    assert body["items"][2]["objectives"] == []  # served by none
    one = bearer("lee").get("/api/v1/goals/mid-market-leader").json()
    assert {o["squad"] for o in one["objectives"]} == {"first-90-days", "product-led"}


def test_a_segment_comes_with_its_success_outcome_and_milestones(demo):
    body = bearer("lee").get("/api/v1/segments/mid-market").json()
    assert body["success"]["sentence"] == "80% of seats active within 60 days"
    assert body["success"]["owner"] == "priya"
    milestones = body["milestones"]
    assert [m["expected_day"] for m in milestones] == [1, 14, 30, 60, 90]
    assert [m["key"] for m in milestones if m["success"]] == ["seats-active"]
    invited = next(m for m in milestones if m["key"] == "team-invited")
    assert invited["moment"] == "lifecycle/adoption/month-1"
    assert invited["latest_reading"]["completion_rate"] == "48.00"
    first = next(m for m in milestones if m["key"] == "first-milestone")
    assert first["latest_reading"]["measured_on"] == "2026-11-30"  # the latest of two
    assert next(m for m in milestones if m["success"])["latest_reading"] is None
    listed = bearer("lee").get("/api/v1/segments").json()
    assert [s["key"] for s in listed["items"]] == ["mid-market", "enterprise"]
    assert listed["items"][1]["success"]["sentence"] == "3 departments live within 180 days"
    # A unit that is a word stands apart from the number, as on the pages.
    Segment.objects.filter(key="enterprise").update(
        success_unit="seats", success_metric="active", success_within_days=1
    )
    again = bearer("lee").get("/api/v1/segments/enterprise").json()
    assert again["success"]["sentence"] == "3 seats active within 1 day"


def test_a_journeys_stages_come_with_value_states_moments_and_touchpoints(demo):
    body = bearer("lee").get("/api/v1/journeys/lifecycle/stages").json()
    stages = {s["key"]: s for s in body["items"]}
    assert [s["key"] for s in body["items"]][:2] == ["acquisition", "onboarding"]
    onboarding = stages["onboarding"]
    assert (onboarding["value_today"], onboarding["value_target"]) == ("none", "first_value")
    assert stages["expansion"]["expansion"] is True
    assert not onboarding["expansion"]
    week_2 = next(m for m in onboarding["moments"] if m["key"] == "week-2")
    assert week_2["ref"] == "lifecycle/onboarding/week-2"
    assert {(t["function"], t["squad"], t["segment"]) for t in week_2["touchpoints"]} == {
        ("Customer Success", "first-90-days", "mid-market"),
        ("Marketing", "marketing-education", "mid-market"),
    }
    month_1 = stages["adoption"]["moments"][0]
    assert (month_1["key"], month_1["touchpoints"]) == ("month-1", [])


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/goals/nope",
        "/api/v1/segments/nope",
        "/api/v1/journeys/nope/stages",
    ],
)
def test_an_unknown_key_is_404_with_a_sentence(demo, url):
    response = bearer("lee").get(url)
    assert response.status_code == 404
    assert "nope" in response.json()["detail"]


@pytest.mark.parametrize(
    ("method", "url", "payload"),
    [
        ("get", "/api/v1/goals", None),
        ("get", "/api/v1/segments/mid-market", None),
        ("get", "/api/v1/journeys/lifecycle/stages", None),
        ("post", "/api/v1/goals", goal()),
        ("put", "/api/v1/goals/trusted-brand", goal()),
        ("delete", "/api/v1/goals/trusted-brand", None),
        ("put", "/api/v1/squads/product-led/okr/goals", {"goals": []}),
    ],
)
def test_a_made_up_or_revoked_token_is_refused_on_every_new_route(demo, method, url, payload):
    row, token = ApiToken.issue(user=User.objects.get(username="priya"), name="old")
    row.revoke()
    for value in (token, token[:-2] + "xx"):
        client = Client(headers={"authorization": f"Bearer {value}"})
        if payload is None:
            response = getattr(client, method)(url)
        else:
            response = send(client, method, url, payload)
        assert response.status_code == 401
        detail = response.json()["detail"]
        assert detail.startswith(
            "This API token was revoked" if value == token else "This API token is not one"
        ), detail
    assert Goal.objects.count() == 3
    assert ObjectiveGoal.objects.count() == 4


def test_trailing_slashes_answer_as_on_the_other_routes(demo):
    client = bearer("lee")
    for existing, new in (
        ("/api/v1/squads/", "/api/v1/goals/"),
        ("/api/v1/squads/first-90-days/", "/api/v1/goals/trusted-brand/"),
        ("/api/v1/journeys/lifecycle/", "/api/v1/journeys/lifecycle/stages/"),
    ):
        assert client.get(new).status_code == client.get(existing).status_code == 404


# --- goals: leadership writes ------------------------------------------------------------


def test_leadership_adds_a_goal_and_others_may_not(demo):
    refused = send(bearer("lee"), "post", "/api/v1/goals", goal())
    assert refused.status_code == 403
    assert "leadership" in refused.json()["detail"]
    assert not Goal.objects.filter(key="net-revenue").exists()

    made = send(bearer("priya"), "post", "/api/v1/goals", goal())
    assert made.status_code == 201, made.content
    body = made.json()
    assert (body["key"], body["owner"], body["segments"]) == (
        "net-revenue",
        "priya",
        ["mid-market"],
    )
    assert body["objectives"] == []
    assert body["position"] == 3  # last among the goals
    assert bearer("lee").get("/api/v1/goals/net-revenue").status_code == 200


@pytest.mark.parametrize(
    ("changes", "field", "says"),
    [
        ({"ends_year": 2026}, "ends_year", "ends before it starts"),
        ({"segments": ["smb"]}, "segments", "No segment has the key 'smb'"),
        ({"owner": "ghost"}, "owner", "Nobody has the username 'ghost'"),
        ({"key": "customer-success"}, "key", "Another goal uses this key"),
        ({"key": "Not a key!"}, "key", ""),
        ({"customer_success": " "}, "customer_success", "customer success"),
    ],
)
def test_a_bad_goal_is_refused_with_the_field_and_a_sentence(demo, changes, field, says):
    before = list(Goal.objects.values_list("key", "version"))
    response = send(bearer("priya"), "post", "/api/v1/goals", goal(**changes))
    assert response.status_code == 400, response.content
    errors = response.json()["errors"]
    assert field in errors
    assert says in " ".join(errors[field])
    assert list(Goal.objects.values_list("key", "version")) == before


def test_a_goal_is_changed_against_its_version_and_a_stale_one_changes_nothing(demo):
    client = bearer("priya")
    current = client.get("/api/v1/goals/trusted-brand").json()
    changed = goal(name="Be the tool people recommend", version=current["version"])
    del changed["key"]
    saved = send(client, "put", "/api/v1/goals/trusted-brand", changed)
    assert saved.status_code == 200, saved.content
    assert saved.json()["name"] == "Be the tool people recommend"
    assert saved.json()["version"] == current["version"] + 1
    assert saved.json()["key"] == "trusted-brand"

    stale = send(client, "put", "/api/v1/goals/trusted-brand", {**changed, "name": "Older"})
    assert stale.status_code == 409
    assert "version" in stale.json()["errors"]
    assert Goal.objects.get(key="trusted-brand").name == "Be the tool people recommend"

    unknown = send(client, "put", "/api/v1/goals/nope", changed)
    assert unknown.status_code == 404
    refused = send(bearer("omar"), "put", "/api/v1/goals/trusted-brand", changed)
    assert refused.status_code == 403


def test_removing_a_goal_objectives_serve_asks_first(demo):
    client = bearer("priya")
    assert client.delete("/api/v1/goals/customer-success").status_code == 409
    assert ObjectiveGoal.objects.filter(goal__key="customer-success").count() == 2
    assert bearer("omar").delete("/api/v1/goals/trusted-brand").status_code == 403
    assert Goal.objects.filter(key="trusted-brand").exists()

    removed = client.delete("/api/v1/goals/customer-success?take_off_objectives=true")
    assert removed.status_code == 200, removed.content
    assert removed.json()["key"] == "customer-success"
    assert removed.json()["took"]
    assert not ObjectiveGoal.objects.filter(goal__key="customer-success").exists()
    listed = [g["key"] for g in client.get("/api/v1/goals").json()["items"]]
    assert listed == ["mid-market-leader", "trusted-brand"]
    assert client.get("/api/v1/goals/customer-success").status_code == 404
    # A goal no objective serves goes without a question.
    assert client.delete("/api/v1/goals/trusted-brand").status_code == 200


# --- the goals a squad's objective serves ------------------------------------------------


def test_a_dri_sets_the_goals_their_objective_serves(demo):
    url = "/api/v1/squads/product-led/okr/goals"
    saved = send(bearer("omar"), "put", url, {"goals": ["trusted-brand", "customer-success"]})
    assert saved.status_code == 200, saved.content
    assert saved.json()["goals"] == ["customer-success", "trusted-brand"]
    assert set(
        ObjectiveGoal.objects.filter(okr__squad__key="product-led").values_list(
            "goal__key", flat=True
        )
    ) == {"customer-success", "trusted-brand"}
    emptied = send(bearer("omar"), "put", url, {"goals": []})
    assert emptied.json()["goals"] == []
    assert not ObjectiveGoal.objects.filter(okr__squad__key="product-led").exists()


def test_another_squads_objective_is_refused_to_a_dri_and_to_a_member(demo):
    url = "/api/v1/squads/first-90-days/okr/goals"
    for who in ("omar", "ada"):  # another squad's DRI; a member who is not the DRI
        response = send(bearer(who), "put", url, {"goals": ["trusted-brand"]})
        assert response.status_code == 403
    assert set(
        ObjectiveGoal.objects.filter(okr__squad__key="first-90-days").values_list(
            "goal__key", flat=True
        )
    ) == {"customer-success", "mid-market-leader"}
    assert (
        send(bearer("omar"), "put", "/api/v1/squads/nope/okr/goals", {"goals": []}).status_code
        == 404
    )


def test_an_unknown_or_removed_goal_is_refused_and_nothing_changes(demo):
    url = "/api/v1/squads/product-led/okr/goals"
    response = send(bearer("omar"), "put", url, {"goals": ["customer-success", "growth"]})
    assert response.status_code == 400
    assert "No goal has the key 'growth'" in response.json()["errors"]["goals"][0]
    bearer("priya").delete("/api/v1/goals/trusted-brand")
    gone = send(bearer("omar"), "put", url, {"goals": ["trusted-brand"]})
    assert gone.status_code == 400
    assert list(
        ObjectiveGoal.objects.filter(okr__squad__key="product-led").values_list(
            "goal__key", flat=True
        )
    ) == ["mid-market-leader"]


def test_new_lists_do_not_grow_with_the_data(demo, django_assert_max_num_queries):
    client = bearer("lee")
    for url in ("/api/v1/goals", "/api/v1/segments", "/api/v1/journeys/lifecycle/stages"):
        with django_assert_max_num_queries(12):
            assert client.get(url).status_code == 200
    for n in range(20):
        send(bearer("priya"), "post", "/api/v1/goals", goal(key=f"g{n}", name=f"Goal {n}"))
    with django_assert_max_num_queries(12):
        assert client.get("/api/v1/goals", {"limit": 200}).json()["count"] == 23
