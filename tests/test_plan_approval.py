"""Approving a plan, and a cycle that keeps draft plans to those working on them."""

from __future__ import annotations

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client

from api.models import ApiToken
from core.models import Cycle
from squads.models import Plan

pytestmark = pytest.mark.django_db
User = get_user_model()
SQUAD = "first-90-days"
PLAN = f"/squads/{SQUAD}/plan/"
# Everything under the plan page that shows what the plan says.
PLAN_PAGES = [
    PLAN,
    f"{PLAN}section/desired-experience/",
    f"{PLAN}section/desired-experience/comments/",
    f"{PLAN}initiatives/",
    f"{PLAN}initiatives/assessment-tool/",
    f"{PLAN}initiatives/assessment-tool/comments/",
    f"{PLAN}history/",
    f"{PLAN}live/",
]


@pytest.fixture
def demo():
    call_command("load_demo", "--allow-production", stdout=io.StringIO())
    User.objects.create_user("rita")  # signed in, in no squad and no group


def signed_in(username: str) -> Client:
    client = Client()
    client.force_login(User.objects.get(username=username))
    return client


def restrict_drafts(on: bool = True) -> None:
    response = signed_in("priya").post("/cycles/fy2027/settings/", {"restrict_drafts": on or ""})
    assert response.status_code == 302
    assert Cycle.objects.get(key="fy2027").restrict_drafts is on


def test_the_dri_approves_the_plan_and_everyone_sees_who_and_when(demo):
    dri = signed_in("priya")
    assert "Approve the plan" in dri.get(PLAN).content.decode()
    assert "Approve the plan" not in signed_in("marco").get(PLAN).content.decode()

    response = dri.post(f"{PLAN}approval/", {"decision": "approve"}, follow=True)
    page = response.content.decode()
    assert "is approved" in page
    assert "Approved</span> by Priya" in page
    assert "Return to draft" in page
    plan = Plan.objects.get(squad__key=SQUAD)
    assert plan.approved_by.username == "priya" and plan.approved_at is not None

    history = signed_in("rita").get(f"{PLAN}history/").content.decode()
    assert "approved" in history and "the plan" in history

    dri.post(f"{PLAN}approval/", {"decision": "draft"})
    assert Plan.objects.get(squad__key=SQUAD).approved_at is None
    assert "returned to draft" in signed_in("rita").get(f"{PLAN}history/").content.decode()


def test_only_the_dri_approves(demo):
    for username in ("marco", "rita", "sam"):  # a member, a reader, operations
        response = signed_in(username).post(f"{PLAN}approval/", {"decision": "approve"})
        assert response.status_code == 403, username
    assert not Plan.objects.filter(squad__key=SQUAD, approved_at__isnull=False).exists()


def test_a_decision_that_is_neither_is_refused_and_changes_nothing(demo):
    response = signed_in("priya").post(f"{PLAN}approval/", {"decision": "maybe"}, follow=True)
    assert "Choose whether to approve the plan" in response.content.decode()
    assert not Plan.objects.filter(squad__key=SQUAD, approved_at__isnull=False).exists()


def test_only_leadership_changes_whether_drafts_are_restricted(demo):
    for username in ("marco", "rita", "sam"):
        response = signed_in(username).post("/cycles/fy2027/settings/", {"restrict_drafts": "on"})
        assert response.status_code == 403, username
    assert Cycle.objects.get(key="fy2027").restrict_drafts is False
    page = signed_in("priya").get("/cycles/fy2027/settings/").content.decode()
    assert "4 plans of this cycle are drafts" in page


def test_restricted_drafts_are_read_only_by_the_squad_leadership_and_operations(demo):
    for url in PLAN_PAGES:
        assert signed_in("rita").get(url).status_code in (200, 302), url
    restrict_drafts()

    for url in PLAN_PAGES:
        response = signed_in("rita").get(url)
        assert response.status_code == 403, url
    refused = signed_in("rita").get(PLAN).content.decode()
    assert "until the DRI approves the plan" in refused
    # Not the plan's words, not even its title.
    assert "Assessment" not in refused

    for username in ("marco", "priya", "sam"):  # a member, leadership (and DRI), operations
        assert signed_in(username).get(PLAN).status_code == 200, username
    # The squad itself stays company-wide.
    assert signed_in("rita").get(f"/squads/{SQUAD}/").status_code == 200

    signed_in("priya").post(f"{PLAN}approval/", {"decision": "approve"})
    for url in PLAN_PAGES:
        assert signed_in("rita").get(url).status_code in (200, 302), url


def test_the_api_leaves_out_initiatives_of_restricted_drafts(demo):
    restrict_drafts()
    _row, reader_token = ApiToken.issue(user=User.objects.get(username="rita"), name="t")
    _row, member_token = ApiToken.issue(user=User.objects.get(username="lee"), name="t")
    reader = Client(headers={"authorization": f"Bearer {reader_token}"})
    member = Client(headers={"authorization": f"Bearer {member_token}"})

    assert reader.get("/api/v1/initiatives").json()["count"] == 0
    mine = member.get("/api/v1/initiatives").json()["items"]
    assert mine and {i["squad"] for i in mine} == {"cs-onboarding"}
    assert reader.get(f"/api/v1/initiatives/{SQUAD}/assessment-tool").status_code == 403

    signed_in("priya").post(f"{PLAN}approval/", {"decision": "approve"})
    squads = {i["squad"] for i in reader.get("/api/v1/initiatives").json()["items"]}
    assert squads == {SQUAD}
    assert reader.get(f"/api/v1/initiatives/{SQUAD}/assessment-tool").status_code == 200
