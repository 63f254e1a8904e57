"""The journey map pages: /journeys/ and /journeys/<key>/, and leadership's edits in place."""

from __future__ import annotations

import html as htmllib
import re
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.urls import reverse

from core.cycles import SESSION_KEY
from journeys import services, touchpoints
from journeys.charts import emotion_chart
from journeys.models import Journey, JourneySegment, Moment, Segment, Stage, Touchpoint
from squads.models import SquadStage
from tests import factories

pytestmark = pytest.mark.django_db

DEMO = Path(__file__).resolve().parent.parent / "planning" / "demo" / "first-90-days.json"
HTMX = {"HX-Request": "true"}


# A small journey (the people and the squad are in conftest.py)


@pytest.fixture
def squad(needing):
    """The shared needing squad: Alice's, with Bob."""
    return needing


@pytest.fixture
def journey(squad):
    """Acquisition (nobody), Onboarding (the squad, three moments), Adoption (nobody)."""
    acquisition = factories.stage(
        "lifecycle", "acquisition", name="Acquisition", position=0, emotion_today=0
    )
    onboarding = factories.stage(
        "lifecycle",
        "onboarding",
        name="Onboarding",
        position=1,
        customer_goal="Figure out how to get value quickly",
        today="New customers are overwhelmed",
        tomorrow="An assessment routes them to the right path",
        emotion_today=-2,
        emotion_target=2,
    )
    factories.stage("lifecycle", "adoption", name="Adoption", position=2)
    journey = acquisition.journey
    journey.name = "Customer lifecycle"
    journey.save()
    segment = Segment.objects.create(key="mid-market", name="Mid-market SaaS teams", priority=1)
    JourneySegment.objects.create(journey=journey, segment=segment)
    SquadStage.objects.create(squad=squad, stage=onboarding)
    # Created out of time order on purpose: the map shows them by time.
    for when, tomorrow in [
        ("Month 3", "They are ready to expand"),
        ("Day 1", "An assessment routes them"),
        ("Week 2", "They complete a first milestone"),
    ]:
        Moment.objects.create(stage=onboarding, when=when, offset_days=0, tomorrow=tomorrow)
    return journey


def stage_of(journey, key: str) -> Stage:
    return Stage.objects.get(journey=journey, key=key)


def url(name: str, *args) -> str:
    return reverse(f"journeys:{name}", args=args)


def text_of(response) -> str:
    """The page's visible words, tags removed and whitespace collapsed."""
    html = response.content.decode()
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return htmllib.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip())


def is_full_page(response) -> bool:
    return b"<html" in response.content


# The list


def test_list_shows_each_journey_with_stages_segments_and_coverage(client, carol, journey):
    client.force_login(carol)
    response = client.get(url("list"))
    assert response.status_code == 200
    words = text_of(response)
    assert "Customer lifecycle" in words
    assert "Stages 3" in words
    assert "Mid-market SaaS teams" in words
    assert "2 of 3 stages have no squad in FY2027." in words
    assert "Onboarding 1 squad" in words
    assert "Acquisition No squad" in words
    assert url("detail", "lifecycle") in response.content.decode()


def test_list_says_so_when_every_stage_has_a_squad(client, carol, journey, squad):
    for stage in Stage.objects.exclude(key="onboarding"):
        SquadStage.objects.create(squad=squad, stage=stage)
    client.force_login(carol)
    assert "Every stage has a squad in FY2027." in text_of(client.get(url("list")))


def test_list_counts_coverage_in_the_cycle_being_looked_at(client, carol, journey):
    later = factories.cycle("fy2028")
    client.force_login(carol)
    session = client.session
    session[SESSION_KEY] = later.key
    session.save()
    assert "3 of 3 stages have no squad in FY2028." in text_of(client.get(url("list")))


def test_list_offers_the_new_journey_form_to_leadership_only(client, leo, olga, journey):
    client.force_login(leo)
    assert "Create journey" in text_of(client.get(url("list")))
    client.force_login(olga)
    assert "Create journey" not in text_of(client.get(url("list")))


def test_list_needs_sign_in(client, journey):
    response = client.get(url("list"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_list_refuses_other_methods(client, carol):
    client.force_login(carol)
    assert client.put(url("list")).status_code == 405


def _world(size: int) -> None:
    cycle = factories.cycle("fy2027")
    dri = factories.person("dri")
    for n in range(size):
        journey = Journey.objects.create(key=f"j{n}", name=f"Journey {n}")
        segment = Segment.objects.create(key=f"seg{n}", name=f"Segment {n}")
        JourneySegment.objects.create(journey=journey, segment=segment)
        squad = factories.squad(f"squad-{n}", dri=dri, cycle=cycle)
        for s in range(3):
            stage = factories.stage(f"j{n}", f"s{s}", position=s)
            Moment.objects.create(stage=stage, when="Day 1", offset_days=1, tomorrow="Better")
            if s:
                SquadStage.objects.create(squad=squad, stage=stage)


@pytest.mark.parametrize("size", [2, 20])
def test_list_query_count_does_not_grow_with_journeys(
    client, leo, django_assert_max_num_queries, size
):
    _world(size)
    client.force_login(leo)
    with django_assert_max_num_queries(11):
        response = client.get(url("list"))
    assert f"Journey {size - 1}" in text_of(response)
    assert "1 of 3 stages has no squad in FY2027." in text_of(response)


# Creating a journey


def test_leadership_creates_a_journey(client, leo, journey):
    segment = Segment.objects.get()
    client.force_login(leo)
    response = client.post(
        url("list"),
        {
            "journey-name": "Partner journey",
            "journey-key": "partners",
            "journey-description": "From first call to co-selling",
            "journey-segments": [segment.pk],
        },
    )
    assert response.status_code == 302
    assert response["Location"] == url("detail", "partners")
    created = Journey.objects.get(key="partners")
    assert created.name == "Partner journey"
    assert list(created.segments.all()) == [segment]


def test_a_new_journey_key_defaults_to_one_made_from_the_name(client, leo):
    client.force_login(leo)
    response = client.post(url("list"), {"journey-name": "Partner Journey", "journey-key": ""})
    assert response.status_code == 302
    assert Journey.objects.get().key == "partner-journey"


def test_creating_a_journey_over_htmx_redirects_the_browser(client, leo):
    client.force_login(leo)
    response = client.post(url("list"), {"journey-name": "Partners"}, headers=HTMX)
    assert response.status_code == 200
    assert response["HX-Redirect"] == url("detail", "partners")


def test_an_invalid_journey_keeps_the_input_and_writes_nothing(client, leo, journey):
    client.force_login(leo)
    response = client.post(
        url("list"),
        {"journey-name": "Another lifecycle", "journey-key": "lifecycle"},
        headers=HTMX,
    )
    assert response.status_code == 200
    assert not is_full_page(response)
    html = response.content.decode()
    assert 'value="Another lifecycle"' in html
    assert "A journey with this key already exists." in text_of(response)
    assert Journey.objects.count() == 1

    response = client.post(url("list"), {"journey-name": "", "journey-key": "has space"})
    assert is_full_page(response)
    words = text_of(response)
    assert "This field is required." in words
    assert "Use letters, digits, dots, dashes and underscores only" in words
    assert 'value="has space"' in response.content.decode()
    assert Journey.objects.count() == 1


def test_only_leadership_creates_journeys(client, alice, olga):
    for person in (alice, olga):
        client.force_login(person)
        response = client.post(url("list"), {"journey-name": "Sneaky"})
        assert response.status_code == 403
    assert not Journey.objects.exists()


# The map


def test_the_map_shows_stages_outside_in_with_moments_in_time_order(client, carol, journey):
    client.force_login(carol)
    response = client.get(url("detail", "lifecycle"))
    assert response.status_code == 200
    words = text_of(response)
    assert words.index("Acquisition") < words.index("Onboarding") < words.index("Adoption")
    assert "Customer goal Figure out how to get value quickly" in words
    assert "Broken today New customers are overwhelmed" in words
    assert "Tomorrow An assessment routes them to the right path" in words
    assert words.index("Day 1") < words.index("Week 2") < words.index("Month 3")
    assert "Segments that matter most" in words and "Mid-market SaaS teams" in words


def test_the_map_shows_who_covers_each_stage_and_marks_the_gaps(client, carol, journey, squad):
    factories.squad("old-squad", dri=factories.person("odin"), cycle=factories.cycle("fy2026"))
    SquadStage.objects.create(
        squad=squad.__class__.objects.get(key="old-squad"), stage=stage_of(journey, "adoption")
    )
    client.force_login(carol)
    words = text_of(client.get(url("detail", "lifecycle")))
    assert "2 of 3 stages have no squad in FY2027." in words
    assert "First 90 Days" in words
    assert words.count("No squad covers this stage in FY2027.") == 2
    # A squad from another cycle does not cover the stage in this one.
    assert "Old Squad" not in words


def test_the_emotion_curve_is_told_in_words_and_drawn_over_each_stage(client, carol, journey):
    client.force_login(carol)
    html = client.get(url("detail", "lifecycle")).content.decode()
    start = html.index('id="emotion-chart-desc"')
    words = html[start : html.index("</p>", start)]
    assert "Onboarding: today Very unhappy (-2), target Delighted (+2)" in words
    assert "Acquisition: today Neutral (+0), target Happy (+1)" in words
    # Each stage's strip of the curve sits in that stage's column, above its card; the
    # scale's words are drawn once, in the first.
    strips = []
    for key in ("acquisition", "onboarding", "adoption"):
        pk = stage_of(journey, key).pk
        column = html[html.index(f'id="stage-col-{pk}"') :]
        strip = column[column.index(f'id="stage-curve-{pk}"') : column.index("value-band")]
        assert column.index(f'id="stage-curve-{pk}"') < column.index(f'id="stage-{pk}"')
        assert 'class="dot dot--today"' in strip and 'class="dot dot--target"' in strip
        strips.append(strip)
    for label in ("Very unhappy", "Unhappy", "Neutral", "Happy", "Delighted"):
        assert html.count(f">{label}</text>") == 1, label
        assert f">{label}</text>" in strips[0]


def test_the_curves_run_on_from_one_stage_to_the_next():
    class S:
        def __init__(self, name, today, target):
            self.name, self.emotion_today, self.emotion_target = name, today, target

    a, b, c = emotion_chart([S("A", -2, 2), S("B", 0, 0), S("C", 1, -1)]).columns
    # The first starts and the last ends at its own point; between two stages the curves
    # leave one strip at the height the next one takes them up.
    assert [(p.x1, p.x2) for p in a.today_segments] == [(50.0, 100.0)]
    assert [(p.x1, p.x2) for p in c.today_segments] == [(0.0, 50.0)]
    assert a.today_segments[-1].y2 == b.today_segments[0].y1
    assert b.today_segments[-1].y2 == c.today_segments[0].y1
    assert a.target_segments[-1].y2 == b.target_segments[0].y1
    # Half-way between the two points: the unbroken line through both.
    assert b.today_segments[0].y1 == (a.today_y + b.today_y) / 2
    assert a.first and not b.first


def test_the_demo_map_says_which_stages_have_no_squad(client, carol):
    call_command("import_plans", str(DEMO))
    client.force_login(carol)
    words = text_of(client.get(url("detail", "lifecycle")))
    assert "4 of 6 stages have no squad in FY2027." in words
    assert "First 90 Days Experience Squad" in words
    assert "Month 3" in words


def test_edit_controls_are_for_leadership_only(client, leo, alice, journey):
    client.force_login(alice)
    html = client.get(url("detail", "lifecycle")).content.decode()
    assert url("stage_edit", "lifecycle", "onboarding") not in html
    assert "Add stage" not in html
    client.force_login(leo)
    html = client.get(url("detail", "lifecycle")).content.decode()
    assert url("stage_edit", "lifecycle", "onboarding") in html
    assert url("moment_new", "lifecycle", "onboarding") in html
    assert "Add stage" in html


def test_the_map_of_a_missing_journey_is_404(client, carol):
    client.force_login(carol)
    assert client.get(url("detail", "nope")).status_code == 404


def test_the_map_needs_sign_in(client, journey):
    response = client.get(url("detail", "lifecycle"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_the_map_is_read_with_get_only(client, leo, journey):
    client.force_login(leo)
    assert client.post(url("detail", "lifecycle")).status_code == 405


@pytest.mark.parametrize("size", [2, 20])
def test_map_query_count_does_not_grow_with_stages(
    client, leo, django_assert_max_num_queries, size
):
    cycle = factories.cycle("fy2027")
    dri = factories.person("dri")
    for s in range(size):
        stage = factories.stage("big", f"s{s}", name=f"Stage {s}", position=s)
        Moment.objects.create(stage=stage, when="Week 2", offset_days=14, tomorrow="Better")
        squad = factories.squad(f"squad-{s}", dri=dri, cycle=cycle)
        SquadStage.objects.create(squad=squad, stage=stage)
    client.force_login(leo)
    # The map and its touchpoints, and the risk's five reads (tests/test_journey_risk.py).
    with django_assert_max_num_queries(14):
        response = client.get(url("detail", "big"))
    assert f"Stage {size - 1}" in text_of(response)
    assert "Every stage has a squad in FY2027." in text_of(response)


# Editing a stage


def stage_post(stage, **changes) -> dict:
    values = {
        "name": stage.name,
        "customer_goal": stage.customer_goal,
        "today": stage.today,
        "tomorrow": stage.tomorrow,
        "emotion_today": stage.emotion_today,
        "emotion_target": stage.emotion_target,
    }
    values.update(changes)
    data = {f"stage-{stage.pk}-{name}": value for name, value in values.items()}
    data["version"] = str(stage.version)
    return data


def test_the_stage_editor_opens_in_place_over_htmx(client, leo, journey):
    stage = stage_of(journey, "onboarding")
    client.force_login(leo)
    response = client.get(url("stage_edit", "lifecycle", "onboarding"), headers=HTMX)
    assert response.status_code == 200
    assert not is_full_page(response)
    html = response.content.decode()
    assert html.lstrip().startswith(f'<article id="stage-{stage.pk}"')
    assert "Figure out how to get value quickly</textarea>" in html
    assert "Save stage" in html


def test_the_stage_editor_is_also_a_plain_page(client, leo, journey):
    client.force_login(leo)
    response = client.get(url("stage_edit", "lifecycle", "onboarding"))
    assert is_full_page(response)
    assert "Save stage" in text_of(response)
    assert "How the customer feels" in text_of(response)


def test_leadership_edits_a_stage(client, leo, journey):
    stage = stage_of(journey, "onboarding")
    client.force_login(leo)
    response = client.post(
        url("stage_edit", "lifecycle", "onboarding"),
        stage_post(stage, customer_goal="Reach first value in a week", emotion_today="-1"),
    )
    assert response.status_code == 302
    assert response["Location"] == url("detail", "lifecycle") + f"#stage-{stage.pk}"
    stage.refresh_from_db()
    assert stage.customer_goal == "Reach first value in a week"
    assert stage.emotion_today == -1


def test_a_stage_saved_over_htmx_swaps_that_stage_and_redraws_the_curve(client, leo, journey):
    stage = stage_of(journey, "onboarding")
    client.force_login(leo)
    response = client.post(
        url("stage_edit", "lifecycle", "onboarding"),
        stage_post(stage, name="First weeks", emotion_today="1"),
        headers=HTMX,
    )
    assert response.status_code == 200
    assert not is_full_page(response)
    html = response.content.decode()
    assert html.lstrip().startswith(f'<article id="stage-{stage.pk}"')
    assert "First weeks" in html
    assert 'id="emotion-chart"' in html and 'hx-swap-oob="true"' in html
    assert "First weeks: today Happy (+1), target Delighted (+2)" in html
    # Only that stage: the other stages' columns are not in the response.
    assert f'id="stage-{stage_of(journey, "adoption").pk}"' not in html


def test_an_invalid_stage_edit_shows_errors_and_keeps_the_input(client, leo, journey):
    stage = stage_of(journey, "onboarding")
    client.force_login(leo)
    response = client.post(
        url("stage_edit", "lifecycle", "onboarding"),
        stage_post(stage, name="Renamed but", customer_goal="  ", emotion_target="5"),
        headers=HTMX,
    )
    assert response.status_code == 200
    assert not is_full_page(response)
    html = response.content.decode()
    assert 'value="Renamed but"' in html
    goal_field = html[html.index(f'id="id_stage-{stage.pk}-customer_goal"') :]
    assert "This field is required." in goal_field[: goal_field.index("</div>")]
    assert "Select a valid choice." in html
    stage.refresh_from_db()
    assert stage.name == "Onboarding"


def test_a_stage_edit_does_not_overwrite_someone_elses_save(client, leo, journey):
    stage = stage_of(journey, "onboarding")
    stale = stage_post(stage, tomorrow="My version of tomorrow")
    theirs = Stage.objects.get(pk=stage.pk)  # someone else saves meanwhile
    theirs.tomorrow = "Their version of tomorrow"
    theirs.save()
    client.force_login(leo)
    response = client.post(url("stage_edit", "lifecycle", "onboarding"), stale, headers=HTMX)
    assert response.status_code == 200
    words = text_of(response)
    assert "Someone else saved this stage after you opened it." in words
    assert "Their version of tomorrow" in words  # the saved version, to compare
    assert "My version of tomorrow</textarea>" in response.content.decode()
    stage.refresh_from_db()
    assert stage.tomorrow == "Their version of tomorrow"

    # Saving again, having seen their version, keeps this one.
    again = dict(
        stale, version=re.search(r'name="version" value="(\w+)"', response.content.decode())[1]
    )
    response = client.post(url("stage_edit", "lifecycle", "onboarding"), again)
    assert response.status_code == 302
    stage.refresh_from_db()
    assert stage.tomorrow == "My version of tomorrow"


def test_only_leadership_edits_stages(client, alice, bob, olga, journey):
    stage = stage_of(journey, "onboarding")
    for person in (alice, bob, olga):
        client.force_login(person)
        assert client.get(url("stage_edit", "lifecycle", "onboarding")).status_code == 403
        response = client.post(
            url("stage_edit", "lifecycle", "onboarding"), stage_post(stage, name="Hijacked")
        )
        assert response.status_code == 403
    stage.refresh_from_db()
    assert stage.name == "Onboarding"


def test_editing_a_missing_stage_is_404_for_everyone(client, leo, carol, journey):
    for person in (leo, carol):
        client.force_login(person)
        assert client.get(url("stage_edit", "lifecycle", "nope")).status_code == 404
        assert client.get(url("stage_edit", "nope", "onboarding")).status_code == 404


def test_stage_edit_refuses_other_methods_and_needs_sign_in(client, leo, journey):
    response = client.get(url("stage_edit", "lifecycle", "onboarding"))
    assert response.status_code == 302
    client.force_login(leo)
    assert client.delete(url("stage_edit", "lifecycle", "onboarding")).status_code == 405


# Adding and moving stages


def new_stage_post(**changes) -> dict:
    values = {
        "name": "Renewal",
        "key": "",
        "customer_goal": "Decide whether this is worth renewing",
        "today": "A surprise negotiation",
        "tomorrow": "They see the value months ahead",
        "emotion_today": "-1",
        "emotion_target": "1",
    }
    values.update(changes)
    return {f"new-stage-{name}": value for name, value in values.items()}


def test_leadership_adds_a_stage_at_the_end(client, leo, journey):
    client.force_login(leo)
    response = client.post(url("stage_new", "lifecycle"), new_stage_post())
    stage = stage_of(journey, "renewal")
    assert response.status_code == 302
    assert response["Location"].endswith(f"#stage-{stage.pk}")
    assert stage.name == "Renewal" and stage.emotion_today == -1
    order = list(Stage.objects.filter(journey=journey).values_list("key", flat=True))
    assert order == ["acquisition", "onboarding", "adoption", "renewal"]
    words = text_of(client.get(url("detail", "lifecycle")))
    assert "3 of 4 stages have no squad in FY2027." in words


def test_a_stage_added_over_htmx_is_appended_without_redrawing_the_others(client, leo, journey):
    client.force_login(leo)
    response = client.post(url("stage_new", "lifecycle"), new_stage_post(), headers=HTMX)
    assert response.status_code == 200
    assert not is_full_page(response)
    stage = stage_of(journey, "renewal")
    html = response.content.decode()
    # The form closes, the new column is appended, and the curve and coverage are redrawn.
    assert html.lstrip().startswith('<div id="new-stage" hidden>')
    assert '<div hx-swap-oob="beforeend:#stage-list">' in html
    assert f'<article id="stage-{stage.pk}"' in html
    assert "Renewal: today Unhappy (-1), target Happy (+1)" in html
    assert "3 of 4 stages have no squad in FY2027." in text_of(response)
    # The other columns, which may hold someone's unsaved edit, are not in the answer.
    assert f'id="stage-{stage_of(journey, "adoption").pk}"' not in html
    assert f"show:#stage-{stage.pk}:top" in response["HX-Reswap"]


def test_the_new_stage_form_opens_over_htmx(client, leo, journey):
    client.force_login(leo)
    response = client.get(url("stage_new", "lifecycle"), headers=HTMX)
    assert not is_full_page(response)
    assert response.content.decode().lstrip().startswith('<section id="new-stage"')


def test_an_invalid_new_stage_keeps_the_input_and_writes_nothing(client, leo, journey):
    client.force_login(leo)
    response = client.post(
        url("stage_new", "lifecycle"), new_stage_post(name="Adoption again", tomorrow="")
    )
    assert response.status_code == 200
    assert is_full_page(response)
    html = response.content.decode()
    tomorrow_field = html[html.index('id="id_new-stage-tomorrow"') :]
    assert "This field is required." in tomorrow_field[: tomorrow_field.index("</div>")]
    assert 'value="Adoption again"' in html

    response = client.post(
        url("stage_new", "lifecycle"),
        new_stage_post(name="Adoption again", key="adoption"),
        headers=HTMX,
    )
    assert not is_full_page(response)
    assert 'This journey already has a stage with key "adoption".' in text_of(response)
    assert "Decide whether this is worth renewing</textarea>" in response.content.decode()
    assert Stage.objects.filter(journey=journey).count() == 3


def test_only_leadership_adds_stages(client, bob, journey):
    client.force_login(bob)
    assert client.get(url("stage_new", "lifecycle")).status_code == 403
    assert client.post(url("stage_new", "lifecycle"), new_stage_post()).status_code == 403
    assert Stage.objects.count() == 3


def test_adding_a_stage_to_a_missing_journey_is_404(client, leo, bob):
    for person in (leo, bob):
        client.force_login(person)
        assert client.post(url("stage_new", "nope"), new_stage_post()).status_code == 404


def order(journey) -> list[str]:
    return list(journey.stages.order_by("position", "id").values_list("key", flat=True))


def test_leadership_moves_a_stage_left_and_right(client, leo, journey):
    client.force_login(leo)
    response = client.post(url("stage_move", "lifecycle", "acquisition"), {"direction": "right"})
    assert response.status_code == 302
    assert order(journey) == ["onboarding", "acquisition", "adoption"]
    client.post(url("stage_move", "lifecycle", "adoption"), {"direction": "left"})
    assert order(journey) == ["onboarding", "adoption", "acquisition"]
    # Already at the end: nothing moves.
    client.post(url("stage_move", "lifecycle", "acquisition"), {"direction": "right"})
    assert order(journey) == ["onboarding", "adoption", "acquisition"]


def test_moving_over_htmx_returns_the_map_in_the_new_order(client, leo, journey):
    client.force_login(leo)
    response = client.post(
        url("stage_move", "lifecycle", "adoption"), {"direction": "left"}, headers=HTMX
    )
    assert not is_full_page(response)
    words = text_of(response)
    assert words.index("Adoption") < words.index("Onboarding")


def test_moving_stages_with_repeated_positions_is_stable(client, leo, journey):
    Stage.objects.filter(journey=journey).update(position=0)
    client.force_login(leo)
    client.post(url("stage_move", "lifecycle", "adoption"), {"direction": "left"})
    assert order(journey) == ["acquisition", "adoption", "onboarding"]


def test_move_needs_a_direction_post_and_leadership(client, leo, alice, journey):
    client.force_login(leo)
    assert client.get(url("stage_move", "lifecycle", "adoption")).status_code == 405
    bad = client.post(url("stage_move", "lifecycle", "adoption"), {"direction": "up"})
    assert bad.status_code == 400
    assert (
        client.post(url("stage_move", "lifecycle", "nope"), {"direction": "left"}).status_code
        == 404
    )
    client.force_login(alice)
    response = client.post(url("stage_move", "lifecycle", "adoption"), {"direction": "left"})
    assert response.status_code == 403
    assert order(journey) == ["acquisition", "onboarding", "adoption"]


# Moments


def moment_post(prefix: str, **values) -> dict:
    return {f"{prefix}-{name}": value for name, value in values.items()}


def test_leadership_adds_a_moment_and_it_lands_in_time_order(client, leo, journey):
    stage = stage_of(journey, "onboarding")
    client.force_login(leo)
    response = client.post(
        url("moment_new", "lifecycle", "onboarding"),
        moment_post(f"new-moment-{stage.pk}", when="week  1", today="", tomorrow="A check-in call"),
        headers=HTMX,
    )
    assert response.status_code == 200
    assert not is_full_page(response)
    moment = Moment.objects.get(tomorrow="A check-in call")
    assert moment.when == "Week 1"
    assert moment.offset_days == 7
    words = text_of(response)
    assert words.index("Day 1") < words.index("Week 1") < words.index("Week 2")


def test_a_moment_named_by_what_happens_keeps_its_place_after_the_one_before(client, leo, journey):
    stage = stage_of(journey, "onboarding")
    client.force_login(leo)
    response = client.post(
        url("moment_new", "lifecycle", "onboarding"),
        moment_post(f"new-moment-{stage.pk}", when="First login", tomorrow="A guided tour"),
    )
    assert response.status_code == 302
    page = text_of(client.get(url("detail", "lifecycle")))
    assert page.index("Week 2") < page.index("First login")
    # Edited into another event it stays where it was; into a time it moves to that time.
    moment = Moment.objects.get(when="First login")
    before = moment.offset_days
    services.moment_update(
        moment=moment,
        version=services.moment_version(moment),
        when="First invite sent",
        tomorrow="A guided tour",
    )
    moment.refresh_from_db()
    assert moment.offset_days == before
    services.moment_update(
        moment=moment, version=services.moment_version(moment), when="Day 0", tomorrow="Tour"
    )
    moment.refresh_from_db()
    assert moment.offset_days == 0


def test_two_moments_of_a_stage_cannot_share_their_when(client, leo, journey):
    stage = stage_of(journey, "onboarding")
    existing = Moment.objects.filter(stage=stage).first()
    client.force_login(leo)
    response = client.post(
        url("moment_new", "lifecycle", "onboarding"),
        moment_post(f"new-moment-{stage.pk}", when=f" {existing.when.lower()} ", tomorrow="A call"),
        headers=HTMX,
    )
    assert response.status_code == 200
    assert "This stage has a moment at" in text_of(response)
    assert "A call</textarea>" in response.content.decode()  # nothing typed is lost
    assert Moment.objects.filter(stage=stage).count() == 3
    other = Moment.objects.filter(stage=stage).exclude(pk=existing.pk).first()
    response = client.post(
        url("moment_edit", "lifecycle", "onboarding", other.pk),
        {
            **moment_post(f"moment-{other.pk}", when=existing.when, tomorrow="Same"),
            "version": services.moment_version(other),
        },
        headers=HTMX,
    )
    assert "This stage has a moment at" in text_of(response)
    other.refresh_from_db()
    assert other.when != existing.when
    # Another stage may have its own "Day 1".
    adoption = stage_of(journey, "adoption")
    services.moment_create(stage=adoption, when=existing.when, tomorrow="Fine")


def test_the_moment_form_opens_in_place(client, leo, journey):
    stage = stage_of(journey, "onboarding")
    client.force_login(leo)
    response = client.get(url("moment_new", "lifecycle", "onboarding"), headers=HTMX)
    assert response.content.decode().lstrip().startswith(f'<article id="stage-{stage.pk}"')
    assert "New moment" in text_of(response)
    plain = client.get(url("moment_new", "lifecycle", "onboarding"))
    assert is_full_page(plain) and "New moment" in text_of(plain)


def test_leadership_edits_a_moment(client, leo, journey):
    moment = Moment.objects.get(when="Week 2")
    client.force_login(leo)
    response = client.post(
        url("moment_edit", "lifecycle", "onboarding", moment.pk),
        {
            **moment_post(
                f"moment-{moment.pk}", when="Week 3", today="Silence", tomorrow="A milestone"
            ),
            "version": services.moment_version(moment),
        },
    )
    assert response.status_code == 302
    moment.refresh_from_db()
    assert (moment.when, moment.offset_days, moment.today) == ("Week 3", 21, "Silence")


def test_an_invalid_moment_edit_keeps_the_input(client, leo, journey):
    moment = Moment.objects.get(when="Week 2")
    client.force_login(leo)
    response = client.post(
        url("moment_edit", "lifecycle", "onboarding", moment.pk),
        {
            **moment_post(f"moment-{moment.pk}", when="Soon", tomorrow=""),
            "version": services.moment_version(moment),
        },
        headers=HTMX,
    )
    words = text_of(response)
    assert "This field is required." in words
    assert 'value="Soon"' in response.content.decode()
    moment.refresh_from_db()
    assert moment.when == "Week 2"


def test_a_moment_edit_does_not_overwrite_someone_elses_save(client, leo, journey):
    moment = Moment.objects.get(when="Week 2")
    version = services.moment_version(moment)
    Moment.objects.filter(pk=moment.pk).update(tomorrow="Theirs")
    client.force_login(leo)
    response = client.post(
        url("moment_edit", "lifecycle", "onboarding", moment.pk),
        {**moment_post(f"moment-{moment.pk}", when="Week 2", tomorrow="Mine"), "version": version},
        headers=HTMX,
    )
    assert "Someone else saved this moment after you opened it." in text_of(response)
    moment.refresh_from_db()
    assert moment.tomorrow == "Theirs"


def test_leadership_deletes_a_moment(client, leo, journey):
    moment = Moment.objects.get(when="Week 2")
    client.force_login(leo)
    assert client.get(url("moment_delete", "lifecycle", "onboarding", moment.pk)).status_code == 405
    shown = {"version": services.moment_version(moment)}
    response = client.post(
        url("moment_delete", "lifecycle", "onboarding", moment.pk), shown, headers=HTMX
    )
    assert response.status_code == 200
    assert not is_full_page(response)
    assert "Week 2" not in text_of(response)
    assert not Moment.objects.filter(pk=moment.pk).exists()


def test_a_moment_someone_changed_since_the_page_was_drawn_is_not_deleted(client, leo, journey):
    moment = Moment.objects.get(when="Week 2")
    client.force_login(leo)
    page = client.get(url("detail", "lifecycle")).content.decode()
    delete = url("moment_delete", "lifecycle", "onboarding", moment.pk)
    shown = re.search(rf'action="{re.escape(delete)}".*?name="version" value="(\w+)"', page, re.S)[
        1
    ]
    Moment.objects.filter(pk=moment.pk).update(tomorrow="Words saved meanwhile")
    for version in (shown, "", "junk"):
        response = client.post(delete, {"version": version}, headers=HTMX)
        assert response.status_code == 200
        assert "so it was not deleted" in text_of(response)
        assert "Words saved meanwhile" in text_of(response)
    assert Moment.objects.get(pk=moment.pk).tomorrow == "Words saved meanwhile"


def test_only_leadership_changes_moments(client, alice, olga, journey):
    stage = stage_of(journey, "onboarding")
    moment = Moment.objects.get(when="Week 2")
    for person in (alice, olga):
        client.force_login(person)
        new = client.post(
            url("moment_new", "lifecycle", "onboarding"),
            moment_post(f"new-moment-{stage.pk}", when="Day 2", tomorrow="x"),
        )
        assert new.status_code == 403
        assert (
            client.get(url("moment_edit", "lifecycle", "onboarding", moment.pk)).status_code == 403
        )
        assert (
            client.post(url("moment_delete", "lifecycle", "onboarding", moment.pk)).status_code
            == 403
        )
    assert Moment.objects.count() == 3


def test_a_moment_is_found_only_under_its_own_stage(client, leo, journey):
    moment = Moment.objects.get(when="Week 2")
    client.force_login(leo)
    assert client.get(url("moment_edit", "lifecycle", "adoption", moment.pk)).status_code == 404
    assert client.post(url("moment_delete", "lifecycle", "adoption", moment.pk)).status_code == 404
    assert client.get(url("moment_edit", "lifecycle", "onboarding", 999999)).status_code == 404
    assert Moment.objects.filter(pk=moment.pk).exists()


# The journey itself


def test_leadership_edits_the_journey_and_its_segments(client, leo, journey):
    enterprise = Segment.objects.create(key="enterprise", name="Enterprise", priority=2)
    client.force_login(leo)
    response = client.get(url("edit", "lifecycle"), headers=HTMX)
    assert not is_full_page(response)
    assert 'value="Customer lifecycle"' in response.content.decode()
    version = re.search(r'name="version" value="(\w+)"', response.content.decode())[1]
    response = client.post(
        url("edit", "lifecycle"),
        {
            "journey-name": "The customer's lifecycle",
            "journey-segments": [enterprise.pk],
            "version": version,
        },
        headers=HTMX,
    )
    assert response.status_code == 200
    assert "The customer&#x27;s lifecycle" in response.content.decode()
    journey.refresh_from_db()
    assert journey.name == "The customer's lifecycle"
    assert list(journey.segments.all()) == [enterprise]


def test_a_stale_journey_edit_overwrites_nothing_and_shows_the_saved_one(client, leo, journey):
    client.force_login(leo)
    editor = client.get(url("edit", "lifecycle"), headers=HTMX).content.decode()
    version = re.search(r'name="version" value="(\w+)"', editor)[1]
    Journey.objects.filter(pk=journey.pk).update(description="Their description")
    mine = {"journey-name": "My name", "journey-description": "My description"}
    for stale in (version, "", "junk"):
        response = client.post(url("edit", "lifecycle"), {**mine, "version": stale}, headers=HTMX)
        page = response.content.decode()
        assert "Someone else saved this journey" in page
        assert "Their description" in page  # the saved version, to compare
        assert "My description</textarea>" in page  # the draft, kept
        journey.refresh_from_db()
        assert (journey.name, journey.description) == ("Customer lifecycle", "Their description")
    # Saving again, having seen their version, keeps this one.
    shown = re.search(r'name="version" value="(\w+)"', page)[1]
    client.post(url("edit", "lifecycle"), {**mine, "version": shown}, headers=HTMX)
    journey.refresh_from_db()
    assert journey.description == "My description"


def test_an_invalid_journey_edit_writes_nothing(client, leo, bob, journey):
    client.force_login(leo)
    response = client.post(url("edit", "lifecycle"), {"journey-name": ""})
    assert "This field is required." in text_of(response)
    client.force_login(bob)
    assert client.post(url("edit", "lifecycle"), {"journey-name": "Mine"}).status_code == 403
    journey.refresh_from_db()
    assert journey.name == "Customer lifecycle"


# User text is text


def test_user_text_is_escaped_everywhere(client, leo, journey):
    Stage.objects.filter(key="onboarding").update(name="<script>alert(1)</script>")
    client.force_login(leo)
    for response in (
        client.get(url("detail", "lifecycle")),
        client.get(url("list")),
        client.get(url("stage_edit", "lifecycle", "onboarding"), headers=HTMX),
    ):
        assert b"<script>alert(1)</script>" not in response.content
        assert b"&lt;script&gt;alert(1)&lt;/script&gt;" in response.content


# The chart on its own


def test_the_chart_puts_target_above_today_when_the_target_is_happier():
    class S:
        def __init__(self, name, today, target):
            self.name, self.emotion_today, self.emotion_target = name, today, target

    chart = emotion_chart([S("A", -2, 2), S("B", 0, 0), S("C", 1, -1)])
    a, b, c = chart.columns
    assert a.target_y < a.today_y  # SVG y grows downwards
    assert b.target_y == b.today_y
    assert c.target_y > c.today_y
    assert "A: today Very unhappy (-2), target Delighted (+2)" in chart.description


def test_pages_carry_no_inline_styles_or_scripts_for_the_content_security_policy(
    client, leo, journey
):
    client.force_login(leo)
    pages = [
        client.get(url("list")),
        client.get(url("detail", "lifecycle")),
        client.get(url("stage_edit", "lifecycle", "onboarding")),
        client.get(url("stage_new", "lifecycle")),
    ]
    for response in pages:
        html = response.content.decode()
        assert response.status_code == 200
        assert " style=" not in html
        assert not re.search(r"\son[a-z]+=", html)
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)


# Value states: what value customers have realised, today and tomorrow


def test_leadership_records_a_stages_value_states_and_the_chart_names_them(client, leo, journey):
    stage = stage_of(journey, "onboarding")
    client.force_login(leo)
    response = client.post(
        url("stage_edit", "lifecycle", "onboarding"),
        stage_post(stage, value_today="1", value_target="3", expansion="on"),
        headers=HTMX,
    )
    assert response.status_code == 200
    stage.refresh_from_db()
    assert (stage.value_today, stage.value_target, stage.expansion) == (1, 3, True)
    # The swapped stage and the redrawn chart name the states in words.
    html = response.content.decode()
    assert 'id="emotion-chart"' in html
    assert "Onboarding: today Promised, tomorrow Repeat value" in html
    page = text_of(client.get(url("detail", "lifecycle")))
    assert "Value today Promised Value tomorrow Repeat value" in page
    assert "Expansion conversations happen here" in page
    # A stage without value recorded says so, in the chart and on the stage.
    assert "Acquisition: today not recorded, tomorrow not recorded" in page
    assert "Value today not recorded" in page


def test_the_value_band_draws_each_state_in_words_over_each_stage(client, carol, journey):
    Stage.objects.filter(key="onboarding").update(value_today=0, value_target=4)
    client.force_login(carol)
    html = client.get(url("detail", "lifecycle")).content.decode()
    labels = []
    for key in ("acquisition", "onboarding", "adoption"):
        pk = stage_of(journey, key).pk
        strip = html[html.index(f'id="stage-curve-{pk}"') :]
        strip = strip[: strip.index(f'id="stage-{pk}"')]
        labels += re.findall(r'<span class="value-cell__label">([^<]+)</span>', strip)
    # Today and tomorrow for each of the three stages: "None" is a state, not recorded is not.
    assert labels == [
        "not recorded",
        "not recorded",
        "None",
        "Expanding",
        "not recorded",
        "not recorded",
    ]
    assert "value-cell--none" in html and "value-cell--0" in html and "value-cell--4" in html
    assert "Onboarding: today None, tomorrow Expanding" in html


def test_the_value_band_follows_the_stages():
    from journeys.charts import value_chart

    class S:
        def __init__(self, name, value_today, value_target):
            self.name, self.value_today, self.value_target = name, value_today, value_target
            self.emotion_today, self.emotion_target = 0, 1

    stages = [S("A", None, 2), S("B", 0, 4), S("C", 3, None)]
    values, curve = value_chart(stages), emotion_chart(stages)
    assert [c.name for c in values.columns] == [c.name for c in curve.columns]
    a, b, c = values.columns
    assert (a.today.label, a.tomorrow.label) == ("not recorded", "First value")
    assert not a.today.recorded and b.today.recorded
    assert 0 < b.today.share < b.tomorrow.share == 100
    assert values.description.endswith(
        "A: today not recorded, tomorrow First value; B: today None, tomorrow Expanding; "
        "C: today Repeat value, tomorrow not recorded."
    )


def test_a_value_state_off_the_scale_is_refused(client, leo, journey):
    stage = stage_of(journey, "onboarding")
    client.force_login(leo)
    response = client.post(
        url("stage_edit", "lifecycle", "onboarding"),
        stage_post(stage, name="Changed", value_today="7"),
        headers=HTMX,
    )
    assert "Select a valid choice. 7 is not one of the available choices." in text_of(response)
    stage.refresh_from_db()
    assert (stage.name, stage.value_today) == ("Onboarding", None)
    with pytest.raises(ValidationError):
        services.stage_update(
            stage=stage,
            version=stage.version,
            **{**{n: getattr(stage, n) for n in services.STAGE_FIELDS}, "value_target": 9},
        )


def test_a_stale_edit_of_a_stages_value_shows_the_conflict_view(client, leo, journey):
    stage = stage_of(journey, "onboarding")
    stale = stage_post(stage, value_today="2")
    theirs = Stage.objects.get(pk=stage.pk)
    theirs.value_today = 4
    theirs.save()
    client.force_login(leo)
    response = client.post(url("stage_edit", "lifecycle", "onboarding"), stale, headers=HTMX)
    words = text_of(response)
    assert "Someone else saved this stage after you opened it." in words
    assert "Value Expanding today, not recorded tomorrow" in words  # the saved version
    stage.refresh_from_db()
    assert stage.value_today == 4


def test_leadership_records_a_moments_value_states(client, leo, journey):
    moment = Moment.objects.get(when="Week 2")
    client.force_login(leo)
    response = client.post(
        url("moment_edit", "lifecycle", "onboarding", moment.pk),
        {
            **moment_post(
                f"moment-{moment.pk}",
                when="Week 2",
                tomorrow="They complete a first milestone",
                value_today="",
                value_target="2",
            ),
            "version": services.moment_version(moment),
        },
        headers=HTMX,
    )
    assert response.status_code == 200
    moment.refresh_from_db()
    assert (moment.value_today, moment.value_target) == (None, 2)
    assert "Value not recorded today, First value tomorrow" in text_of(response)


def test_a_stale_edit_of_a_moments_value_is_caught(client, leo, journey):
    moment = Moment.objects.get(when="Week 2")
    version = services.moment_version(moment)
    # Someone else changes only the value: the version the editor showed no longer holds.
    Moment.objects.filter(pk=moment.pk).update(value_today=3)
    client.force_login(leo)
    response = client.post(
        url("moment_edit", "lifecycle", "onboarding", moment.pk),
        {
            **moment_post(f"moment-{moment.pk}", when="Week 2", tomorrow="Mine", value_today="1"),
            "version": version,
        },
        headers=HTMX,
    )
    words = text_of(response)
    assert "Someone else saved this moment after you opened it." in words
    assert "Value Repeat value today, not recorded tomorrow" in words
    moment.refresh_from_db()
    assert (moment.value_today, moment.tomorrow) == (3, "They complete a first milestone")


# Touchpoints: who speaks to the customer at a moment


@pytest.fixture
def week_two(journey):
    return Moment.objects.get(when="Week 2")


def touchpoint_post(prefix: str, **values) -> dict:
    data = {"channel": "email", "function": "", "squad": "", "segment": "", "message": ""}
    data.update(values)
    return {f"{prefix}-{name}": value for name, value in data.items()}


def tp_url(name: str, moment, *more) -> str:
    return url(name, "lifecycle", moment.stage.key, moment.pk, *more)


def test_each_moment_has_an_anchor_for_links_from_other_pages(client, carol, week_two):
    client.force_login(carol)
    html = client.get(url("detail", "lifecycle")).content.decode()
    assert 'id="moment-lifecycle-onboarding-week-2"' in html
    assert 'id="moment-lifecycle-onboarding-day-1"' in html


def test_a_moment_takes_at_most_twenty_touchpoints(client, leo, week_two):
    from journeys.models import TOUCHPOINTS_PER_MOMENT, Touchpoint

    Touchpoint.objects.bulk_create(
        Touchpoint(moment=week_two, position=n, channel="email", function=f"Team {n}")
        for n in range(TOUCHPOINTS_PER_MOMENT)
    )
    client.force_login(leo)
    response = client.post(
        tp_url("touchpoint_new", week_two),
        touchpoint_post(f"new-touchpoint-{week_two.pk}", function="One more"),
        headers=HTMX,
    )
    assert response.status_code == 200
    assert "A moment has at most 20 touchpoints" in text_of(response)
    assert week_two.touchpoints.count() == TOUCHPOINTS_PER_MOMENT
    assert not week_two.touchpoints.filter(function="One more").exists()


def test_leadership_adds_a_touchpoint_and_the_map_lists_it(client, leo, week_two, squad):
    segment = Segment.objects.get(key="mid-market")
    client.force_login(leo)
    form = client.get(tp_url("touchpoint_new", week_two), headers=HTMX)
    assert form.content.decode().lstrip().startswith('<li id="moment-lifecycle-onboarding-week-2"')
    assert '<datalist id="touchpoint-functions">' in form.content.decode()
    assert '<option value="Leadership">' in form.content.decode()  # Leo's function
    plain = client.get(tp_url("touchpoint_new", week_two))
    assert is_full_page(plain) and "New touchpoint" in text_of(plain)
    response = client.post(
        tp_url("touchpoint_new", week_two),
        touchpoint_post(
            f"new-touchpoint-{week_two.pk}",
            function="Customer Success",
            segment=segment.pk,
            message="welcome and first-week plan",
        ),
        headers=HTMX,
    )
    assert response.status_code == 200
    assert not is_full_page(response)
    assert (
        "Email · Customer Success — to Mid-market SaaS teams: welcome and first-week plan"
        in text_of(response)
    )
    # A squad speaks to every segment, and a plain post goes back to the moment.
    response = client.post(
        tp_url("touchpoint_new", week_two),
        touchpoint_post(f"new-touchpoint-{week_two.pk}", channel="call", squad=squad.pk),
    )
    assert response.status_code == 302
    assert response["Location"].endswith("#moment-lifecycle-onboarding-week-2")
    words = text_of(client.get(url("detail", "lifecycle")))
    assert "Call · First 90 Days — to all segments" in words
    assert [t.position for t in Touchpoint.objects.order_by("id")] == [0, 1]


def test_a_touchpoint_needs_someone_who_speaks(client, leo, week_two):
    client.force_login(leo)
    response = client.post(
        tp_url("touchpoint_new", week_two),
        touchpoint_post(f"new-touchpoint-{week_two.pk}", function="   ", message="Hello"),
        headers=HTMX,
    )
    assert "Say who speaks: a function, a squad, or both." in text_of(response)
    assert "Hello</textarea>" in response.content.decode()
    assert not Touchpoint.objects.exists()


def test_a_squad_of_another_cycle_cannot_speak(client, leo, cycle, week_two, dora):
    other = factories.squad("next-year", dri=dora, cycle=factories.cycle("fy2028"))
    client.force_login(leo)
    response = client.post(
        tp_url("touchpoint_new", week_two),
        touchpoint_post(f"new-touchpoint-{week_two.pk}", squad=other.pk),
        headers=HTMX,
    )
    assert "Select a valid choice." in text_of(response)
    assert not Touchpoint.objects.exists()
    # The service refuses it too, whatever calls it.
    with pytest.raises(ValidationError) as refused:
        touchpoints.touchpoint_create(moment=week_two, cycle=cycle, channel="email", squad=other)
    assert refused.value.message_dict["squad"] == ["Choose a squad of the cycle on screen."]


def test_a_segment_must_be_one_of_the_journeys(client, leo, week_two):
    stranger = Segment.objects.create(key="enterprise", name="Enterprise")
    client.force_login(leo)
    response = client.post(
        tp_url("touchpoint_new", week_two),
        touchpoint_post(f"new-touchpoint-{week_two.pk}", function="Sales", segment=stranger.pk),
        headers=HTMX,
    )
    assert "Select a valid choice." in text_of(response)
    assert not Touchpoint.objects.exists()
    with pytest.raises(ValidationError) as refused:
        touchpoints.touchpoint_create(
            moment=week_two, cycle=None, channel="email", function="Sales", segment=stranger
        )
    assert "segment" in refused.value.message_dict


@pytest.fixture
def touchpoint(week_two):
    return Touchpoint.objects.create(
        moment=week_two, channel="email", function="Customer Success", message="Welcome"
    )


def test_leadership_edits_a_touchpoint(client, leo, week_two, touchpoint, squad):
    client.force_login(leo)
    form = client.get(tp_url("touchpoint_edit", week_two, touchpoint.pk), headers=HTMX)
    assert 'value="Customer Success"' in form.content.decode()
    version = re.search(r'name="version" value="(\w+)"', form.content.decode())[1]
    response = client.post(
        tp_url("touchpoint_edit", week_two, touchpoint.pk),
        {
            **touchpoint_post(
                f"touchpoint-{touchpoint.pk}",
                channel="in_app",
                function="Product",
                squad=squad.pk,
                message="Your first milestone",
            ),
            "version": version,
        },
        headers=HTMX,
    )
    assert response.status_code == 200
    assert (
        "In-app message · Product (First 90 Days) — to all segments: Your first milestone"
        in text_of(response)
    )
    touchpoint.refresh_from_db()
    assert (touchpoint.channel, touchpoint.squad_id) == ("in_app", squad.pk)


def test_a_stale_touchpoint_edit_shows_the_saved_one(client, leo, week_two, touchpoint):
    version = touchpoints.touchpoint_version(touchpoint)
    Touchpoint.objects.filter(pk=touchpoint.pk).update(message="Their words")
    client.force_login(leo)
    response = client.post(
        tp_url("touchpoint_edit", week_two, touchpoint.pk),
        {
            **touchpoint_post(f"touchpoint-{touchpoint.pk}", function="CS", message="My words"),
            "version": version,
        },
        headers=HTMX,
    )
    words = text_of(response)
    assert "Someone else saved this touchpoint after you opened it." in words
    assert "Their words" in words and "My words</textarea>" in response.content.decode()
    assert Touchpoint.objects.get(pk=touchpoint.pk).message == "Their words"


def test_removing_a_touchpoint_asks_first(client, leo, week_two, touchpoint):
    client.force_login(leo)
    remove = tp_url("touchpoint_remove", week_two, touchpoint.pk)
    asked = client.get(remove, headers=HTMX)
    assert "Remove this touchpoint from the Week 2 moment?" in text_of(asked)
    assert Touchpoint.objects.filter(pk=touchpoint.pk).exists()
    version = re.search(r'name="version" value="(\w+)"', asked.content.decode())[1]
    # Changed meanwhile: not removed, shown as saved now.
    Touchpoint.objects.filter(pk=touchpoint.pk).update(message="Changed")
    kept = client.post(remove, {"version": version}, headers=HTMX)
    assert "so it was not removed" in text_of(kept)
    version = touchpoints.touchpoint_version(Touchpoint.objects.get(pk=touchpoint.pk))
    response = client.post(remove, {"version": version})
    assert response.status_code == 302
    assert not Touchpoint.objects.filter(pk=touchpoint.pk).exists()


def test_only_leadership_changes_touchpoints(client, alice, bob, carol, olga, week_two, touchpoint):
    for person in (alice, bob, carol, olga):
        client.force_login(person)
        page = client.get(url("detail", "lifecycle")).content.decode()
        assert "Email · Customer Success" in text_of(client.get(url("detail", "lifecycle")))
        assert tp_url("touchpoint_new", week_two) not in page
        assert client.get(tp_url("touchpoint_new", week_two)).status_code == 403
        new = client.post(
            tp_url("touchpoint_new", week_two),
            touchpoint_post(f"new-touchpoint-{week_two.pk}", function="Sales"),
        )
        assert new.status_code == 403
        edit = tp_url("touchpoint_edit", week_two, touchpoint.pk)
        assert client.get(edit).status_code == 403
        assert client.post(edit, touchpoint_post(f"touchpoint-{touchpoint.pk}")).status_code == 403
        remove = tp_url("touchpoint_remove", week_two, touchpoint.pk)
        assert client.get(remove).status_code == 403
        assert client.post(remove, {"version": touchpoint.shown_version}).status_code == 403
    assert Touchpoint.objects.count() == 1
    assert Touchpoint.objects.get().function == "Customer Success"


def test_a_touchpoint_is_found_only_under_its_own_moment(client, leo, carol, week_two, touchpoint):
    day_one = Moment.objects.get(when="Day 1")
    other = factories.stage("other", "onboarding", name="Other onboarding")
    elsewhere = Moment.objects.create(stage=other, when="Day 1", offset_days=1, tomorrow="x")
    for person in (leo, carol):
        client.force_login(person)
        for address in (
            tp_url("touchpoint_edit", day_one, touchpoint.pk),
            tp_url("touchpoint_remove", day_one, touchpoint.pk),
            url("touchpoint_edit", "other", "onboarding", elsewhere.pk, touchpoint.pk),
            url("touchpoint_remove", "other", "onboarding", week_two.pk, touchpoint.pk),
            tp_url("touchpoint_edit", week_two, 999999),
        ):
            assert client.get(address).status_code == 404
            assert client.post(address, {"version": touchpoint.shown_version}).status_code == 404
    assert Touchpoint.objects.filter(pk=touchpoint.pk).exists()


def test_touchpoint_text_is_escaped(client, leo, week_two):
    client.force_login(leo)
    client.post(
        tp_url("touchpoint_new", week_two),
        touchpoint_post(
            f"new-touchpoint-{week_two.pk}",
            function="<script>alert('f')</script>",
            message="<script>alert('m')</script>",
        ),
    )
    touchpoint = Touchpoint.objects.get()
    assert touchpoint.function == "<script>alert('f')</script>"
    for response in (
        client.get(url("detail", "lifecycle")),
        client.get(tp_url("touchpoint_edit", week_two, touchpoint.pk), headers=HTMX),
        client.get(tp_url("touchpoint_new", week_two), headers=HTMX),
    ):
        assert b"<script>alert(" not in response.content
        assert b"&lt;script&gt;alert(" in response.content


def test_touchpoint_routes_refuse_other_methods_and_need_sign_in(client, leo, week_two, touchpoint):
    address = tp_url("touchpoint_edit", week_two, touchpoint.pk)
    response = client.get(address)
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    client.force_login(leo)
    assert client.put(address).status_code == 405
    assert client.delete(tp_url("touchpoint_remove", week_two, touchpoint.pk)).status_code == 405
