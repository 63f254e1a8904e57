"""The journey map's risk: each stage's and moment's line of counts, the items behind it, and
the "at risk" mark (planning/journey_map/)."""

from __future__ import annotations

import datetime as dt
import html as htmllib
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from dependencies.models import Dependency
from journeys.models import Milestone, Moment, Segment, Stage
from planning.models import Finding
from squads.models import OKR, CheckIn, InitiativeMilestone, KeyResult, Plan, SquadStage
from tests import factories

pytestmark = pytest.mark.django_db

MAP = reverse("journeys:detail", args=["lifecycle"])


def text_of(fragment: str) -> str:
    fragment = re.sub(r"<(script|style)\b.*?</\1>", " ", fragment, flags=re.S)
    return htmllib.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", fragment)).strip())


def risk_of(page: str, element_id: str) -> str:
    """The risk block (<details>) with this id, as HTML."""
    match = re.search(
        rf'<details class="risk[^"]*" id="{re.escape(element_id)}">.*?</details>', page, re.S
    )
    assert match, f"no risk block #{element_id}"
    return match[0]


def onboarding() -> str:
    """The id of the onboarding stage's risk on the map."""
    return f"stage-{Stage.objects.get(journey__key='lifecycle', key='onboarding').pk}-risk"


def finding(cycle, subjects, *, severity="medium", state="open", message="Something is off"):
    now = timezone.now()
    return Finding.objects.create(
        cycle=cycle,
        kind="blocker",
        rule="overdue",
        severity=severity,
        subjects=subjects,
        identity=f"{'|'.join(subjects)}-{severity}-{state}-{message}"[:64],
        message=message,
        state=state,
        dismissed_reason="Not a problem" if state == "dismissed" else "",
        first_seen=now,
        last_seen=now,
    )


def key_result(squad, key="activation", name="Activation", *confidences, author):
    okr = OKR.objects.get_or_create(squad=squad, cycle=squad.cycle, defaults={"objective": "Win"})[
        0
    ]
    kr = KeyResult.objects.create(
        okr=okr, key=key, name=name, baseline=Decimal(10), target=Decimal(20)
    )
    for confidence in confidences:
        CheckIn.objects.create(
            key_result=kr, value=Decimal(12), confidence=confidence, author=author
        )
    return kr


@pytest.fixture
def example(cycle, needing, stage, wizard, dep, alice):
    """Onboarding, covered by First 90 Days, whose wizard is aimed at it and needs feature
    messaging (blocking) that is past due; a finding names the dependency; the squad's
    latest check-in on Activation says confidence 3."""
    SquadStage.objects.create(squad=needing, stage=stage)
    dep.due = timezone.localdate() - dt.timedelta(days=3)
    dep.save()
    finding(cycle, ["dependency:messaging", "squad:first-90-days"], message="Messaging is late")
    key_result(needing, "activation", "Activation", 6, 3, author=alice)
    return stage


def test_the_risk_line_counts_what_a_stage_is_made_of_and_marks_it_at_risk(
    client, carol, example, dep
):
    client.force_login(carol)
    page = client.get(MAP).content.decode()
    risk = risk_of(page, onboarding())
    words = text_of(risk)
    assert (
        "At risk · 1 squad · 1 initiative · 1 blocking dependency open · 1 finding · "
        "lowest confidence 3/10" in words
    )
    assert "a blocking dependency is past due (Feature messaging for the wizard)" in words
    assert "Confidence 3 of 10 (Activation, First 90 Days)" in words
    # Each item links to where it lives.
    assert f'href="{reverse("squads:detail", args=["first-90-days"])}"' in risk
    assert f'href="{reverse("squads:plan", args=["first-90-days"])}#initiative-wizard"' in risk
    assert f'href="{reverse("board:board")}?dep=messaging"' in risk
    the_finding = Finding.objects.get()
    assert f'href="{reverse("finding", args=[the_finding.pk])}"' in risk
    assert f'href="{reverse("squads:detail", args=["first-90-days"])}#kr-activation"' in risk
    assert "stage--at-risk" in page


def test_a_done_dependency_no_longer_puts_the_stage_at_risk(client, carol, example, dep):
    dep.status = Dependency.Status.DONE
    dep.save()
    client.force_login(carol)
    words = text_of(risk_of(client.get(MAP).content.decode(), onboarding()))
    assert "At risk" not in words
    assert "blocking" not in words
    assert words.startswith("Risk of Onboarding: 1 squad · 1 initiative")


def test_a_blocking_dependency_not_yet_due_is_counted_but_not_a_risk(client, carol, example, dep):
    dep.due = timezone.localdate() + dt.timedelta(days=10)
    dep.save()
    client.force_login(carol)
    words = text_of(risk_of(client.get(MAP).content.decode(), onboarding()))
    assert "1 blocking dependency open" in words
    assert "At risk" not in words


def test_a_declined_blocking_dependency_puts_the_stage_at_risk(client, carol, example, dep):
    dep.due = timezone.localdate() + dt.timedelta(days=10)
    dep.status = Dependency.Status.DECLINED
    dep.save()
    client.force_login(carol)
    words = text_of(risk_of(client.get(MAP).content.decode(), onboarding()))
    assert "At risk" in words
    assert "1 blocking dependency declined" in words
    assert "a blocking dependency was declined" in words


def test_an_open_high_severity_finding_naming_the_stage_puts_it_at_risk(
    client, carol, cycle, stage
):
    finding(cycle, ["stage:lifecycle/onboarding"], severity="high", message="Nobody owns it")
    client.force_login(carol)
    words = text_of(risk_of(client.get(MAP).content.decode(), onboarding()))
    assert "At risk · no squad · no initiatives · 1 finding" in words
    assert "a high-severity finding is open" in words
    assert "Nobody owns it" in words


def test_several_high_severity_findings_are_one_reason(client, carol, cycle, stage):
    for message in ("One", "Two"):
        finding(cycle, ["stage:lifecycle/onboarding"], severity="high", message=message)
    finding(cycle, ["stage:lifecycle/onboarding"], severity="high", state="acknowledged")
    client.force_login(carol)
    words = text_of(risk_of(client.get(MAP).content.decode(), onboarding()))
    assert "At risk: 2 high-severity findings are open." in words
    assert "3 findings" in words


def test_findings_set_aside_or_of_another_cycle_are_not_counted(client, carol, cycle, stage):
    finding(cycle, ["stage:lifecycle/onboarding"], severity="high", state="dismissed", message="x")
    finding(cycle, ["stage:lifecycle/onboarding"], severity="high", state="resolved", message="y")
    finding(factories.cycle("fy2028"), ["stage:lifecycle/onboarding"], severity="high")
    client.force_login(carol)
    words = text_of(risk_of(client.get(MAP).content.decode(), onboarding()))
    assert "finding" not in words
    assert "At risk" not in words


def test_only_the_latest_check_in_of_each_key_result_counts(client, carol, example, needing, alice):
    # Activation's latest is 3; Retention's latest is 8 after an earlier 1.
    key_result(needing, "retention", "Retention", 1, 8, author=alice)
    client.force_login(carol)
    words = text_of(risk_of(client.get(MAP).content.decode(), onboarding()))
    assert "lowest confidence 3/10" in words
    CheckIn.objects.create(
        key_result=KeyResult.objects.get(key="activation"),
        value=Decimal(15),
        confidence=9,
        author=alice,
    )
    words = text_of(risk_of(client.get(MAP).content.decode(), onboarding()))
    assert "lowest confidence 8/10" in words
    assert "Confidence 8 of 10 (Retention, First 90 Days)" in words


def test_a_dropped_initiative_or_one_of_another_cycle_is_not_aimed_at_the_stage(
    client, carol, example, wizard, dora
):
    wizard.status = "dropped"
    wizard.save()
    later = factories.squad("later", dri=dora, cycle=factories.cycle("fy2028"))
    factories.initiative(later, "elsewhere", stage=example)
    client.force_login(carol)
    words = text_of(risk_of(client.get(MAP).content.decode(), onboarding()))
    assert "no initiatives" in words
    assert "At risk" not in words


# Moments


@pytest.fixture
def day_one(example, wizard, cycle):
    """Day 1 of onboarding, tied to a milestone the wizard serves."""
    moment = Moment.objects.create(stage=example, when="Day 1", offset_days=1, tomorrow="Routed")
    segment = Segment.objects.create(key="mid-market", name="Mid-market")
    milestone = Milestone.objects.create(
        segment=segment, key="routed", name="Routed", expected_day=1, moment=moment
    )
    InitiativeMilestone.objects.create(initiative=wizard, milestone=milestone)
    Moment.objects.create(stage=example, when="Week 2", offset_days=14, tomorrow="Guided")
    return moment


def test_a_moment_shows_the_initiatives_serving_its_milestones_and_their_risk(
    client, carol, cycle, day_one
):
    finding(cycle, ["moment:lifecycle/onboarding/day-1"], severity="low", message="Two voices")
    client.force_login(carol)
    page = client.get(MAP).content.decode()
    assert 'id="moment-lifecycle-onboarding-day-1"' in page
    words = text_of(risk_of(page, "moment-lifecycle-onboarding-day-1-risk"))
    # The wizard's dependency is past due and a finding names it: at risk here too.
    assert (
        "At risk · 1 squad · 1 initiative · 1 blocking dependency open · 2 findings · "
        "lowest confidence 3/10" in words
    )
    assert "Two voices" in words and "Messaging is late" in words
    week_two = text_of(risk_of(page, "moment-lifecycle-onboarding-week-2-risk"))
    assert "At risk" not in week_two
    assert "1 squad · no initiatives · lowest confidence 3/10" in week_two


# Who may see what


def test_a_restricted_draft_plans_initiatives_are_not_shown_to_a_reader(
    client, carol, alice, leo, cycle, example
):
    cycle.restrict_drafts = True
    cycle.save()
    client.force_login(carol)
    page = client.get(MAP).content.decode()
    words = text_of(risk_of(page, onboarding()))
    assert "no initiatives" in words
    assert "In-app onboarding wizard" not in page
    assert "Feature messaging" not in page
    # The squad's members and leadership read the draft.
    for person in (alice, leo):
        client.force_login(person)
        assert "In-app onboarding wizard" in client.get(MAP).content.decode()


def test_an_approved_plan_is_read_by_everyone(client, carol, cycle, example, needing, alice):
    cycle.restrict_drafts = True
    cycle.save()
    Plan.objects.create(squad=needing, approved_at=timezone.now(), approved_by=alice)
    client.force_login(carol)
    assert "In-app onboarding wizard" in client.get(MAP).content.decode()


def test_a_finding_opened_after_the_map_was_drawn_shows_at_once(client, carol, cycle, stage):
    client.force_login(carol)
    assert "finding" not in text_of(risk_of(client.get(MAP).content.decode(), onboarding()))
    finding(cycle, ["stage:lifecycle/onboarding"], severity="high", message="Fresh")
    words = text_of(risk_of(client.get(MAP).content.decode(), onboarding()))
    assert "At risk" in words and "Fresh" in words


def test_user_text_in_the_risk_is_escaped(client, carol, cycle, example, wizard, dep):
    wizard.title = "<script>alert('t')</script>"
    wizard.save()
    dep.what = "<img src=x onerror=alert(1)>"
    dep.save()
    finding(cycle, ["stage:lifecycle/onboarding"], message="<b>bold</b>")
    client.force_login(carol)
    risk = risk_of(client.get(MAP).content.decode(), onboarding())
    assert "<script>alert" not in risk and "<img src=x" not in risk and "<b>bold" not in risk
    assert "&lt;script&gt;" in risk and "&lt;img src=x" in risk and "&lt;b&gt;bold" in risk


# A fixed number of queries, whatever the size


def _journey(key: str, size: int, cycle, dri) -> None:
    segment = Segment.objects.create(key=f"seg-{key}", name=f"Segment {key}")
    for s in range(size):
        stage = factories.stage(key, f"s{s}", name=f"Stage {s}", position=s)
        squad = factories.squad(f"{key}-squad-{s}", dri=dri, cycle=cycle)
        SquadStage.objects.create(squad=squad, stage=stage)
        key_result(squad, f"kr{s}", f"KR {s}", 5, author=dri)
        aimed = factories.initiative(squad, f"aimed-{s}", stage=stage)
        served = factories.initiative(squad, f"served-{s}")
        other = factories.initiative(squad, f"other-{s}")
        Dependency.objects.create(
            key=f"{key}-dep-{s}",
            from_initiative=aimed,
            to_squad=squad,
            what="Something",
            due=timezone.localdate() - dt.timedelta(days=1),
            blocking=True,
        )
        Dependency.objects.create(
            key=f"{key}-served-dep-{s}",
            from_initiative=served,
            to_initiative=other,
            what="Something else",
            due=timezone.localdate() - dt.timedelta(days=2),
            blocking=True,
        )
        for m in range(2):
            moment = Moment.objects.create(
                stage=stage, when=f"Week {m + 1}", offset_days=7, tomorrow="Better"
            )
            milestone = Milestone.objects.create(
                segment=segment, key=f"m{s}-{m}", name="M", expected_day=7, moment=moment
            )
            InitiativeMilestone.objects.create(initiative=served, milestone=milestone)
            finding(cycle, [f"moment:{moment.ref}"], message=f"{key} {s} {m}")
        finding(cycle, [f"dependency:{key}-dep-{s}"], severity="high", message=f"{key} dep {s}")


def test_the_map_with_risk_reads_in_the_same_number_of_queries_at_any_size(
    client, leo, cycle, alice, django_assert_max_num_queries
):
    _journey("small", 2, cycle, alice)
    _journey("big", 10, cycle, alice)
    client.force_login(leo)
    client.get(reverse("journeys:detail", args=["small"]))  # the session and cycle, read once
    counts = {}
    for key, size in (("small", 2), ("big", 10)):
        with django_assert_max_num_queries(14) as queries:
            page = client.get(reverse("journeys:detail", args=[key])).content.decode()
        counts[key] = len(queries)
        assert page.count("At risk</strong>") == size * 3  # each stage and both its moments
        words = text_of(risk_of(page, f"moment-{key}-s{size - 1}-week-1-risk"))
        assert "At risk · 1 squad · 1 initiative · 1 blocking dependency open · 1 finding" in words
    assert counts["small"] == counts["big"]


def test_without_a_cycle_the_map_shows_no_risk(client, carol, stage):
    client.force_login(carol)
    page = client.get(MAP).content.decode()
    assert "Onboarding" in page
    assert 'class="risk' not in page


def test_the_risk_reads_use_the_database_for_findings(cycle, stage):
    """The subjects are matched in PostgreSQL (jsonb ?|), not by reading every finding."""
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only")
    from core.access import Actor
    from journeys.models import Journey
    from planning.journey_map.selectors import risk_rows

    finding(cycle, ["stage:lifecycle/onboarding"])
    finding(cycle, ["stage:lifecycle/elsewhere"])
    stages = Journey.objects.for_map(cycle).get(key="lifecycle").stage_list
    actor = Actor(user=type("U", (), {"is_superuser": True, "pk": 0})())
    with CaptureQueriesContext(connection) as queries:
        rows = risk_rows(actor, cycle, stages)
    assert [f.subjects for f in rows.findings] == [["stage:lifecycle/onboarding"]]
    assert any("?|" in q["sql"] for q in queries.captured_queries)
