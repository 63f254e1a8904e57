"""planning-file/2: the customer's outcomes in the planning file, and planning-file/1 as it was.

Every planning-file/1 document gives the database it gave before planning-file/2 existed:
tests/data/planning-file-1/ holds what the export read back (and the row counts, or the
problems reported) with the code of that day.
"""

from __future__ import annotations

import copy
import io
import json
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings
from django.core.management import call_command

from journeys.models import Milestone, MilestoneReading, Moment, Stage, Touchpoint
from squads.models import Goal, Initiative, ObjectiveGoal
from tests.test_planning_file import (
    EXAMPLE,
    database_state,
    empty_database,
    export,
    run_import,
    write,
)

pytestmark = pytest.mark.django_db

DATA = Path(settings.BASE_DIR) / "tests" / "data"
BEFORE = DATA / "planning-file-1"
V1_EXAMPLE = DATA / "first-90-days-v1.json"
V1_DOCUMENTS = {
    "first-90-days": Path(settings.BASE_DIR).parent / "shared" / "examples" / "first-90-days.json",
    "first-90-days-v1": V1_EXAMPLE,
    **{
        p.stem: p
        for p in sorted(DATA.glob("overlap-*.json"))
        if not p.name.endswith(".expected.json")
    },
}


@pytest.fixture
def example() -> dict:
    return json.loads(EXAMPLE.read_text())


@pytest.fixture
def v1_example() -> dict:
    return json.loads(V1_EXAMPLE.read_text())


def export_v1() -> tuple[dict, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("export_plans", "--format", "planning-file/1", stdout=out, stderr=err)
    return json.loads(out.getvalue()), err.getvalue()


def row_counts() -> dict[str, int]:
    """Rows per model, as tests/data/planning-file-1/*.counts.json recorded them."""
    return {
        m._meta.label: m._base_manager.count()
        for m in apps.get_models()
        if m._meta.app_label in {"core", "planning", "squads", "journeys", "dependencies", "auth"}
        and not m.__name__.startswith("Historical")
        and m.__name__ not in ("PageRevision", "Permission", "ContentType")
    }


# --- planning-file/1 as it was ---------------------------------------------------------


@pytest.mark.parametrize("name", sorted(V1_DOCUMENTS))
def test_a_planning_file_1_document_gives_the_database_it_gave_before(name):
    path = V1_DOCUMENTS[name]
    stem = "first-90-days" if name.startswith("first-90-days") else name
    code, _, err = run_import(path)
    refused = BEFORE / f"{stem}.problems.txt"
    if refused.exists():
        # Refused before, refused now, with the same problems (its stages are left blank).
        assert code == 1
        assert err.splitlines()[1:] == refused.read_text().splitlines()[1:]
        return
    assert (code, err) == (0, "")
    exported, said = export_v1()
    assert exported == json.loads((BEFORE / f"{stem}.export.json").read_text())
    assert said == ""  # nothing of planning-file/2 to leave out
    counts = json.loads((BEFORE / f"{stem}.counts.json").read_text())
    assert {label: row_counts()[label] for label in counts} == counts


def test_the_worked_example_as_it_was_is_the_shared_example():
    shared = V1_DOCUMENTS["first-90-days"]
    assert json.loads(V1_EXAMPLE.read_text()) == json.loads(shared.read_text())


def test_a_planning_file_1_round_trip_stays_exact(tmp_path):
    run_import(V1_EXAMPLE)
    first, _ = export_v1()
    empty_database()
    code, _, err = run_import(write(tmp_path, first, "v1.json"))
    assert (code, err) == (0, "")
    assert export_v1()[0] == first
    assert first["format"] == "planning-file/1"


V2_KEYS_IN_V1 = [
    (lambda d: d.update(goals=[]), "goals"),
    (lambda d: d.update(milestone_readings=[]), "milestone_readings"),
    (
        lambda d: d["segments"][0].update(success={"metric": "x"}),
        "segments[0].success",
    ),
    (
        lambda d: d["segments"][1].update(milestone_feed_url="https://example.com/m.csv"),
        "segments[1].milestone_feed_url",
    ),
    (lambda d: d["segments"][0].update(milestones=[]), "segments[0].milestones"),
    (
        lambda d: d["journeys"][0]["stages"][1].update(value_today="none"),
        "journeys[0].stages[1].value_today",
    ),
    (
        lambda d: d["journeys"][0]["stages"][1].update(value_target="first_value"),
        "journeys[0].stages[1].value_target",
    ),
    (
        lambda d: d["journeys"][0]["stages"][3].update(expansion=True),
        "journeys[0].stages[3].expansion",
    ),
    (
        lambda d: d["journeys"][0]["stages"][1]["moments"][0].update(key="day-1"),
        "journeys[0].stages[1].moments[0].key",
    ),
    (
        lambda d: d["journeys"][0]["stages"][1]["moments"][1].update(value_today="none"),
        "journeys[0].stages[1].moments[1].value_today",
    ),
    (
        lambda d: d["journeys"][0]["stages"][1]["moments"][1].update(touchpoints=[]),
        "journeys[0].stages[1].moments[1].touchpoints",
    ),
    (lambda d: d["squads"][0]["okr"].update(goals=[]), "squads[0].okr.goals"),
    (
        lambda d: d["squads"][0]["initiatives"][0].update(milestones=[]),
        "squads[0].initiatives[0].milestones",
    ),
]


@pytest.mark.parametrize(("change", "path"), V2_KEYS_IN_V1)
def test_a_planning_file_2_key_in_a_planning_file_1_document_is_refused(
    tmp_path, v1_example, change, path
):
    change(v1_example)
    code, out, err = run_import(write(tmp_path, v1_example))
    assert (code, out) == (1, "")
    assert (
        f'{path}: needs "planning-file/2"; this file says "planning-file/1" '
        '(write "format": "planning-file/2" to use it)'
    ) in err.splitlines()[1].strip()
    assert database_state().count('"pk"') == 0


# --- planning-file/2 ---------------------------------------------------------------------


def test_the_worked_example_is_planning_file_2_and_carries_the_outcomes(example):
    assert example["format"] == "planning-file/2"
    code, _, err = run_import(EXAMPLE)
    assert (code, err) == (0, "")
    assert list(Goal.objects.values_list("key", flat=True)) == [
        "customer-success",
        "mid-market-leader",
        "trusted-brand",
    ]
    onboarding = Stage.objects.get(key="onboarding")
    assert (onboarding.value_today, onboarding.value_target) == (0, 2)
    assert Stage.objects.get(key="expansion").expansion
    week_2 = Moment.objects.get(stage=onboarding, key="week-2")
    assert {t.function for t in week_2.touchpoints.all()} == {"Customer Success", "Marketing"}
    success = Milestone.objects.get(segment__key="mid-market", success=True)
    assert (success.key, success.moment.ref) == ("seats-active", "lifecycle/adoption/month-2")
    behind = MilestoneReading.objects.get(milestone__key="team-invited")
    assert behind.actual_days > behind.milestone.expected_day
    assert not ObjectiveGoal.objects.filter(okr__squad__key="marketing-education").exists()
    assert not Goal.objects.get(key="trusted-brand").objectives.exists()


def test_the_export_gives_back_the_worked_example(example):
    run_import(EXAMPLE)
    for squad in example["squads"]:
        for kr in squad["okr"]["key_results"]:
            kr.setdefault("direction", "increase")
    assert export() == example


def test_a_planning_file_2_round_trip_stays_exact(tmp_path):
    run_import(EXAMPLE)
    first = export()
    empty_database()
    code, _, err = run_import(write(tmp_path, first, "v2.json"))
    assert (code, err) == (0, "")
    assert export() == first


def test_importing_a_planning_file_2_twice_changes_nothing():
    run_import(EXAMPLE)
    before = database_state()
    code, out, _ = run_import(EXAMPLE)
    assert code == 0
    assert out.startswith("Nothing to change")
    assert "created 0; updated 0; removed 0" in out
    assert database_state() == before


def test_exporting_planning_file_1_leaves_the_outcomes_out_and_says_so(tmp_path):
    run_import(EXAMPLE)
    document, said = export_v1()
    text = json.dumps(document)
    for key in ("goals", "milestones", "touchpoints", "value_today", "success"):
        assert f'"{key}"' not in text
    assert '"expansion": true' not in text
    assert '"key": "day-1"' not in text
    assert said.startswith("planning-file/1 leaves out 3 goals, 2 segments' success outcomes")
    assert "5 touchpoints" in said
    # What it does carry reads back as a planning-file/1 document.
    empty_database()
    code, _, err = run_import(write(tmp_path, document, "v1.json"))
    assert (code, err) == (0, "")


def test_a_moment_without_a_key_gets_the_one_the_app_would_make(tmp_path, example):
    moments = example["journeys"][0]["stages"][1]["moments"]
    for m in moments:
        del m["key"]
    # Milestones refer to the keys made from "when".
    code, _, err = run_import(write(tmp_path, example))
    assert (code, err) == (0, "")
    stage = Stage.objects.get(key="onboarding")
    assert list(stage.moments.order_by("position").values_list("key", flat=True)) == [
        "day-1",
        "week-2",
        "month-3",
    ]


def test_a_moment_key_written_beside_derived_ones_is_not_taken_twice(tmp_path, example):
    moments = example["journeys"][0]["stages"][1]["moments"]
    moments[0]["key"] = "week-2"  # Day 1 takes the key Week 2 would have had
    del moments[1]["key"]
    for milestone in example["segments"][0]["milestones"]:
        milestone.pop("moment", None)
    code, _, err = run_import(write(tmp_path, example))
    assert (code, err) == (0, "")
    keys = Moment.objects.filter(stage__key="onboarding").order_by("position")
    assert list(keys.values_list("key", flat=True)) == ["week-2", "week-2-2", "month-3"]


def _stage_changes(d: dict) -> None:
    d["journeys"][0]["stages"][0]["value_today"] = 5


PROBLEMS = [
    (
        lambda d: d["goals"][0].update(owner="nobody"),
        'goals[0].owner: no person with username "nobody"',
    ),
    (
        lambda d: d["goals"][1].update(ends_year=2026),
        "goals[1].ends_year: 2026 is before starts_year 2027",
    ),
    (
        lambda d: d["goals"][2].update(ends_year=2040),
        "goals[2].ends_year: a goal spans at most 10 years, not 14",
    ),
    (
        lambda d: d["goals"][0].update(starts_year=1999),
        "goals[0].starts_year: must be from 2000 to 2100, not 1999",
    ),
    (
        lambda d: d["goals"][0]["segments"].append("smb"),
        'goals[0].segments[2]: no segment with key "smb"',
    ),
    (
        lambda d: d["goals"][1].update(key=d["goals"][0]["key"]),
        'goals[1].key: goal key "customer-success" is already used at goals[0]',
    ),
    (
        lambda d: d["squads"][0]["okr"]["goals"].append("growth"),
        'squads[0].okr.goals[2]: no goal "growth"',
    ),
    (
        lambda d: d["segments"][0]["success"].update(threshold=-1),
        "segments[0].success.threshold: must be 0 or more, not -1",
    ),
    (
        lambda d: d["segments"][0]["success"].pop("within_days"),
        "segments[0].success.within_days: is required",
    ),
    (
        lambda d: d["segments"][0]["success"].update(within_days=3651),
        "segments[0].success.within_days: must be from 1 to 3650, not 3651",
    ),
    (
        lambda d: d["journeys"][0].update(segments=["enterprise"]),
        'segments[0].milestones[0].moment: moment "lifecycle/onboarding/day-1" is in journey '
        '"lifecycle", which is not for segment "mid-market"',
    ),
    (
        lambda d: d["segments"][0]["success"].update(owner="ghost"),
        'segments[0].success.owner: no person with username "ghost"',
    ),
    (
        lambda d: d["segments"][1].update(milestone_feed_url="ftp://example.com/m.csv"),
        'segments[1].milestone_feed_url: "ftp://example.com/m.csv" is not an http or https address',
    ),
    (
        lambda d: d["segments"][0]["milestones"][1].update(moment="lifecycle/onboarding/week-3"),
        'segments[0].milestones[1].moment: no moment "week-3" in stage "lifecycle/onboarding"',
    ),
    (
        lambda d: d["segments"][0]["milestones"][1].update(moment="lifecycle/nowhere/week-2"),
        'segments[0].milestones[1].moment: no journey stage "lifecycle/nowhere"',
    ),
    (
        lambda d: d["segments"][0]["milestones"][1].update(moment="week-2"),
        'segments[0].milestones[1].moment: must be a moment written "journey/stage/moment", '
        'not "week-2"',
    ),
    (
        lambda d: d["segments"][0]["milestones"][4].update(success=True),
        'segments[0].milestones[4].success: segment "mid-market" already has its success '
        "milestone at segments[0].milestones[3]; a segment has one",
    ),
    (
        lambda d: d["segments"][0]["milestones"][2].update(key="first-milestone"),
        'segments[0].milestones[2].key: milestone key "first-milestone" is already used at '
        "segments[0].milestones[1]",
    ),
    (
        lambda d: d["segments"][0]["milestones"][0].update(expected_day=-1),
        "segments[0].milestones[0].expected_day: must be from 0 to 3650, not -1",
    ),
    (
        _stage_changes,
        "journeys[0].stages[0].value_today: must be one of none, promised, first_value, "
        "repeat_value, expanding, not 5",
    ),
    (
        lambda d: d["journeys"][0]["stages"][3].update(expansion="yes"),
        'journeys[0].stages[3].expansion: must be true or false, not "yes"',
    ),
    (
        lambda d: d["journeys"][0]["stages"][1]["moments"][1].update(key="day-1"),
        'journeys[0].stages[1].moments[1].key: moment key "day-1" is already used at '
        "journeys[0].stages[1].moments[0]",
    ),
    (
        lambda d: d["journeys"][0]["stages"][1]["moments"][0]["touchpoints"][0].update(
            channel="fax"
        ),
        "journeys[0].stages[1].moments[0].touchpoints[0].channel: must be one of email, "
        'in_app, call, meeting, chat, webinar, sms, letter, other, not "fax"',
    ),
    (
        lambda d: d["journeys"][0]["stages"][1]["moments"][0].update(
            touchpoints=[{"channel": "email", "function": f"Team {n}"} for n in range(21)]
        ),
        "journeys[0].stages[1].moments[0].touchpoints: at most 20 touchpoints in a moment, not 21",
    ),
    (
        lambda d: d["journeys"][0]["stages"][1]["moments"][0]["touchpoints"][0].update(
            squad="ghost"
        ),
        'journeys[0].stages[1].moments[0].touchpoints[0].squad: no squad with key "ghost"',
    ),
    (
        lambda d: d["journeys"][0]["stages"][1]["moments"][2]["touchpoints"][0].pop("function"),
        "journeys[0].stages[1].moments[2].touchpoints[0].function: is required when there is "
        "no squad",
    ),
    (
        lambda d: d["journeys"][0]["stages"][1]["moments"][2]["touchpoints"][0].update(
            segment="smb"
        ),
        'journeys[0].stages[1].moments[2].touchpoints[0].segment: no segment with key "smb"',
    ),
    (
        lambda d: d["squads"][0]["initiatives"][0]["milestones"].append("mid-market/nope"),
        'squads[0].initiatives[0].milestones[1]: no milestone "mid-market/nope"',
    ),
    (
        lambda d: d["milestone_readings"][0].update(milestone="mid-market/nope"),
        'milestone_readings[0].milestone: no milestone "mid-market/nope"',
    ),
    (
        lambda d: d["milestone_readings"][0].update(completion_rate=120),
        "milestone_readings[0].completion_rate: must be from 0 to 100, not 120",
    ),
    (
        lambda d: [d["milestone_readings"][0].pop(k) for k in ("completion_rate", "actual_days")],
        "milestone_readings[0].completion_rate: give completion_rate or actual_days",
    ),
    (
        lambda d: d["milestone_readings"][2].update(measured_on="2026-10-31"),
        'milestone_readings[2].measured_on: milestone "mid-market/first-milestone" already has '
        "a reading on 2026-10-31 at milestone_readings[1]",
    ),
    (
        lambda d: d["milestone_readings"][0].update(measured_on="2099-01-01"),
        "milestone_readings[0].measured_on: 2099-01-01 is in the future: a reading records "
        "what was measured, up to today",
    ),
    (
        lambda d: d["milestone_readings"][0].update(note="n" * 2001),
        "milestone_readings[0].note: is 2,001 characters long; the limit is 2,000",
    ),
    (
        lambda d: d["milestone_readings"][0].update(source="guess"),
        'milestone_readings[0].source: must be one of check_in, api, csv, feed, not "guess"',
    ),
]


@pytest.mark.parametrize(("change", "message"), PROBLEMS)
def test_each_planning_file_2_problem_names_its_path(tmp_path, example, change, message):
    change(example)
    code, out, err = run_import(write(tmp_path, example))
    assert (code, out) == (1, "")
    assert any(message in line for line in err.splitlines()), err
    assert database_state().count('"pk"') == 0


def test_a_bad_planning_file_2_changes_nothing_already_stored(tmp_path, example):
    run_import(EXAMPLE)
    before = database_state()
    example["goals"][0]["name"] = "Renamed"
    example["journeys"][0]["stages"][1]["moments"][1]["touchpoints"] = []
    example["segments"][0]["milestones"][0]["moment"] = "lifecycle/onboarding/day-9"
    code, _, err = run_import(write(tmp_path, example))
    assert code == 1
    assert 'no moment "day-9" in stage "lifecycle/onboarding"' in err
    assert database_state() == before


def test_a_touchpoint_names_a_squad_of_the_files_cycle(tmp_path, example):
    run_import(EXAMPLE)
    other = {
        "format": "planning-file/2",
        "cycles": [{"key": "q3", "name": "Q3", "starts": "2028-07-01", "ends": "2028-09-30"}],
        "people": [{"username": "zoe", "name": "Zoe Park"}],
        "squads": [
            {
                "key": "renewals",
                "name": "Renewals",
                "cycle": "q3",
                "dri": "zoe",
                "members": [{"person": "zoe", "function": "Sales"}],
            }
        ],
    }
    assert run_import(write(tmp_path, other, "q3.json"))[0] == 0
    point = example["journeys"][0]["stages"][1]["moments"][0]["touchpoints"][0]
    point["squad"] = "renewals"
    code, _, err = run_import(write(tmp_path, example))
    assert code == 1
    assert (
        'journeys[0].stages[1].moments[0].touchpoints[0].squad: squad "renewals" is of cycle '
        '"q3"; a touchpoint names a squad of the cycle of this file\'s squads ("fy2027")'
    ) in err


# --- re-importing keeps what hangs on moments --------------------------------------------


def _hanging_on_moments() -> dict[str, tuple[int, list[str], list[str]]]:
    """Each moment's id, its touchpoints and the milestones tied to it."""
    return {
        m.ref: (
            m.pk,
            [f"{t.channel}:{t.function}" for t in m.touchpoints.order_by("position")],
            sorted(m.milestones.values_list("key", flat=True)),
        )
        for m in Moment.objects.select_related("stage__journey")
    }


def test_a_planning_file_2_reimport_matches_moments_by_key(tmp_path, example):
    run_import(EXAMPLE)
    before = _hanging_on_moments()
    onboarding = example["journeys"][0]["stages"][1]
    onboarding["moments"][1]["tomorrow"] = "They complete a first milestone with a CSM beside them"
    onboarding["moments"].reverse()  # order is position, not identity
    code, out, _ = run_import(write(tmp_path, example))
    assert code == 0
    assert "updated" in out
    assert _hanging_on_moments() == before
    week_2 = Moment.objects.get(stage__key="onboarding", key="week-2")
    assert week_2.tomorrow.endswith("a CSM beside them")


def test_a_planning_file_2_reimport_deletes_a_moment_it_leaves_out_with_its_touchpoints(
    tmp_path, example
):
    run_import(EXAMPLE)
    onboarding = example["journeys"][0]["stages"][1]
    onboarding["moments"] = [m for m in onboarding["moments"] if m["key"] != "month-3"]
    example["segments"][0]["milestones"][4].pop("moment")
    code, _, err = run_import(write(tmp_path, example))
    assert (code, err) == (0, "")
    assert not Moment.objects.filter(key="month-3").exists()
    assert Touchpoint.objects.count() == 4
    assert Milestone.objects.get(key="value-reviewed").moment is None


def test_a_planning_file_1_reimport_keeps_moments_it_repeats_with_what_hangs_on_them(
    tmp_path, v1_example
):
    run_import(EXAMPLE)
    before = _hanging_on_moments()
    goals = list(Goal.objects.values_list("key", "version"))
    links = ObjectiveGoal.objects.count(), Initiative.milestones.through.objects.count()
    stages = {s.key: (s.value_today, s.value_target, s.expansion) for s in Stage.objects.all()}

    # The worked example as it was: its onboarding moments are the same words; its adoption
    # stage has no moments.
    code, _, err = run_import(V1_EXAMPLE)
    assert (code, err) == (0, "")

    after = _hanging_on_moments()
    onboarding = [ref for ref in before if ref.startswith("lifecycle/onboarding/")]
    assert {ref: after[ref] for ref in onboarding} == {ref: before[ref] for ref in onboarding}
    # What the planning-file/1 file says: the adoption stage has no moments, so the milestones
    # tied to them are untied (kept), and their touchpoints go.
    assert not Moment.objects.filter(stage__key="adoption").exists()
    assert Milestone.objects.get(key="seats-active").moment is None
    assert Milestone.objects.count() == 5
    # Nothing else of planning-file/2 is touched.
    assert list(Goal.objects.values_list("key", "version")) == goals
    assert (ObjectiveGoal.objects.count(), Initiative.milestones.through.objects.count()) == links
    assert {
        s.key: (s.value_today, s.value_target, s.expansion) for s in Stage.objects.all()
    } == stages
    assert MilestoneReading.objects.count() == 4


def test_a_planning_file_1_reimport_replaces_only_the_moment_whose_words_changed(
    tmp_path, v1_example
):
    run_import(EXAMPLE)
    before = _hanging_on_moments()
    changed = copy.deepcopy(v1_example)
    onboarding = changed["journeys"][0]["stages"][1]
    onboarding["moments"][1]["tomorrow"] = "A CSM calls in week 2"
    changed["journeys"][0]["stages"][2]["moments"] = [
        {"when": m["when"], "today": m["today"], "tomorrow": m["tomorrow"]}
        for m in json.loads(EXAMPLE.read_text())["journeys"][0]["stages"][2]["moments"]
    ]
    code, out, err = run_import(write(tmp_path, changed))
    assert (code, err) == (0, "")
    assert "removed 1 (1 moments)" in out
    after = _hanging_on_moments()
    for ref in (
        "lifecycle/onboarding/day-1",
        "lifecycle/onboarding/month-3",
        "lifecycle/adoption/month-1",
        "lifecycle/adoption/month-2",
    ):
        assert after[ref] == before[ref], ref
    week_2 = after["lifecycle/onboarding/week-2"]
    assert week_2[0] != before["lifecycle/onboarding/week-2"][0]  # a new moment
    assert week_2[1:] == ([], [])  # its touchpoints went; the milestone was untied
    assert Milestone.objects.get(key="first-milestone").moment is None


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_a_moment_named_by_what_happens_imports_in_its_place_and_round_trips(
    tmp_path, example, v1_example, version
):
    document = example if version == "v2" else v1_example
    stage = document["journeys"][0]["stages"][1]
    stage["moments"].insert(1, {"when": "First login", "tomorrow": "A guided tour"})
    code, _, err = run_import(write(tmp_path, document, "with-event.json"))
    assert (code, err) == (0, "")
    moments = list(
        Moment.objects.filter(stage__key=stage["key"]).order_by("offset_days", "position", "id")
    )
    whens = [m.when for m in moments]
    assert whens.index("First login") == 1, whens  # after the moment written before it
    out = io.StringIO()
    call_command("export_plans", stdout=out)
    exported = json.loads(out.getvalue())["journeys"][0]["stages"][1]["moments"]
    assert [m["when"] for m in exported][:2] == [stage["moments"][0]["when"], "First login"]
    code, _, err = run_import(write(tmp_path, json.loads(out.getvalue()), "again.json"))
    assert (code, err) == (0, "")
