"""The plan page: the shared template, edited section by section and initiative by initiative."""

from __future__ import annotations

import datetime as dt
import io
import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.urls import reverse

from dependencies.models import Dependency
from squads import services
from squads.models import OKR, Initiative, Plan
from tests import factories as f

pytestmark = pytest.mark.django_db

HX = {"HX-Request": "true"}
EXAMPLE = Path(settings.BASE_DIR) / "planning" / "demo" / "first-90-days.json"
LEANS = "This plan leans to the customer side: name a counter-measure to watch on the team side."


@pytest.fixture
def squad(needing, cycle):
    """The shared needing squad (Alice's, with Bob), with an OKR and a plan."""
    made = needing
    OKR.objects.create(squad=made, cycle=cycle, objective="Customers reach value in 90 days")
    Plan.objects.create(
        squad=made,
        current_experience="New customers are overwhelmed.",
        desired_experience="Day 1: an assessment routes them. Week 2: a first milestone.",
        success_metrics="Day-90 activation, weekly.",
        not_doing=["A webinar series", "Enterprise onboarding"],
    )
    return made


@pytest.fixture
def tool(squad, stage):
    return f.initiative(
        squad,
        "assessment-tool",
        title="Onboarding assessment tool",
        stage=stage,
        impact_team=0,
        impact_business=1,
        impact_customer=2,
    )


def url(name: str, *args) -> str:
    return reverse(f"squads:{name}", args=args)


def is_partial(response) -> bool:
    content = response.content.decode()
    return "<html" not in content and 'class="topbar"' not in content


def initiative_data(**overrides) -> dict:
    data = {
        "key": "wizard",
        "title": "In-app onboarding wizard",
        "description": "Walks customers to their first milestone.",
        "function": "Product",
        "stage": "",
        "segment": "",
        "starts": "2027-03-01",
        "ends": "2027-06-30",
        "headcount": "2",
        "status": "planned",
        "impact_team": "",
        "impact_business": "",
        "impact_customer": "",
        "counter_measure": "",
    }
    data.update(overrides)
    return data


# ---------------------------------------------------------------------------------------
# The page
# ---------------------------------------------------------------------------------------


def test_the_worked_example_reads_as_one_shared_plan(client, settings):
    settings.DEBUG = True
    call_command("import_plans", str(EXAMPLE), stdout=io.StringIO())
    priya = get_user_model().objects.get(username="priya")
    client.force_login(priya)
    response = client.get(url("plan", "first-90-days"))
    assert response.status_code == 200
    content = response.content.decode()
    # Current experience, desired experience by moment, success metrics, not doing.
    assert "30% churn before achieving value" in content
    for moment in ("Day 1", "Week 2", "Month 3"):
        assert f'<span class="moment__when">{moment}</span>' in content
    assert "Day-90 activation rate and median time to first value" in content
    assert "Custom onboarding for the enterprise segment this cycle" in content
    # What each function builds, grouped by function.
    for function in ("Customer Success", "Marketing", "Operations", "Product"):
        assert f'<h3 class="fgroup__title">{function}' in content
    assert "Onboarding assessment tool" in content
    assert "Watch CSM workload and attrition monthly" in content
    # The assessment tool leans to the customer and names no counter-measure.
    assert "This initiative leans to the customer side" in content
    # Dependencies both ways, with their state.
    assert "Feature messaging for the assessment and wizard" in content
    assert "15 customer success managers hired and ramped" in content
    assert "Product-led Growth" in content
    assert "badge--requested" in content and "badge--accepted" in content
    assert "Blocking" in content


def test_the_plan_page_shows_each_section(client, squad, tool, carol):
    client.force_login(carol)
    response = client.get(url("plan", squad.key))
    assert response.status_code == 200
    content = response.content.decode()
    assert "New customers are overwhelmed." in content
    assert '<span class="moment__when">Week 2</span>' in content
    assert "A first milestone." in content
    assert "Day-90 activation, weekly." in content
    assert "A webinar series" in content
    assert "Onboarding assessment tool" in content


def test_people_outside_the_squad_read_the_plan_without_edit_controls(
    client, squad, tool, carol, leo, olga
):
    for person in (carol, leo, olga):
        client.force_login(person)
        content = client.get(url("plan", squad.key)).content.decode()
        assert "Read only" in content
        assert url("plan_section_edit", squad.key, "current-experience") not in content
        assert url("plan_section_edit", squad.key, "not-doing") not in content
        assert url("initiative_create", squad.key) not in content
        assert url("initiative_edit", squad.key, tool.key) not in content


def test_members_get_edit_controls(client, squad, tool, bob):
    client.force_login(bob)
    content = client.get(url("plan", squad.key)).content.decode()
    assert url("plan_section_edit", squad.key, "current-experience") in content
    assert url("initiative_create", squad.key) in content
    assert url("initiative_edit", squad.key, tool.key) in content


def test_a_missing_squad_has_no_plan(client, carol):
    client.force_login(carol)
    assert client.get(url("plan", "nope")).status_code == 404


def test_the_plan_needs_a_signed_in_person_and_a_get(client, squad, alice):
    response = client.get(url("plan", squad.key))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    client.force_login(alice)
    assert client.post(url("plan", squad.key)).status_code == 405


def test_a_squad_without_a_plan_row_shows_an_empty_plan(client, cycle, alice):
    bare = f.squad("bare", dri=alice, cycle=cycle)
    client.force_login(alice)
    response = client.get(url("plan", bare.key))
    assert response.status_code == 200
    assert "Not written yet." in response.content.decode()
    assert not Plan.objects.filter(squad=bare).exists()  # reading never writes


@pytest.mark.parametrize("count", [2, 20])
def test_the_plan_costs_the_same_queries_for_2_or_20_initiatives(
    client, squad, stage, bob, count, django_assert_max_num_queries
):
    other = f.squad("other", dri=f.person("dave"), cycle=squad.cycle)
    for n in range(count):
        made = f.initiative(squad, f"work-{n}", stage=stage, function=f"Function {n % 3}")
        Dependency.objects.create(
            key=f"dep-{n}", from_initiative=made, to_squad=other, what="Help", due="2027-02-01"
        )
    client.force_login(bob)
    # 17: the page's parts, plus the plan's stamp, its comment threads and the revisions its
    # cached rendering is keyed on (one query each), the goals the objective serves and the
    # segments the squad serves with their success outcomes (one each); each dependency list
    # in one query with its count; the DRI's name in one query and the cycle from the
    # navigation's; no key results (the page shows none).
    with django_assert_max_num_queries(17):
        response = client.get(url("plan", squad.key))
    assert response.content.decode().count('class="initiative"') == count
    # Asked again with nothing changed: the rendering comes from the cache (what is left:
    # the session, the person, the squad, what the person may do, the revisions, the menu).
    with django_assert_max_num_queries(11):
        again = client.get(url("plan", squad.key))
    assert again.content.decode().count('class="initiative"') == count


# ---------------------------------------------------------------------------------------
# Text sections
# ---------------------------------------------------------------------------------------


def test_a_member_edits_one_section_in_place(client, squad, bob):
    client.force_login(bob)
    edit = url("plan_section_edit", squad.key, "current-experience")
    response = client.get(edit, headers=HX)
    assert response.status_code == 200
    assert is_partial(response)
    content = response.content.decode()
    assert "<textarea" in content and "New customers are overwhelmed." in content

    version = f.shown_version(client, edit, **HX)
    response = client.post(
        edit, {"text": "They cannot find where to start.", "version": version}, headers=HX
    )
    assert response.status_code == 200
    assert is_partial(response)
    content = response.content.decode()
    assert 'id="current-experience"' in content
    assert "They cannot find where to start." in content
    assert 'name="text"' not in content  # the editor closed (the comment box stays)
    plan = Plan.objects.get(squad=squad)
    assert plan.current_experience == "They cannot find where to start."
    assert plan.success_metrics == "Day-90 activation, weekly."  # untouched


def test_a_section_edit_works_as_plain_pages(client, squad, alice):
    client.force_login(alice)
    edit = url("plan_section_edit", squad.key, "success-metrics")
    page = client.get(edit)
    assert page.status_code == 200
    assert not is_partial(page)
    assert "Day-90 activation, weekly." in page.content.decode()
    version = f.shown_version(client, edit)
    response = client.post(edit, {"text": "Activation rate, reviewed weekly.", "version": version})
    assert response.status_code == 302
    assert response["Location"] == url("plan", squad.key) + "#success-metrics"
    assert Plan.objects.get(squad=squad).success_metrics == "Activation rate, reviewed weekly."


def test_the_desired_experience_reads_by_moment_after_saving(client, squad, bob):
    client.force_login(bob)
    edit = url("plan_section_edit", squad.key, "desired-experience")
    text = "Day 1: routed to a path.\nWeek 2: first milestone.\nMonth 3: ready to expand."
    version = f.shown_version(client, edit, **HX)
    response = client.post(edit, {"text": text, "version": version}, headers=HX)
    content = response.content.decode()
    assert '<span class="moment__when">Month 3</span>' in content
    assert "Ready to expand." in content


def test_the_section_display_partial_answers_cancel(client, squad, carol):
    client.force_login(carol)
    response = client.get(url("plan_section", squad.key, "current-experience"), headers=HX)
    assert is_partial(response)
    assert "New customers are overwhelmed." in response.content.decode()
    response = client.get(url("plan_section", squad.key, "current-experience"))
    assert response.status_code == 302


def test_only_members_edit_sections(client, squad, carol, leo, olga):
    edit = url("plan_section_edit", squad.key, "current-experience")
    for person in (carol, leo, olga):
        client.force_login(person)
        assert client.get(edit).status_code == 403
        assert client.post(edit, {"text": "Changed"}, headers=HX).status_code == 403
    assert Plan.objects.get(squad=squad).current_experience == "New customers are overwhelmed."


def test_unknown_sections_and_squads_are_404(client, squad, alice):
    client.force_login(alice)
    assert client.get(url("plan_section_edit", squad.key, "budget")).status_code == 404
    assert client.get(url("plan_section_edit", "nope", "current-experience")).status_code == 404
    assert client.get(url("plan_section", squad.key, "budget"), headers=HX).status_code == 404


def test_section_edits_need_a_signed_in_person_and_a_form_method(client, squad, alice):
    edit = url("plan_section_edit", squad.key, "current-experience")
    assert client.post(edit, {"text": "x"}).status_code == 302
    client.force_login(alice)
    assert client.put(edit).status_code == 405


def test_the_section_service_saves_only_its_section(squad, alice):
    with pytest.raises(ValueError):
        services.plan_section_update(squad=squad, section="not_doing", text="x", by=alice)
    services.plan_section_update(
        squad=squad, section="success_metrics", text="  Activation \r\n", by=alice
    )
    plan = Plan.objects.get(squad=squad)
    assert plan.success_metrics == "Activation"
    assert plan.current_experience == "New customers are overwhelmed."


# ---------------------------------------------------------------------------------------
# The not-doing list
# ---------------------------------------------------------------------------------------


def not_doing(*lines, remove=(), **extra) -> dict:
    data = {"count": str(len(lines))}
    for i, line in enumerate(lines):
        data[f"line_{i}"] = line
        if i in remove:
            data[f"remove_{i}"] = "on"
    data.update(extra)
    return data


def test_the_not_doing_list_edits_as_a_list(client, squad, bob):
    client.force_login(bob)
    edit = url("plan_section_edit", squad.key, "not-doing")
    response = client.get(edit, headers=HX)
    assert is_partial(response)
    content = response.content.decode()
    assert 'value="A webinar series"' in content and 'value="Enterprise onboarding"' in content

    data = not_doing(
        "A webinar series run by Marketing alone",
        "Enterprise onboarding",
        "",
        "Paid ads",
        remove={1},
        version=f.shown_version(client, edit, **HX),
    )
    response = client.post(edit, data, headers=HX)
    assert is_partial(response)
    assert "Paid ads" in response.content.decode()
    assert Plan.objects.get(squad=squad).not_doing == [
        "A webinar series run by Marketing alone",
        "Paid ads",
    ]


def test_add_a_line_offers_one_more_line_and_saves_nothing(client, squad, bob):
    client.force_login(bob)
    edit = url("plan_section_edit", squad.key, "not-doing")
    response = client.post(edit, not_doing("Changed", "", add_line="1"), headers=HX)
    content = response.content.decode()
    assert 'name="line_2"' in content
    assert 'value="Changed"' in content
    assert Plan.objects.get(squad=squad).not_doing == ["A webinar series", "Enterprise onboarding"]


def test_a_repeated_line_is_an_error_next_to_it(client, squad, bob):
    client.force_login(bob)
    edit = url("plan_section_edit", squad.key, "not-doing")
    response = client.post(edit, not_doing("Paid ads", "paid  ads"), headers=HX)
    assert response.status_code == 200
    content = response.content.decode()
    assert 'id="not_doing_line_1_error"' in content
    assert "This repeats line 1." in content
    assert 'value="paid  ads"' in content
    assert Plan.objects.get(squad=squad).not_doing == ["A webinar series", "Enterprise onboarding"]


def test_a_plain_not_doing_save_redirects(client, squad, alice):
    client.force_login(alice)
    edit = url("plan_section_edit", squad.key, "not-doing")
    response = client.post(edit, not_doing("Ads", version=f.shown_version(client, edit)))
    assert response.status_code == 302
    assert Plan.objects.get(squad=squad).not_doing == ["Ads"]


def test_only_members_edit_the_not_doing_list(client, squad, carol):
    client.force_login(carol)
    edit = url("plan_section_edit", squad.key, "not-doing")
    assert client.post(edit, not_doing("Ads")).status_code == 403
    assert Plan.objects.get(squad=squad).not_doing == ["A webinar series", "Enterprise onboarding"]


# ---------------------------------------------------------------------------------------
# Initiatives
# ---------------------------------------------------------------------------------------


def test_a_member_adds_an_initiative(client, squad, stage, bob):
    client.force_login(bob)
    response = client.get(url("initiative_create", squad.key), headers=HX)
    assert is_partial(response)
    assert 'id="new-initiative"' in response.content.decode()

    data = initiative_data(stage=stage.pk, headcount="1.5")
    response = client.post(url("initiative_create", squad.key), data, headers=HX)
    assert response.status_code == 200
    assert is_partial(response)
    assert response["HX-Retarget"] == "#initiatives"
    content = response.content.decode()
    assert "In-app onboarding wizard" in content
    assert 'id="plan-balance" hx-swap-oob="true"' in content
    made = Initiative.objects.get(squad=squad, key="wizard")
    assert (made.function, made.stage, made.headcount, made.status) == (
        "Product",
        stage,
        Decimal("1.5"),
        "planned",
    )


def test_a_plain_initiative_create_redirects_to_it(client, squad, bob):
    client.force_login(bob)
    response = client.post(url("initiative_create", squad.key), initiative_data())
    assert response.status_code == 302
    assert response["Location"] == url("plan", squad.key) + "#initiative-wizard"
    page = client.get(url("initiative_create", squad.key))
    assert page.status_code == 200 and not is_partial(page)


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"ends": "2027-02-01"}, "ends", "The end date is before the start date."),
        ({"headcount": "-1"}, "headcount", None),
        ({"headcount": "1.255"}, "headcount", None),
        ({"key": "has space"}, "key", None),
        ({"key": "new"}, "key", None),
        ({"function": ""}, "function", None),
        ({"impact_team": "2"}, "impact_business", "Rate all three sides, or none."),
        (
            {"impact_team": "0", "impact_business": "1", "impact_customer": "2"},
            "counter_measure",
            "This initiative leans to the customer side: name a counter-measure to watch on "
            "the team side.",
        ),
    ],
)
def test_an_invalid_initiative_shows_the_error_next_to_the_field(
    client, squad, bob, overrides, field, message
):
    client.force_login(bob)
    data = initiative_data(**overrides)
    response = client.post(url("initiative_create", squad.key), data, headers=HX)
    assert response.status_code == 200
    assert is_partial(response)
    content = response.content.decode()
    assert f'id="initiative_new_{field}_error"' in content
    if message:
        assert message in content
    assert 'value="In-app onboarding wizard"' in content  # the input is kept
    assert not Initiative.objects.filter(squad=squad).exists()


def test_a_lopsided_initiative_with_a_counter_measure_is_fine(client, squad, bob):
    client.force_login(bob)
    data = initiative_data(
        impact_team="-1",
        impact_business="1",
        impact_customer="2",
        counter_measure="Watch CSM workload monthly.",
    )
    response = client.post(url("initiative_create", squad.key), data)
    assert response.status_code == 302
    made = Initiative.objects.get(squad=squad, key="wizard")
    assert (made.impact_team, made.impact_business, made.impact_customer) == (-1, 1, 2)


def test_an_initiative_key_is_unique_in_its_squad(client, squad, tool, bob):
    client.force_login(bob)
    response = client.post(url("initiative_create", squad.key), initiative_data(key=tool.key))
    assert "Another initiative of this squad uses this key." in response.content.decode()
    assert Initiative.objects.filter(squad=squad).count() == 1


def test_a_member_edits_an_initiative_in_place_but_not_its_key(client, squad, tool, bob):
    client.force_login(bob)
    edit = url("initiative_edit", squad.key, tool.key)
    response = client.get(edit, headers=HX)
    assert is_partial(response)
    assert 'value="Onboarding assessment tool"' in response.content.decode()

    data = initiative_data(
        key="renamed",
        title="Assessment tool v2",
        impact_team="0",
        impact_business="1",
        impact_customer="1",
        version=f.shown_version(client, edit, **HX),
    )
    response = client.post(edit, data, headers=HX)
    assert response.status_code == 200
    assert is_partial(response)
    assert "HX-Retarget" not in response  # same function: only this initiative changes
    content = response.content.decode()
    assert content.lstrip().startswith('<li class="initiative"')
    assert "Assessment tool v2" in content
    tool.refresh_from_db()
    assert (tool.key, tool.title, tool.impact_customer) == (
        "assessment-tool",
        "Assessment tool v2",
        1,
    )


def test_an_initiative_that_changes_function_redraws_the_list(client, squad, tool, bob):
    client.force_login(bob)
    edit = url("initiative_edit", squad.key, tool.key)
    data = initiative_data(
        function="Marketing",
        counter_measure="Watch team load",
        version=f.shown_version(client, edit, **HX),
    )
    response = client.post(edit, data, headers=HX)
    assert response["HX-Retarget"] == "#initiatives"
    assert '<h3 class="fgroup__title">Marketing' in response.content.decode()


def test_an_invalid_initiative_edit_changes_nothing(client, squad, tool, bob):
    client.force_login(bob)
    data = initiative_data(title="Changed", starts="2027-05-01", ends="2027-04-01")
    response = client.post(url("initiative_edit", squad.key, tool.key), data, headers=HX)
    content = response.content.decode()
    assert f'id="initiative_{tool.pk}_ends_error"' in content
    assert 'value="Changed"' in content
    tool.refresh_from_db()
    assert tool.title == "Onboarding assessment tool"


def test_only_members_change_initiatives(client, squad, tool, carol, leo, olga):
    for person in (carol, leo, olga):
        client.force_login(person)
        assert client.get(url("initiative_create", squad.key)).status_code == 403
        assert (
            client.post(url("initiative_create", squad.key), initiative_data()).status_code == 403
        )
        edit = url("initiative_edit", squad.key, tool.key)
        assert client.post(edit, initiative_data(title="Changed")).status_code == 403
    assert Initiative.objects.filter(squad=squad).count() == 1
    tool.refresh_from_db()
    assert tool.title == "Onboarding assessment tool"


def test_missing_initiatives_are_404(client, squad, bob):
    client.force_login(bob)
    assert client.get(url("initiative_edit", squad.key, "nope")).status_code == 404
    assert client.get(url("initiative", squad.key, "nope"), headers=HX).status_code == 404
    assert client.get(url("initiative_create", "nope")).status_code == 404


def test_initiative_edits_need_a_signed_in_person_and_a_form_method(client, squad, tool, bob):
    assert client.get(url("initiative_edit", squad.key, tool.key)).status_code == 302
    client.force_login(bob)
    assert client.put(url("initiative_edit", squad.key, tool.key)).status_code == 405
    assert client.post(url("initiatives", squad.key)).status_code == 405


def test_initiatives_arrange_by_function_or_by_date(client, squad, bob):
    f.initiative(
        squad,
        "late",
        title="Late work",
        function="Alpha",
        starts=dt.date(2027, 6, 1),
        ends=dt.date(2027, 9, 30),
    )
    f.initiative(squad, "early", title="Early work", function="Zulu", starts=dt.date(2027, 1, 2))
    client.force_login(bob)
    by_function = client.get(url("initiatives", squad.key), headers=HX).content.decode()
    assert is_partial(client.get(url("initiatives", squad.key), headers=HX))
    assert by_function.index("Late work") < by_function.index("Early work")
    by_date = client.get(url("initiatives", squad.key) + "?view=timeline", headers=HX)
    content = by_date.content.decode()
    assert content.index("Early work") < content.index("Late work")
    plain = client.get(url("initiatives", squad.key) + "?view=timeline")
    assert plain["Location"] == url("plan", squad.key) + "?view=timeline#initiatives"


# ---------------------------------------------------------------------------------------
# Balance: team, business, customer
# ---------------------------------------------------------------------------------------


def test_a_plan_leaning_to_the_customer_asks_for_a_counter_measure(client, squad, tool, carol):
    f.initiative(squad, "more", impact_team=0, impact_business=0, impact_customer=1)
    client.force_login(carol)
    content = client.get(url("plan", squad.key)).content.decode()
    assert LEANS in content
    assert "Leaning without a counter-measure" in content
    # Each rated initiative draws its balance; unrated ones say so.
    assert 'aria-label="Impact: team 0, business +1, customer +2"' in content


def test_a_plan_with_counter_measures_and_balance_asks_nothing(client, squad, carol):
    f.initiative(squad, "even", impact_team=1, impact_business=1, impact_customer=1)
    client.force_login(carol)
    content = client.get(url("plan", squad.key)).content.decode()
    assert "Balanced across the three sides." in content
    assert "name a counter-measure" not in content


def test_naming_the_counter_measure_settles_the_prompt(client, squad, tool, bob):
    client.force_login(bob)
    data = initiative_data(
        key=tool.key,
        title=tool.title,
        impact_team="0",
        impact_business="1",
        impact_customer="2",
        counter_measure="Watch support load on the squad.",
        version=f.shown_version(client, url("initiative_edit", squad.key, tool.key), **HX),
    )
    response = client.post(url("initiative_edit", squad.key, tool.key), data, headers=HX)
    content = response.content.decode()
    assert "Watch support load on the squad." in content
    assert "Leaning without a counter-measure" not in content
    assert "with counter-measures named" in content  # the out-of-band balance


def test_the_lean_rule():
    assert services.impact_lean(0, 1, 2).prompt("plan") == LEANS
    assert services.impact_lean(1, 1, 2) is None
    assert services.impact_lean(None, None, None) is None
    lean = services.impact_lean(2, 2, 0)
    assert lean.leans_to == "team and business sides"
    assert lean.watch == "customer side"


# ---------------------------------------------------------------------------------------
# Dependencies
# ---------------------------------------------------------------------------------------


def test_dependencies_needed_and_provided_show_due_and_status(client, squad, tool, carol, cycle):
    other = f.squad("product-led", dri=carol, cycle=cycle)
    Dependency.objects.create(
        key="messaging",
        from_initiative=tool,
        to_squad=other,
        what="Feature messaging",
        due=dt.date(2020, 2, 15),
        blocking=True,
    )
    Dependency.objects.create(
        key="feedback",
        from_squad=other,
        to_initiative=tool,
        what="Customer feedback",
        due=dt.date(2099, 2, 1),
        status="accepted",
    )
    client.force_login(carol)
    content = client.get(url("plan", squad.key)).content.decode()
    needs, provides = content.split("Others need from this squad")
    assert "Feature messaging" in needs and "badge--requested" in needs
    assert "Overdue" in needs and "Blocking" in needs
    assert url("plan", other.key) in needs
    assert "Customer feedback" in provides and "badge--accepted" in provides


def test_each_side_of_a_dependency_reads_as_what_it_is(client, squad, tool, carol, leo, cycle):
    from planning import removals

    other = f.squad("product-led", dri=carol, cycle=cycle)
    theirs = f.initiative(other, "their-work", title="Pricing <experiments>")
    gone = f.squad("sunset", dri=f.person("sam"), cycle=cycle)
    owner = f.person("owen", "Owen Ortiz")
    asks = [
        dict(to_squad=other, what="From a squad", owner=owner),
        dict(to_initiative=theirs, what="From their initiative"),
        dict(to_function="People", what="From a function"),
        dict(to_squad=gone, what="From a squad that goes"),
    ]
    for n, values in enumerate(asks):
        Dependency.objects.create(
            key=f"ask-{n}", from_initiative=tool, due=dt.date(2027, 2, 1 + n), **values
        )
    Dependency.objects.create(
        key="theirs", from_initiative=theirs, to_squad=squad, what="Their ask", due="2027-03-01"
    )
    Dependency.objects.create(
        key="squads", from_squad=other, to_initiative=tool, what="Squad ask", due="2027-03-02"
    )
    removals.squad_remove(
        squad=gone, by=leo, seen=removals.squad_removal(gone).digest, answered=True
    )
    client.force_login(carol)
    needs, provides = client.get(url("plan", squad.key)).content.decode().split("Others need")
    rows = {row.split("</td>")[0].split("<td>")[-1]: row for row in needs.split("<tr")[2:]}
    plan_of_other = f'<a href="{url("plan", other.key)}">{other.name}</a>'
    assert plan_of_other in rows["From a squad"] and "Owen Ortiz" in rows["From a squad"]
    assert "1 Feb 2027" in rows["From a squad"] and "Onboarding assessment tool" in needs
    assert (
        f'Pricing &lt;experiments&gt; <span class="muted">· {plan_of_other}'
        in rows["From their initiative"]
    )
    assert 'People <span class="muted">(function)</span>' in rows["From a function"]
    assert '<span class="muted">(removed)</span>' in rows["From a squad that goes"]
    assert url("plan", gone.key) not in rows["From a squad that goes"]
    assert f'Pricing &lt;experiments&gt; <span class="muted">· {plan_of_other}' in provides
    assert plan_of_other in provides.split("Squad ask")[1]
    assert "Their ask" in provides and "4 of" not in needs


def test_a_long_list_shows_the_open_ones_first_and_sends_to_the_board_for_all(
    client, squad, tool, carol, cycle
):
    other = f.squad("product-led", dri=carol, cycle=cycle)
    for n in range(30):
        Dependency.objects.create(
            key=f"ask-{n:02}",
            from_initiative=tool,
            to_squad=other,
            what=f"Ask number {n:02}",
            due=dt.date(2027, 1, 1) + dt.timedelta(days=n),
            # The five soonest due are done: they give way to open ones.
            status="done" if n < 5 else "requested",
        )
    client.force_login(carol)
    needs = client.get(url("plan", squad.key)).content.decode().split("Others need from")[0]
    shown = re.findall(r"Ask number (\d\d)", needs)
    assert shown == [f"{n:02}" for n in range(5, 30)]
    assert "25 of 30 shown: open ones first, soonest due first." in needs
    assert 'href="/board/?from=first-90-days">All 30 on the board</a>' in needs


def test_add_a_dependency_links_to_the_board_for_those_who_may_record_one(
    client, squad, bob, carol, olga
):
    client.force_login(bob)
    content = client.get(url("plan", squad.key)).content.decode()
    assert 'href="/board/new/?from=first-90-days&amp;next=%2Fsquads%2Ffirst-90-days%2Fplan%2F"' in (
        content
    )
    client.force_login(olga)  # operations records dependencies for any squad
    assert "Add a dependency" in client.get(url("plan", squad.key)).content.decode()
    client.force_login(carol)
    assert "Add a dependency" not in client.get(url("plan", squad.key)).content.decode()
