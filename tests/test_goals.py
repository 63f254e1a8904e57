"""The company's goals: leadership writes them, squads' objectives say which they serve, and
the alignment shows each goal with the objectives serving it and their key results, rolled up
(docs/outcomes.md, "Goals above objectives")."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import TYPE_CHECKING

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from core.models import Removal
from journeys.models import Segment
from planning import removals
from squads import services
from squads.models import OKR, CheckIn, Goal, KeyResult, ObjectiveGoal, Plan, SquadStage
from tests import factories as f
from tests import test_browser

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.django_db


def goal_values(**values) -> dict:
    return {
        "name": "Customers reach value fast",
        "description": "Be the company customers succeed with from day one.",
        "customer_success": "Customers reach measurable value within 90 days.",
        "starts_year": 2026,
        "ends_year": 2028,
        "owner": None,
        **values,
    }


def make_goal(by, **values) -> Goal:
    key = values.pop("key", "")
    segments = values.pop("segments", ())
    return services.goal_create(key=key, values=goal_values(**values), segments=segments, by=by)


def form_data(**values) -> dict:
    data = {
        "name": "Customers reach value fast",
        "key": "",
        "description": "Be the company customers succeed with from day one.",
        "customer_success": "Customers reach measurable value within 90 days.",
        "starts_year": "2026",
        "ends_year": "2028",
        "owner": "",
    }
    data.update(values)
    return data


def okr_of(squad, objective: str = "Customers reach value in 90 days") -> OKR:
    return OKR.objects.create(squad=squad, cycle=squad.cycle, objective=objective)


def key_result(okr, key: str, *, baseline, target, current, unit: str = "%") -> KeyResult:
    return KeyResult.objects.create(
        okr=okr,
        key=key,
        name=key.replace("-", " ").capitalize(),
        unit=unit,
        baseline=Decimal(baseline) if baseline is not None else None,
        target=Decimal(target) if target is not None else None,
        current=Decimal(current) if current is not None else None,
    )


def check_in(kr: KeyResult, confidence: int, author, *, minutes_ago: int = 0) -> CheckIn:
    made = CheckIn.objects.create(
        key_result=kr, value=kr.current or 0, confidence=confidence, author=author
    )
    if minutes_ago:
        CheckIn.objects.filter(pk=made.pk).update(
            created_at=timezone.now() - dt.timedelta(minutes=minutes_ago)
        )
    return made


def text(response) -> str:
    """The page's main content as a person reads it: tags out, spaces squeezed."""
    html = response.content.decode()
    main = html[html.find("<main") : html.find("</main>")]
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", main))


@pytest.fixture
def goal(leo):
    return make_goal(leo)


@pytest.fixture
def served(needing, goal, leo):
    """The needing squad's objective serves the goal; it has one key result."""
    okr = okr_of(needing)
    key_result(okr, "activation", baseline=40, target=44, current=42)
    Plan.objects.create(squad=needing)
    services.okr_goals_set(okr=okr, goals=[goal], by=leo)
    return okr


# ---------------------------------------------------------------------------------------
# Leadership writes goals
# ---------------------------------------------------------------------------------------


def test_leadership_creates_a_goal_whose_key_is_made_from_its_name(client, leo):
    segment = Segment.objects.create(key="mid-market", name="Mid-market")
    client.force_login(leo)
    response = client.post(
        reverse("goals:create"),
        form_data(name="Customers reach value fast", owner=str(leo.pk), segments=[segment.pk]),
    )
    goal = Goal.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("goals:detail", args=["customers-reach-value-fast"])
    assert goal.key == "customers-reach-value-fast"
    assert goal.owner == leo
    assert list(goal.segments.all()) == [segment]
    page = text(client.get(response["Location"]))
    assert "Customers reach measurable value within 90 days." in page
    assert "2026–2028" in page


def test_leadership_edits_a_goal(client, leo, goal):
    client.force_login(leo)
    url = reverse("goals:edit", args=[goal.key])
    version = f.shown_version(client, url)
    response = client.post(
        url, form_data(name="Customers succeed first", ends_year="2027", version=version)
    )
    assert response.status_code == 302
    goal.refresh_from_db()
    assert (goal.name, goal.ends_year, goal.key) == (
        "Customers succeed first",
        2027,
        "customers-reach-value-fast",
    )
    assert goal.version == int(version) + 1


def test_leadership_reorders_goals(client, leo, goal):
    second = make_goal(leo, name="Grow revenue", key="revenue")
    client.force_login(leo)
    response = client.post(reverse("goals:move", args=[second.key]), {"direction": "up"})
    assert response.status_code == 302
    assert list(Goal.objects.order_by("position").values_list("key", flat=True)) == [
        "revenue",
        goal.key,
    ]
    page = text(client.get(reverse("goals:list")))
    assert page.index("Grow revenue") < page.index("Customers reach value fast")


def test_removing_a_goal_takes_it_off_objectives_and_restoring_brings_the_links_back(
    client, leo, goal, served
):
    client.force_login(leo)
    url = reverse("goals:remove", args=[goal.key])
    page = client.get(url)
    assert "First 90 Days" in text(page)  # the objective it is taken off
    seen = removals.removal_plan(Removal.Kind.GOAL, goal).digest
    # The question must be answered.
    refused = client.post(url, {"seen": seen})
    assert refused.status_code == 200
    assert Goal.objects.filter(pk=goal.pk).exists()
    response = client.post(url, {"seen": seen, "answer": "yes"})
    assert response.status_code == 302
    assert not Goal.objects.filter(pk=goal.pk).exists()
    assert not ObjectiveGoal.objects.filter(okr=served).exists()
    assert client.get(reverse("goals:detail", args=[goal.key])).status_code == 410
    assert goal.name not in text(client.get(reverse("goals:list")))

    removal = Removal.objects.get(kind="goal")
    listed = text(client.get(reverse("removed")))
    assert "Customers reach value fast" in listed
    restored = client.post(reverse("removal_restore", args=[removal.pk]))
    assert restored.status_code == 302
    assert restored["Location"] == reverse("goals:detail", args=[goal.key])
    assert list(served.goals.all()) == [goal]
    squad_page = text(client.get(reverse("squads:detail", args=[served.squad.key])))
    assert "Serves: Customers reach value fast" in squad_page


def test_restoring_a_goal_whose_key_was_taken_since_changes_nothing(client, leo, goal):
    seen = removals.removal_plan(Removal.Kind.GOAL, goal).digest
    removal = removals.goal_remove(goal=goal, by=leo, seen=seen)
    make_goal(leo, name="Another", key=goal.key)
    client.force_login(leo)
    client.post(reverse("removal_restore", args=[removal.pk]))
    assert Goal.everything.get(pk=goal.pk).removal_id == removal.pk
    assert "was made since" in text(client.get(reverse("removed")))


# ---------------------------------------------------------------------------------------
# Refused: readers and DRIs do not write goals
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["carol", "alice"])
def test_a_reader_or_a_dri_reads_goals_but_cannot_change_them(client, request, who, goal, leo):
    person = request.getfixturevalue(who)
    if who == "alice":
        request.getfixturevalue("needing")  # Alice is the DRI of a squad
    client.force_login(person)
    listing = client.get(reverse("goals:list"))
    assert listing.status_code == 200
    assert "New goal" not in text(listing)
    assert client.get(reverse("goals:detail", args=[goal.key])).status_code == 200
    before = list(Goal.everything.values())
    for url, data in [
        (reverse("goals:create"), form_data(name="Mine", key="mine")),
        (reverse("goals:edit", args=[goal.key]), form_data(name="Mine", version=goal.version)),
        (reverse("goals:move", args=[goal.key]), {"direction": "down"}),
        (reverse("goals:remove", args=[goal.key]), {"seen": "x", "answer": "yes"}),
    ]:
        assert client.get(url).status_code in (403, 405)
        assert client.post(url, data).status_code == 403
    assert list(Goal.everything.values()) == before
    assert not Removal.objects.exists()


def test_signed_out_people_are_sent_to_sign_in(client, goal):
    response = client.get(reverse("goals:list"))
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


# ---------------------------------------------------------------------------------------
# Objectives serve goals
# ---------------------------------------------------------------------------------------


def test_a_dri_says_which_goals_their_squads_objective_serves(client, alice, needing, leo):
    first = make_goal(leo)
    second = make_goal(leo, name="Grow revenue", key="revenue")
    okr = okr_of(needing)
    client.force_login(alice)
    url = reverse("squads:okr_edit", args=[needing.key])
    form = text(client.get(url))
    assert "Company goals it serves" in form
    response = client.post(url, {"objective": "Customers reach value", "goals": [first.pk]})
    assert response.status_code == 302
    assert list(okr.goals.all()) == [first]
    page = text(client.get(reverse("squads:detail", args=[needing.key])))
    assert "Serves: Customers reach value fast" in page
    # Changing the choice adds and takes off links one by one.
    client.post(url, {"objective": "Customers reach value", "goals": [second.pk]})
    assert list(okr.goals.all()) == [second]
    client.post(url, {"objective": "Customers reach value"})
    assert not okr.goals.exists()
    assert "Serves no company goal" in text(
        client.get(reverse("squads:detail", args=[needing.key]))
    )


def test_two_people_editing_the_objective_at_once_lose_neither_words_nor_ticks(
    client, alice, leo, needing
):
    first = make_goal(leo)
    second = make_goal(leo, name="Grow revenue", key="revenue")
    okr = okr_of(needing, "Customers reach value")
    url = reverse("squads:okr_edit", args=[needing.key])
    client.force_login(alice)
    shown = re.search(r'name="version" value="([^"]+)"', client.get(url).content.decode())[1]
    # Leo (leadership) saves first, from an editor he opened at the same time.
    client.force_login(leo)
    leo_saw = re.search(r'name="version" value="([^"]+)"', client.get(url).content.decode())[1]
    assert leo_saw == shown
    assert (
        client.post(
            url,
            {"objective": "Customers reach value in a week", "goals": [first.pk], "version": shown},
        ).status_code
        == 302
    )
    # Alice's save, made on what she saw, changes nothing and says what Leo saved.
    client.force_login(alice)
    draft = {"objective": "Customers reach value on day one", "goals": [second.pk]}
    response = client.post(url, {**draft, "version": shown})
    assert response.status_code == 200
    page = text(response)
    assert "Someone else saved this objective after you opened it" in page
    assert "“Customers reach value in a week”, serving “Customers reach value fast”" in page
    okr.refresh_from_db()
    assert okr.objective == "Customers reach value in a week"
    assert list(okr.goals.all()) == [first]
    # Her words and ticks are still in the form, on the version now saved: saving again keeps
    # them.
    body = response.content.decode()
    assert "Customers reach value on day one" in body
    assert re.search(rf'value="{second.pk}"[^>]*checked', body)
    again = re.search(r'name="version" value="([^"]+)"', body)[1]
    assert again != shown
    assert client.post(url, {**draft, "version": again}).status_code == 302
    okr.refresh_from_db()
    assert okr.objective == "Customers reach value on day one"
    assert list(okr.goals.all()) == [second]


def test_the_plan_page_says_which_goals_the_objective_serves(client, bob, served, goal):
    client.force_login(bob)
    page = client.get(reverse("squads:plan", args=[served.squad.key])).content.decode()
    assert "Serves:" in page
    assert f'href="{reverse("goals:detail", args=[goal.key])}"' in page
    ObjectiveGoal.objects.get(okr=served).delete()
    page = text(client.get(reverse("squads:plan", args=[served.squad.key])))
    assert "Serves no company goal" in page


def test_without_company_goals_no_objective_is_flagged(client, bob, needing):
    okr_of(needing)
    client.force_login(bob)
    page = text(client.get(reverse("squads:detail", args=[needing.key])))
    assert "Serves no company goal" not in page
    assert "Company goals it serves" not in text(
        client.get(reverse("squads:okr_edit", args=[needing.key]))
    )


def test_a_dri_cannot_link_another_squads_objective(client, alice, needing, providing, leo):
    goal = make_goal(leo)
    okr = okr_of(providing, "Customers discover value on their own")
    client.force_login(alice)
    url = reverse("squads:okr_edit", args=[providing.key])
    response = client.post(url, {"objective": "Taken over", "goals": [goal.pk]})
    assert response.status_code == 403
    okr.refresh_from_db()
    assert okr.objective == "Customers discover value on their own"
    assert not okr.goals.exists()
    assert client.post(reverse("squads:okr_edit", args=["nope"]), {}).status_code == 404


def test_a_member_who_is_not_the_dri_cannot_link_goals(client, bob, needing, leo):
    goal = make_goal(leo)
    okr = okr_of(needing)
    client.force_login(bob)
    response = client.post(
        reverse("squads:okr_edit", args=[needing.key]),
        {"objective": "Changed", "goals": [goal.pk]},
    )
    assert response.status_code == 403
    assert not okr.goals.exists()


def test_a_goal_removed_meanwhile_is_refused_with_a_sentence_and_nothing_changes(
    alice, needing, leo
):
    goal = make_goal(leo)
    okr = okr_of(needing)
    removals.goal_remove(
        goal=goal, by=leo, seen=removals.removal_plan(Removal.Kind.GOAL, goal).digest
    )
    with pytest.raises(services.ValidationError) as refused:
        services.okr_update(squad=needing, objective="New words", goals=[goal], by=alice)
    assert "removed" in refused.value.message_dict["goals"][0]
    okr.refresh_from_db()
    assert okr.objective == "Customers reach value in 90 days"
    assert not ObjectiveGoal.objects.exists()


# ---------------------------------------------------------------------------------------
# Bad input, stale edits, escaping
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({"starts_year": "2028", "ends_year": "2026"}, "ends_year", "ends before it starts"),
        ({"customer_success": ""}, "customer_success", "This field is required."),
        ({"customer_success": "\u200b "}, "customer_success", "invisible"),
        ({"starts_year": "1999"}, "starts_year", "2000"),
        ({"starts_year": "2026", "ends_year": "2040"}, "ends_year", "at most 10 years"),
        ({"key": "customers-reach-value-fast"}, "key", "Another goal uses this key."),
        ({"key": "new"}, "key", "taken by the pages"),
    ],
)
def test_bad_input_says_what_is_wrong_and_changes_nothing(
    client, leo, goal, values, field, message
):
    client.force_login(leo)
    before = list(Goal.everything.values())
    response = client.post(reverse("goals:create"), form_data(name="Second goal", **values))
    assert response.status_code == 200
    errors = " ".join(response.context["form"].errors.get(field, []))
    assert message in errors
    assert message in response.content.decode().replace("&#x27;", "'")
    assert list(Goal.everything.values()) == before


def test_a_duplicate_key_made_from_the_name_is_refused_on_the_key(client, leo, goal):
    client.force_login(leo)
    response = client.post(reverse("goals:create"), form_data(name="Customers reach value fast"))
    assert "Another goal uses this key." in response.context["form"].errors["key"]
    assert Goal.objects.count() == 1


def test_bad_input_on_edit_keeps_the_goal_as_it_was(client, leo, goal):
    client.force_login(leo)
    response = client.post(
        reverse("goals:edit", args=[goal.key]),
        form_data(starts_year="2029", ends_year="2026", version=goal.version),
    )
    assert response.status_code == 200
    assert "ends before it starts" in " ".join(response.context["form"].errors["ends_year"])
    fresh = Goal.objects.get(pk=goal.pk)
    assert (fresh.starts_year, fresh.ends_year, fresh.version) == (2026, 2028, goal.version)


def test_a_stale_edit_shows_the_conflict_view_and_loses_no_words(client, leo, goal, alice):
    client.force_login(leo)
    url = reverse("goals:edit", args=[goal.key])
    version = f.shown_version(client, url)
    # Someone saves first.
    services.goal_update(
        goal=Goal.objects.get(pk=goal.pk),
        values=goal_values(customer_success="Customers renew because they succeed."),
        segments=[],
        by=alice,
        version=int(version),
    )
    mine = "Customers reach measurable value within 30 days, not 90."
    response = client.post(url, form_data(customer_success=mine, version=version))
    assert response.status_code == 200
    page = response.content.decode()
    assert "after you started editing" in page
    assert mine in page  # the draft, in the conflict view and the form
    assert "Customers renew because they succeed." in page
    fresh = Goal.objects.get(pk=goal.pk)
    assert fresh.customer_success == "Customers renew because they succeed."
    # Keeping the draft saves it, deliberately over the newer version.
    draft = re.search(r'name="draft" value="([^"]*)"', page)[1].replace("&quot;", '"')
    shown = re.search(r'name="version" value="([^"]*)"', page)[1]
    kept = client.post(url, {**form_data(version=shown), "choice": "mine", "draft": draft})
    assert kept.status_code == 302
    assert Goal.objects.get(pk=goal.pk).customer_success == mine


def test_a_save_without_a_version_meets_the_conflict_view(client, leo, goal):
    client.force_login(leo)
    response = client.post(reverse("goals:edit", args=[goal.key]), form_data(name="Blind"))
    assert response.status_code == 200
    assert "after you started editing" in response.content.decode()
    assert Goal.objects.get(pk=goal.pk).name == "Customers reach value fast"


def test_a_goal_name_is_escaped_everywhere_it_shows(client, leo, bob, needing):
    goal = make_goal(leo, name="<script>alert(1)</script>", key="xss")
    okr = okr_of(needing)
    Plan.objects.create(squad=needing)
    services.okr_goals_set(okr=okr, goals=[goal], by=leo)
    client.force_login(bob)
    for url in [
        reverse("goals:list"),
        reverse("goals:detail", args=[goal.key]),
        reverse("squads:detail", args=[needing.key]),
        reverse("squads:plan", args=[needing.key]),
        reverse("squads:okr_edit", args=[needing.key]),
    ]:
        page = client.get(url).content.decode()
        assert "<script>alert(1)</script>" not in page, url
    listing = client.get(reverse("goals:list")).content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in listing


# ---------------------------------------------------------------------------------------
# The alignment and its rollups
# ---------------------------------------------------------------------------------------


def test_the_rollup_is_the_mean_of_measurable_key_results_and_the_lowest_confidence(
    client, carol, alice, needing, providing, leo
):
    goal = make_goal(leo)
    okr = okr_of(needing)
    half = key_result(okr, "half", baseline=0, target=100, current=50)
    full = key_result(okr, "full", baseline=10, target=20, current=20)
    key_result(okr, "no-target", baseline=5, target=None, current=5)
    check_in(half, 8, alice, minutes_ago=30)
    check_in(half, 3, alice)  # the latest counts
    check_in(full, 9, alice)
    services.okr_goals_set(okr=okr, goals=[goal], by=leo)
    other = okr_of(providing, "Customers discover value on their own")
    key_result(other, "adoption", baseline=0, target=10, current=1)

    client.force_login(carol)
    page = text(client.get(reverse("goals:list")))
    # Per objective and per goal: (50% + 100%) / 2, the unmeasurable one said.
    assert "75%" in page
    assert "mean of the 2 of 3 key results measured" in page
    assert (
        "lowest confidence 3 of 10; 1 key result below 5 of 10 (a coin toss); "
        "1 without a check-in" in page
    )
    assert "confidence 3 of 10" in page and "confidence 9 of 10" in page
    assert "50%" in page and "100%" in page
    assert "no target" in page
    # The other squad's objective serves no goal, flagged below.
    unaligned = page[page.index("Objectives serving no goal") :]
    assert "Product-led Growth" in unaligned
    assert "10%" in unaligned


def test_goals_no_objective_serves_are_flagged(client, carol, leo, served, goal):
    make_goal(leo, name="Win the enterprise market", key="enterprise")
    client.force_login(carol)
    page = text(client.get(reverse("goals:list")))
    unserved = page[page.index("Goals no objective serves") :]
    assert "Win the enterprise market" in unserved
    assert goal.name not in unserved
    assert "Every objective of FY2027 serves at least one goal." in page


def test_a_removed_squads_objective_leaves_the_alignment(client, carol, leo, served, goal):
    squad = served.squad
    removals.squad_remove(
        squad=squad, by=leo, seen=removals.removal_plan(Removal.Kind.SQUAD, squad).digest
    )
    client.force_login(carol)
    page = text(client.get(reverse("goals:list")))
    assert squad.name not in page
    assert "No objective of FY2027 serves this goal." in page


def test_a_goals_page_shows_its_segments_outcomes_and_the_stages_its_squads_cover(
    client, carol, leo, served, stage
):
    segment = Segment.objects.create(
        key="mid-market",
        name="Mid-market SaaS",
        success_metric="of seats active",
        success_threshold=Decimal(80),
        success_unit="%",
        success_within_days=60,
    )
    goal = Goal.objects.get()
    goal.segments.add(segment)
    SquadStage.objects.create(squad=served.squad, stage=stage)
    client.force_login(carol)
    response = client.get(reverse("goals:detail", args=[goal.key]))
    page = text(response)
    assert "Customers reach measurable value within 90 days." in page
    assert "Mid-market SaaS : success is 80% of seats active within 60 days" in page
    journey_map = reverse("journeys:detail", args=[stage.journey.key])
    assert f'href="{journey_map}#stage-{stage.pk}"' in response.content.decode()
    assert "First 90 Days" in page
    assert client.get(reverse("goals:detail", args=["nope"])).status_code == 404


def _company(size: int, cycle, dri, goals, offset: int = 0) -> None:
    """`size` squads, each with an objective serving both goals and five key results, each
    with two check-ins."""
    for n in range(offset, offset + size):
        squad = f.squad(f"squad-{n}", dri=dri, cycle=cycle)
        okr = okr_of(squad, f"Objective {n}")
        ObjectiveGoal.objects.bulk_create(ObjectiveGoal(okr=okr, goal=goal) for goal in goals)
        krs = KeyResult.objects.bulk_create(
            KeyResult(
                okr=okr,
                key=f"kr-{k}",
                name=f"Key result {k}",
                unit="%",
                baseline=Decimal(0),
                target=Decimal(100),
                current=Decimal(k * 10),
            )
            for k in range(5)
        )
        CheckIn.objects.bulk_create(
            CheckIn(key_result=kr, value=kr.current, confidence=c, author=dri)
            for kr in krs
            for c in (4, 7)
        )


def _queries(client, url: str) -> int:
    client.get(url)  # the sign-in and the cycles, read once per process
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_the_alignment_reads_a_fixed_number_of_queries_whatever_the_size(
    client, cycle, alice, carol, leo, django_assert_max_num_queries
):
    goals = [make_goal(leo), make_goal(leo, name="Grow revenue", key="revenue")]
    client.force_login(carol)
    _company(3, cycle, alice, goals)
    small = _queries(client, reverse("goals:list"))
    small_goal = _queries(client, reverse("goals:detail", args=["revenue"]))
    _company(40, cycle, alice, goals, offset=3)  # 43 squads, 215 key results, 430 check-ins
    assert _queries(client, reverse("goals:list")) == small
    assert _queries(client, reverse("goals:detail", args=["revenue"])) == small_goal
    with django_assert_max_num_queries(20):
        page = client.get(reverse("goals:list"))
    assert "squad-42" not in text(page)  # names shown, not keys
    assert text(page).count("Squad 42 Objective 42") == 2  # under each goal it serves


# ---------------------------------------------------------------------------------------
# In the browser: the pages have no serious accessibility violations, and a leader adds a
# goal that a DRI then says their objective serves
# ---------------------------------------------------------------------------------------

browser = test_browser.browser
artifacts = test_browser.artifacts
demo = test_browser.demo
page = test_browser.page


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_in_the_browser_a_leader_adds_a_goal_and_a_dri_links_their_objective(page: Page, artifacts):
    from django.contrib.auth import get_user_model

    priya = get_user_model().objects.get(username="priya")
    make_goal(priya, name="Win the enterprise market", key="enterprise")
    test_browser.sign_in(page, "admin")
    page.goto("/goals/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Goals").click()
    page.get_by_role("link", name="New goal").click()
    page.get_by_label("Name").fill("Customers reach value fast")
    page.get_by_label("Customer success in this goal").fill(
        "Customers reach measurable value within 90 days."
    )
    page.get_by_label("From year").fill("2026")
    page.get_by_label("To year").fill("2028")
    page.get_by_role("button", name="Add the goal").click()
    test_browser.expect(page.get_by_role("heading", level=1)).to_have_text(
        "Customers reach value fast"
    )
    found = {"goal page": test_browser.accessibility_problems(page)}
    test_browser.screenshot(page, artifacts, "goal")
    page.goto("/goals/customers-reach-value-fast/edit/")
    found["goal editor"] = test_browser.accessibility_problems(page)

    page.get_by_role("button", name="Sign out").click()
    test_browser.sign_in(page, "priya")
    page.goto("/squads/first-90-days/")
    page.locator("#objective").get_by_role("link", name="Edit").click()
    page.get_by_label("Customers reach value fast (2026–2028)").check()
    page.get_by_role("button", name="Save objective").click()
    # The demo's objective already serves two goals; the new one joins them.
    test_browser.expect(page.locator("#objective .serves")).to_contain_text(
        re.compile(r"^Serves: .+, Customers reach value fast$")
    )
    page.goto("/goals/")
    test_browser.expect(page.locator("#goal-customers-reach-value-fast")).to_contain_text(
        "First 90 Days Experience Squad"
    )
    test_browser.expect(page.locator("#unserved")).to_contain_text("Win the enterprise market")
    found["alignment"] = test_browser.accessibility_problems(page)
    test_browser.screenshot(page, artifacts, "goals-alignment")
    problems = {where: p for where, p in found.items() if p}
    assert not problems, f"serious or critical accessibility violations: {problems}"
