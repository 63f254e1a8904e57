"""`manage.py review` over the worked example, as scripts drive it."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from planning.models import Finding, ReviewRun

pytestmark = pytest.mark.django_db

EXAMPLE = Path(settings.BASE_DIR) / "planning" / "demo" / "first-90-days.json"


@pytest.fixture
def demo():
    call_command("import_plans", str(EXAMPLE), stdout=io.StringIO())


def review_json(*args: str) -> list[dict]:
    out = io.StringIO()
    call_command("review", "--json", *args, stdout=out, stderr=io.StringIO())
    return json.loads(out.getvalue())


def of_kind(findings: list[dict], kind: str) -> list[tuple[str, str, list[str]]]:
    return [(f["rule"], f["severity"], f["subjects"]) for f in findings if f["kind"] == kind]


# The demo's four dependencies judged on 10 Feb 2027, worked out by hand from the rules:
# - assessment-by-q1: wizard -> assessment tool, blocking, accepted, due 31 Mar. Not overdue,
#   accepted, the tool ends on 31 Mar (equal: not late); the wizard starts 1 Mar, before the
#   due date: needed_before_due (medium, the wizard has not started yet).
# - messaging-mid-q1: enrollment campaign -> Product-led Growth, blocking, requested, due
#   15 Feb. 5 days away, still requested: unaccepted (high, blocking). The campaign starts
#   on 15 Feb, the due date itself: not needed_before_due. A squad provides: no late_provider.
# - csm-hiring: guided onboarding -> People, blocking, requested, due 31 Mar. 49 days away:
#   not unaccepted. Guided onboarding started 4 Jan: needed_before_due (high, under way).
# - cs-feedback: PLG onboarding -> CS Onboarding Pillar, not blocking, requested, due 1 Feb.
#   Past due and never accepted: one overdue finding naming both (medium, it blocks nothing).
EXPECTED_BLOCKERS = [
    ("overdue", "medium", ["dependency:cs-feedback", "squad:cs-onboarding", "squad:product-led"]),
    (
        "unaccepted",
        "high",
        ["dependency:messaging-mid-q1", "squad:first-90-days", "squad:product-led"],
    ),
    ("needed_before_due", "medium", ["dependency:assessment-by-q1", "squad:first-90-days"]),
    ("needed_before_due", "high", ["dependency:csm-hiring", "squad:first-90-days"]),
    # Seat expansion (the expansion stage, mid-market) starts before any reading shows
    # mid-market customers reaching their success milestone, "80% of seats active".
    (
        "expansion_before_success",
        "high",
        ["initiative:first-90-days/seat-expansion", "segment:mid-market", "squad:first-90-days"],
    ),
]


def test_the_worked_example_gives_the_blockers_the_contract_predicts(demo):
    findings = review_json("--today", "2027-02-10")

    assert of_kind(findings, "blocker") == EXPECTED_BLOCKERS


def test_the_worked_example_has_ownership_gaps_and_one_resource_conflict(demo):
    findings = review_json("--today", "2027-02-10")

    # Product plans 2 + 2 + 3 = 7 people against 6; Customer Success 15 + 4 = 19 of 20,
    # Marketing 1.5 + 2 = 3.5 of 5 and Operations 0.5 of 2 fit. Nobody is in four squads.
    # At Week 2 of onboarding the squad's CSM call and Marketing Education's email both
    # reach mid-market customers.
    assert of_kind(findings, "resource_conflict") == [
        (
            "over_capacity",
            "medium",
            ["function:Product", "squad:first-90-days", "squad:product-led"],
        ),
        (
            "competing_touchpoints",
            "medium",
            [
                "moment:lifecycle/onboarding/week-2",
                "segment:mid-market",
                "squad:first-90-days",
                "squad:marketing-education",
            ],
        ),
    ]
    # The squads cover onboarding and adoption only; every key result has both ends. No
    # objective serves the goal of being recommended; Marketing Education's serves no goal;
    # nobody speaks to customers at Month 1 of adoption.
    assert of_kind(findings, "ownership_gap") == [
        *(
            ("unowned_stage", "medium", [f"stage:lifecycle/{stage}"])
            for stage in ("acquisition", "advocacy", "expansion", "renewal")
        ),
        ("goal_without_objective", "medium", ["goal:trusted-brand"]),
        ("objective_without_goal", "low", ["squad:marketing-education"]),
        (
            "moment_without_touchpoint",
            "low",
            [
                "moment:lifecycle/adoption/month-1",
                "squad:first-90-days",
                "squad:marketing-education",
                "squad:product-led",
                "stage:lifecycle/adoption",
            ],
        ),
    ]


def test_findings_are_the_contracts_objects_with_messages_people_can_act_on(demo):
    findings = review_json("--today", "2027-02-10")

    for finding in findings:
        assert set(finding) <= {"kind", "rule", "severity", "subjects", "message", "score"}
        assert {"kind", "rule", "severity", "subjects", "message"} <= set(finding)
        assert finding["subjects"] == sorted(finding["subjects"])
        assert ("score" in finding) == (finding["kind"] == "overlap")
    messaging = next(f for f in findings if "dependency:messaging-mid-q1" in f["subjects"])
    assert messaging["message"] == (
        "Targeted onboarding enrollment campaign (First 90 Days Experience Squad) needs "
        "feature messaging for the assessment and wizard from Product-led Growth by "
        "15 Feb 2027; it is still only requested, so Omar Haddad should accept it or say no."
    )
    over = next(f for f in findings if f["rule"] == "over_capacity")
    assert over["message"] == (
        "Product has 7 people planned on 3 initiatives in FY2027 but can staff 6; drop, "
        "shrink or move work worth 1 person."
    )


def test_the_review_stores_its_findings_and_a_second_run_changes_nothing(demo):
    first = review_json("--today", "2027-02-10")
    stored = {f.identity: (f.pk, f.first_seen, f.state) for f in Finding.objects.all()}

    second = review_json("--today", "2027-02-10")

    assert second == first
    assert len(stored) == len(first)
    assert {f.identity: (f.pk, f.first_seen, f.state) for f in Finding.objects.all()} == stored
    assert set(ReviewRun.objects.values_list("status", "trigger")) == {("done", "command")}
    assert ReviewRun.objects.order_by("id").last().findings_new == 0


def test_today_fixes_the_date_the_review_judges_against(demo):
    # On its due date, cs-feedback is not yet overdue (but still unaccepted).
    on_due_date = review_json("--today", "2027-02-01")
    rules = [(f["rule"], f["subjects"][0]) for f in on_due_date if f["kind"] == "blocker"]
    assert ("overdue", "dependency:cs-feedback") not in rules
    assert ("unaccepted", "dependency:cs-feedback") in rules

    later = review_json("--today", "2027-02-16")
    rules = [(f["rule"], f["subjects"][0]) for f in later if f["kind"] == "blocker"]
    assert ("overdue", "dependency:messaging-mid-q1") in rules
    assert ("unaccepted", "dependency:messaging-mid-q1") not in rules
    assert Finding.objects.filter(state="open").count() == len(later)

    # Back to January: the dependencies due in February are no longer close enough.
    january = review_json("--today", "2027-01-04")
    assert not [f for f in january if f["rule"] in ("overdue", "unaccepted")]
    assert Finding.objects.filter(state="resolved", rule="unaccepted").count() == 2
    assert Finding.objects.filter(state="resolved", rule="overdue").count() == 2


def test_without_json_it_prints_one_line_per_finding(demo):
    out = io.StringIO()
    call_command("review", "--today", "2027-02-10", "--cycle", "fy2027", stdout=out)
    text = out.getvalue()
    assert text.startswith("FY2027 (fy2027), judged on 10 Feb 2027:")
    assert "[high] blocker/unaccepted: Targeted onboarding enrollment campaign" in text


@pytest.mark.parametrize("bad", ["2027-02-30", "10/02/2027", "tomorrow"])
def test_a_bad_today_is_a_clear_error(demo, bad):
    with pytest.raises(CommandError, match="--today must be a date written YYYY-MM-DD") as exc:
        call_command("review", "--today", bad, stdout=io.StringIO())
    assert exc.value.returncode == 1
    assert not ReviewRun.objects.exists()


def test_an_unknown_cycle_is_a_clear_error(demo):
    with pytest.raises(CommandError, match='no planning cycle with key "fy1999"'):
        call_command("review", "--cycle", "fy1999", stdout=io.StringIO())
