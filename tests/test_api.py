"""The REST API: personal tokens, the same rights as the web pages, pages and filters."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from api.models import ApiToken
from core.access import OPERATIONS
from core.models import Cycle
from dependencies.models import Dependency
from planning import services as review_services
from planning.models import Finding, Notification
from squads.models import CheckIn, Initiative, KeyResult

pytestmark = pytest.mark.django_db
User = get_user_model()


@pytest.fixture
def demo(db):
    call_command("load_demo", "--allow-production", stdout=io.StringIO())


def bearer(username: str) -> Client:
    _row, token = ApiToken.issue(user=User.objects.get(username=username), name="tests")
    return Client(headers={"authorization": f"Bearer {token}"})


def post(client: Client, url: str, payload: dict):
    return client.post(url, json.dumps(payload), content_type="application/json")


def put(client: Client, url: str, payload: dict):
    return client.put(url, json.dumps(payload), content_type="application/json")


def test_without_a_token_the_api_says_how_to_sign_in(demo):
    response = Client().get("/api/v1/squads")
    assert response.status_code == 401
    assert "Authorization: Bearer" in response.json()["detail"]


def test_a_revoked_or_made_up_token_is_refused(demo):
    row, token = ApiToken.issue(user=User.objects.get(username="ada"), name="laptop")
    client = Client(headers={"authorization": f"Bearer {token}"})
    assert client.get("/api/v1/cycles").status_code == 200
    row.revoke()
    assert client.get("/api/v1/cycles").status_code == 401
    forged = Client(headers={"authorization": f"Bearer {token[:-2]}xx"})
    assert forged.get("/api/v1/cycles").status_code == 401


def test_a_token_of_a_deactivated_person_stops_working(demo):
    client = bearer("ada")
    User.objects.filter(username="ada").update(is_active=False)
    response = client.get("/api/v1/cycles")
    assert response.status_code == 401
    assert "deactivated" in response.json()["detail"]


def test_a_refused_token_is_told_why_not_to_send_a_token(demo):
    row, token = ApiToken.issue(user=User.objects.get(username="ada"), name="laptop")
    row.revoke()
    revoked = Client(headers={"authorization": f"Bearer {token}"}).get("/api/v1/cycles")
    assert revoked.status_code == 401
    assert "was revoked" in revoked.json()["detail"]
    assert "Send a personal API token" not in revoked.json()["detail"]
    made_up = Client(headers={"authorization": "Bearer tl_nothing"}).get("/api/v1/cycles")
    assert made_up.status_code == 401
    assert "not one Throughline issued" in made_up.json()["detail"]
    basic = Client(headers={"authorization": "Basic YWRhOnB3"}).get("/api/v1/cycles")
    assert basic.status_code == 401
    assert "not a bearer token" in basic.json()["detail"]


def test_an_address_with_a_trailing_slash_answers_json_naming_the_right_one(demo):
    client = bearer("sam")
    response = client.get("/api/v1/squads/")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json()["detail"] == "The API's addresses end without a slash: /api/v1/squads"
    nowhere = Client().get("/api/v1/no-such-thing/")
    assert nowhere.status_code == 404
    assert "no such address" in nowhere.json()["detail"]
    assert "<html" not in nowhere.content.decode()


def test_squads_come_with_dri_members_and_okr(demo):
    body = bearer("sam").get("/api/v1/squads", {"cycle": "fy2027"}).json()
    assert body["count"] == 4
    squad = next(s for s in body["items"] if s["key"] == "first-90-days")
    assert squad["dri"] == "priya"
    assert {m["person"] for m in squad["members"]} == {"priya", "marco", "ada", "sam", "jo"}
    assert [kr["key"] for kr in squad["okr"]["key_results"]] == ["activation", "ttv"]
    assert squad["okr"]["objective"]


def test_lists_are_paged_and_a_silly_page_size_is_refused(demo):
    client = bearer("sam")
    first = client.get("/api/v1/initiatives", {"limit": 3}).json()
    second = client.get("/api/v1/initiatives", {"limit": 3, "offset": 3}).json()
    assert first["count"] == Initiative.objects.count() == 9
    assert len(first["items"]) == len(second["items"]) == 3
    assert not {i["ref"] for i in first["items"]} & {i["ref"] for i in second["items"]}
    refused = client.get("/api/v1/initiatives", {"limit": 5000})
    assert refused.status_code == 400
    assert "limit runs from 1 to 200" in refused.json()["detail"]
    too_far = client.get("/api/v1/initiatives", {"offset": 2**63})
    assert too_far.status_code in {400, 422}
    assert "offset" in json.dumps(too_far.json())


def test_initiatives_filter_by_squad_status_and_stage(demo):
    client = bearer("sam")
    mine = client.get("/api/v1/initiatives", {"squad": "cs-onboarding"}).json()
    assert [i["ref"] for i in mine["items"]] == ["cs-onboarding/onboarding-program"]
    stage = mine["items"][0]["stage"]
    same_stage = client.get("/api/v1/initiatives", {"stage": stage}).json()["items"]
    assert "cs-onboarding/onboarding-program" in {i["ref"] for i in same_stage}
    assert all(i["stage"] == stage for i in same_stage)
    dropped = client.get("/api/v1/initiatives", {"status": "dropped"}).json()
    assert dropped["count"] == Initiative.objects.filter(status="dropped").count()


def test_a_member_records_a_check_in_and_an_outsider_may_not(demo):
    url = "/api/v1/squads/first-90-days/key-results/activation/check-ins"
    refused = post(bearer("lee"), url, {"value": "41", "confidence": 6})
    assert refused.status_code == 403
    assert not CheckIn.objects.exists()

    made = post(bearer("ada"), url, {"value": "41.5", "confidence": 7, "note": "Wizard beta"})
    assert made.status_code == 201, made.content
    assert made.json()["author"] == "ada"
    assert KeyResult.objects.get(key="activation").current == pytest.approx(41.5)
    listed = bearer("lee").get(url).json()
    assert [c["note"] for c in listed["items"]] == ["Wizard beta"]


def test_a_check_in_out_of_range_is_refused_with_the_field_named(demo):
    url = "/api/v1/squads/first-90-days/key-results/activation/check-ins"
    response = post(bearer("ada"), url, {"value": "41", "confidence": 11})
    assert response.status_code == 422
    assert "confidence" in response.json()["errors"]
    assert not CheckIn.objects.exists()


def initiative(**changes) -> dict:
    return {
        "key": "office-hours",
        "title": "Weekly office hours for new admins",
        "description": "A CSM answers setup questions live.",
        "function": "Customer Success",
        "stage": None,
        "segment": None,
        "starts": "2027-02-01",
        "ends": "2027-03-31",
        "headcount": "0.5",
        "status": "planned",
        **changes,
    }


def test_members_add_and_change_initiatives_with_the_plans_rules(demo):
    client = bearer("ada")
    bad = post(client, "/api/v1/initiatives/first-90-days", initiative(ends="2027-01-01"))
    assert bad.status_code == 400
    assert bad.json()["errors"]["ends"] == ["The end date is before the start date."]
    assert not Initiative.objects.filter(key="office-hours").exists()

    made = post(client, "/api/v1/initiatives/first-90-days", initiative())
    assert made.status_code == 201, made.content
    assert made.json()["ref"] == "first-90-days/office-hours"

    lean = initiative(impact={"team": 2, "business": 2, "customer": -2})
    del lean["key"]
    asked = put(client, "/api/v1/initiatives/first-90-days/office-hours", lean)
    assert asked.status_code == 400
    assert "counter_measure" in asked.json()["errors"]
    lean["counter_measure"] = "Record the sessions for customers who cannot attend."
    changed = put(client, "/api/v1/initiatives/first-90-days/office-hours", lean)
    assert changed.status_code == 200, changed.content
    assert changed.json()["impact"] == {"team": 2, "business": 2, "customer": -2}

    outsider = post(bearer("lee"), "/api/v1/initiatives/first-90-days", initiative(key="x"))
    assert outsider.status_code == 403
    assert not Initiative.objects.filter(key="x").exists()


def test_a_dependency_is_asked_for_by_members_and_answered_by_the_provider(demo):
    payload = {
        "needed_by": "first-90-days/assessment-tool",
        "provided_by": "cs-onboarding",
        "what": "Two CSMs to pilot the assessment",
        "due": "2027-02-15",
        "blocking": True,
    }
    assert post(bearer("lee"), "/api/v1/dependencies", payload).status_code == 403
    made = post(bearer("ada"), "/api/v1/dependencies", payload)
    assert made.status_code == 201, made.content
    key = made.json()["key"]
    assert made.json()["status"] == "requested"

    answer = f"/api/v1/dependencies/{key}/answer"
    assert post(bearer("ada"), answer, {"action": "accept"}).status_code == 403
    no_reason = post(bearer("lee"), answer, {"action": "decline"})
    assert no_reason.status_code == 400
    assert "reason" in no_reason.json()["errors"]
    accepted = post(bearer("lee"), answer, {"action": "accept"})
    assert accepted.status_code == 200
    assert Dependency.objects.get(key=key).status == "accepted"

    needed = bearer("sam").get("/api/v1/dependencies", {"provided_by": "cs-onboarding"}).json()
    assert key in {d["key"] for d in needed["items"]}


def test_a_dependency_due_in_the_past_is_recorded_with_a_warning(demo):
    today = timezone.localdate()
    payload = {
        "needed_by": "first-90-days",
        "to_function": "Legal",
        "what": "Contract review",
        "due": (today - dt.timedelta(days=2)).isoformat(),
    }
    late = post(bearer("ada"), "/api/v1/dependencies", {**payload, "key": "late"})
    assert late.status_code == 201, late.content
    [warning] = late.json()["warnings"]
    assert "is already past (2 days ago)" in warning
    assert "late from the moment it is saved" in warning

    on_time = {**payload, "key": "on-time", "due": (today + dt.timedelta(days=2)).isoformat()}
    made = post(bearer("ada"), "/api/v1/dependencies", on_time)
    assert made.status_code == 201 and made.json()["warnings"] == []
    # Reading it back is not news: no warnings there.
    assert "warnings" not in bearer("ada").get("/api/v1/dependencies/late").json()


def test_accepting_through_the_api_past_the_due_date_warns(demo):
    Dependency.objects.filter(key="messaging-mid-q1").update(
        due=timezone.localdate() - dt.timedelta(days=1)
    )
    answered = post(
        bearer("omar"), "/api/v1/dependencies/messaging-mid-q1/answer", {"action": "accept"}
    )
    assert answered.status_code == 200, answered.content
    [warning] = answered.json()["warnings"]
    assert "(yesterday), so this promise is late already" in warning


def test_a_decline_through_the_api_tells_the_needing_squad(demo):
    answer = {"action": "decline", "reason": "Nobody free"}
    response = post(bearer("omar"), "/api/v1/dependencies/messaging-mid-q1/answer", answer)
    assert response.status_code == 200, response.content
    told = Notification.objects.filter(kind="dependency", dependency__key="messaging-mid-q1")
    assert {n.recipient.username for n in told} == {"priya", "marco", "ada", "sam", "jo"}
    assert all("Omar Haddad declined" in n.message and "Nobody free" in n.message for n in told)


def test_the_needing_side_cannot_name_itself_owner_and_answer(demo):
    # ada is in First 90 Days, the needing squad: naming herself the provider's owner was
    # the way to accept her own request.
    payload = {
        "needed_by": "first-90-days",
        "provided_by": "cs-onboarding",
        "what": "Two CSMs to pilot the assessment",
        "due": "2027-02-15",
        "owner": "ada",
        "key": "pilot",
    }
    refused = post(bearer("ada"), "/api/v1/dependencies", payload)
    assert refused.status_code == 400
    assert "not a member of" in refused.json()["errors"]["owner"][0]
    assert not Dependency.objects.filter(key="pilot").exists()

    made = post(bearer("ada"), "/api/v1/dependencies", {**payload, "owner": "lee"})
    assert made.status_code == 201, made.content
    assert made.json()["owner"] == "lee"
    # A stored owner off the provider side (from before the rule) does not answer either.
    Dependency.objects.filter(key="pilot").update(owner=User.objects.get(username="ada"))
    answer = post(bearer("ada"), "/api/v1/dependencies/pilot/answer", {"action": "accept"})
    assert answer.status_code == 403
    assert Dependency.objects.get(key="pilot").status == "requested"


def test_a_function_owner_must_be_of_that_function(demo):
    payload = {"needed_by": "first-90-days", "to_function": "Marketing", "what": "Copy"}
    payload["due"] = "2027-02-15"
    refused = post(bearer("ada"), "/api/v1/dependencies", {**payload, "owner": "lee"})
    assert refused.status_code == 400
    assert "not in Marketing" in refused.json()["errors"]["owner"][0]
    made = post(bearer("ada"), "/api/v1/dependencies", {**payload, "owner": "nina", "key": "c"})
    assert made.status_code == 201, made.content
    assert (
        post(bearer("nina"), "/api/v1/dependencies/c/answer", {"action": "accept"}).json()["status"]
        == "accepted"
    )


@pytest.mark.parametrize(
    ("due", "says"),
    [
        ("9999-12-31", "from 2000-01-01 to 2100-12-31"),
        ("0001-01-01", "from 2000-01-01 to 2100-12-31"),
        ("2027-01-02junk", "YYYY-MM-DD"),
        ("2027-01-02T00:00:00", "YYYY-MM-DD"),
        ("2027-02-30", "not a day in the calendar"),
        (0, "YYYY-MM-DD"),
    ],
)
def test_a_due_date_is_exactly_yyyy_mm_dd_within_the_range(demo, due, says):
    before = Dependency.objects.count()
    payload = {"needed_by": "first-90-days", "to_function": "Legal", "what": "x", "due": due}
    response = post(bearer("ada"), "/api/v1/dependencies", payload)
    assert response.status_code == 422
    assert says in response.json()["errors"]["due"][0]
    assert Dependency.objects.count() == before


def test_initiative_dates_and_titles_are_checked_as_strictly(demo):
    client = bearer("ada")
    for changes, field in [
        ({"ends": "9999-12-31"}, "ends"),
        ({"starts": "1999-12-31"}, "starts"),
        ({"title": "\u200b\u200d\ufeff"}, "title"),
        ({"function": " \u2060 "}, "function"),
    ]:
        response = post(client, "/api/v1/initiatives/first-90-days", initiative(**changes))
        assert response.status_code == 422, changes
        assert field in response.json()["errors"]
    assert not Initiative.objects.filter(key="office-hours").exists()


@pytest.mark.parametrize("what", ["\u200b", "\ufeff", " \u200c\u200d "])
def test_what_made_only_of_invisible_characters_is_refused(demo, what):
    before = Dependency.objects.count()
    payload = {"needed_by": "first-90-days", "to_function": "Legal", "what": what}
    response = post(bearer("ada"), "/api/v1/dependencies", {**payload, "due": "2027-01-01"})
    assert response.status_code == 422
    assert "visible" in response.json()["errors"]["what"][0]
    assert Dependency.objects.count() == before


def test_a_dependency_naming_nothing_that_exists_is_refused_plainly(demo):
    response = post(
        bearer("ada"),
        "/api/v1/dependencies",
        {"needed_by": "nobody/nothing", "to_function": "Legal", "what": "x", "due": "2027-01-01"},
    )
    assert response.status_code == 400
    assert "nobody/nothing" in response.json()["errors"]["needed_by"][0]


def test_text_holding_a_nul_character_is_refused_with_the_field_named(demo):
    before = Dependency.objects.count()
    response = post(
        bearer("ada"),
        "/api/v1/dependencies",
        {
            "needed_by": "first-90-days",
            "to_function": "Legal",
            "what": "x\x00",
            "due": "2027-01-01",
        },
    )
    assert response.status_code == 422
    assert "NUL" in response.json()["errors"]["what"][0]
    assert Dependency.objects.count() == before


def test_findings_are_listed_and_triaged_by_those_who_may(demo):
    cycle = Cycle.objects.get(key="fy2027")
    review_services.review_run(cycle=cycle, today=dt.date(2027, 2, 20), trigger="command")
    client = bearer("marco")  # a squad member: reads every finding, triages none
    overlap = client.get("/api/v1/findings", {"kind": "overlap"}).json()
    assert overlap["count"] >= 1
    finding = overlap["items"][0]
    assert finding["score"] is not None

    concerning = client.get("/api/v1/findings", {"squad": "cs-onboarding"}).json()["items"]
    assert concerning and all("squad:cs-onboarding" in f["subjects"] for f in concerning)

    url = f"/api/v1/findings/{finding['id']}/state"
    assert post(client, url, {"action": "acknowledge"}).status_code == 403
    ops = User.objects.get(username="jo")
    ops.groups.add(Group.objects.get_or_create(name=OPERATIONS)[0])
    no_reason = post(bearer("jo"), url, {"action": "dismiss"})
    assert no_reason.status_code == 400
    dismissed = post(bearer("jo"), url, {"action": "dismiss", "reason": "Same squad's plan"})
    assert dismissed.status_code == 200
    assert dismissed.json()["state"] == "dismissed"
    assert Finding.objects.get(pk=finding["id"]).state_changed_by == ops


def test_a_signed_in_browser_may_read_but_must_send_the_csrf_token_to_write(demo):
    client = Client(enforce_csrf_checks=True)
    client.force_login(User.objects.get(username="ada"))
    assert client.get("/api/v1/cycles").status_code == 200
    url = "/api/v1/squads/first-90-days/key-results/activation/check-ins"
    refused = post(client, url, {"value": "41", "confidence": 6})
    assert refused.status_code == 403
    assert not CheckIn.objects.exists()


def test_the_openapi_document_is_served_at_a_stable_url(demo):
    document = bearer("sam").get("/api/v1/openapi.json").json()
    assert document["openapi"].startswith("3.")
    assert "/api/v1/dependencies/{key}/answer" in document["paths"]
    assert document["components"]["securitySchemes"]


def test_list_queries_do_not_grow_with_the_data(demo, django_assert_max_num_queries):
    client = bearer("sam")
    with django_assert_max_num_queries(12):
        client.get("/api/v1/squads")
    with django_assert_max_num_queries(8):
        client.get("/api/v1/dependencies")
    call_command("load_demo", "--allow-production", stdout=io.StringIO())  # idempotent: same size
    for n in range(30):
        Initiative.objects.create(
            squad=Initiative.objects.first().squad,
            key=f"extra-{n}",
            title=f"Extra {n}",
            function="Product",
            starts=dt.date(2027, 1, 1),
            ends=dt.date(2027, 2, 1),
        )
    with django_assert_max_num_queries(8):
        client.get("/api/v1/initiatives", {"limit": 40})


# The token page ------------------------------------------------------------------------


def test_a_person_makes_a_token_sees_it_once_and_revokes_it(demo):
    client = Client()
    client.force_login(User.objects.get(username="ada"))
    made = client.post("/account/api-tokens/", {"name": "Weekly report"})
    token = made.context["new_token"]
    assert token and token in made.content.decode()
    assert (
        Client(headers={"authorization": f"Bearer {token}"}).get("/api/v1/cycles").status_code
        == 200
    )
    page = client.get("/account/api-tokens/").content.decode()
    assert "Weekly report" in page and token not in page

    row = ApiToken.objects.get(name="Weekly report")
    other = Client()
    other.force_login(User.objects.get(username="lee"))
    assert other.post(f"/account/api-tokens/{row.pk}/revoke/").status_code == 404
    client.post(f"/account/api-tokens/{row.pk}/revoke/")
    assert (
        Client(headers={"authorization": f"Bearer {token}"}).get("/api/v1/cycles").status_code
        == 401
    )


def test_a_token_without_a_name_is_not_made(demo):
    client = Client()
    client.force_login(User.objects.get(username="ada"))
    response = client.post("/account/api-tokens/", {"name": "  "})
    assert response.status_code == 400
    assert "Say what the token is for" in response.content.decode()
    assert not ApiToken.objects.exists()


# Schemathesis against the live app --------------------------------------------------------


@pytest.fixture
def live_demo(transactional_db, live_server):
    call_command("load_demo", "--allow-production", stdout=io.StringIO())
    cycle = Cycle.objects.get(key="fy2027")
    review_services.review_run(cycle=cycle, today=dt.date(2027, 2, 20), trigger="command")
    return live_server


def test_generated_requests_find_no_server_error_and_no_answer_off_the_schema(live_demo):
    """Every operation, fed requests generated from its own OpenAPI description, as the
    member of a squad: never a 5xx, and every answer matches the documented schema."""
    import schemathesis
    from hypothesis import HealthCheck, given, settings
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import response_schema_conformance

    _row, token = ApiToken.issue(user=User.objects.get(username="ada"), name="schemathesis")
    auth = {"Authorization": f"Bearer {token}"}
    schema = schemathesis.openapi.from_url(f"{live_demo.url}/api/v1/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 16
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=15,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def exercise(case):
            case.call_and_validate(
                base_url=live_demo.url,
                headers=auth,
                checks=[not_a_server_error, response_schema_conformance],
            )

        exercise()


def test_token_writes_count_against_the_persons_write_limit(demo, settings):
    settings.WRITE_RATE_LIMIT = 2
    client = bearer("ada")
    url = "/api/v1/squads/first-90-days/key-results/activation/check-ins"
    answers = [post(client, url, {"value": "41", "confidence": 6}) for _ in range(3)]
    assert [a.status_code for a in answers] == [201, 201, 429]
    refused = answers[-1]
    assert "Nothing was saved this time" in refused.json()["detail"]
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert CheckIn.objects.count() == 2
    assert client.get("/api/v1/cycles").status_code == 200  # reading goes on


def test_a_body_past_the_size_limit_is_refused_as_json(demo, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1_000
    url = "/api/v1/squads/first-90-days/key-results/activation/check-ins"
    response = post(bearer("ada"), url, {"value": "41", "confidence": 6, "note": "x" * 2_000})
    assert response.status_code == 413
    assert response["Content-Type"].startswith("application/json")
    assert "at most" in response.json()["detail"]
    assert not CheckIn.objects.exists()


# A bad token is 401 on every method, whatever else the request carries -------------------


BAD_TOKEN_REQUESTS = [
    ("get", "/api/v1/cycles", None),
    ("post", "/api/v1/squads/first-90-days/key-results/activation/check-ins", {"value": "41"}),
    ("put", "/api/v1/initiatives/first-90-days/assessment-tool", {"title": "Renamed"}),
]


def _send(client: Client, method: str, url: str, payload: dict | None):
    if payload is None:
        return getattr(client, method)(url)
    return getattr(client, method)(url, json.dumps(payload), content_type="application/json")


@pytest.mark.parametrize(("method", "url", "payload"), BAD_TOKEN_REQUESTS)
def test_a_made_up_or_revoked_token_is_401_as_json_on_every_method(demo, method, url, payload):
    row, token = ApiToken.issue(user=User.objects.get(username="ada"), name="laptop")
    row.revoke()
    made_up = "tl_" + "x" * 40
    for header in (f"Bearer {token}", f"Bearer {made_up}", "Bearer", f"Basic {made_up}"):
        # A script sends no CSRF token: the answer must still be about the token.
        client = Client(enforce_csrf_checks=True, headers={"authorization": header})
        response = _send(client, method, url, payload)
        assert response.status_code == 401, (header, response.content)
        assert response["Content-Type"] == "application/json; charset=utf-8"
        detail = response.json()["detail"]
        assert "token" in detail and "CSRF" not in detail, (header, detail)
    assert not CheckIn.objects.exists()
    assert not Initiative.objects.filter(title="Renamed").exists()


def test_a_bad_token_is_401_even_beside_a_signed_in_session(demo):
    client = Client(enforce_csrf_checks=True, headers={"authorization": "Bearer tl_made_up"})
    client.force_login(User.objects.get(username="ada"))
    url = "/api/v1/squads/first-90-days/key-results/activation/check-ins"
    assert client.get("/api/v1/cycles").status_code == 401
    assert post(client, url, {"value": "41", "confidence": 6}).status_code == 401
    assert not CheckIn.objects.exists()


def test_a_write_without_token_or_session_is_401_not_a_csrf_refusal(demo):
    client = Client(enforce_csrf_checks=True)
    url = "/api/v1/squads/first-90-days/key-results/activation/check-ins"
    response = post(client, url, {"value": "41", "confidence": 6})
    assert response.status_code == 401
    assert "Authorization: Bearer" in response.json()["detail"]
