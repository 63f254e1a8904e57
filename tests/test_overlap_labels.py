"""Learning from triage: people's answers to overlap findings become labelled pairs
(export_overlap_labels) that overlap_eval measures overlap detection against."""

from __future__ import annotations

import importlib
import json
from io import StringIO
from types import SimpleNamespace

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from squads.models import Initiative
from tests import factories as f
from tests.test_finding_actions import (  # noqa: F401 (fixtures)
    FINDINGS,
    alike,
    campaign,
    lead_body,
    marketing,
    mia,
    seen,
)
from tests.test_web_findings import finding as make_finding

pytestmark = pytest.mark.django_db

EVAL = importlib.import_module("planning.management.commands.overlap_eval")


def overlap_of(cycle, *initiatives):
    subjects = [f"initiative:{i.ref}" for i in initiatives]
    subjects += sorted({f"squad:{i.squad.key}" for i in initiatives})
    return make_finding(cycle, rule="similar_initiatives", kind="overlap", subjects=subjects)


@pytest.fixture
def judged(client, cycle, alike, needing, providing, marketing, olga):  # noqa: F811
    """Four overlap findings, answered four ways: one squad leads, not the same work,
    related and kept, and a plain dismissal."""
    wizard, assessment, folded = alike
    survey = f.initiative(needing, "survey", title="Customer survey")
    quiz = f.initiative(providing, "quiz", title="Product quiz")
    webinar = f.initiative(marketing, "webinar", title="Onboarding webinars")
    tour = f.initiative(providing, "tour", title="Product tour")
    checklist = f.initiative(needing, "checklist", title="Setup checklist")
    emails = f.initiative(marketing, "emails", title="Setup emails")
    client.force_login(olga)
    lead = overlap_of(cycle, wizard, assessment, folded)
    client.post(
        reverse("finding_lead", args=[lead.pk]),
        lead_body(assessment, fates={wizard: "depend", folded: "drop"}),
    )
    client.post(
        reverse("finding_not_same", args=[overlap_of(cycle, survey, quiz).pk]), seen(survey, quiz)
    )
    client.post(
        reverse("finding_related", args=[overlap_of(cycle, webinar, tour).pk]),
        {"reason": "Both teach, to different people", **seen(webinar, tour)},
    )
    client.post(
        reverse("finding_dismiss", args=[overlap_of(cycle, checklist, emails).pk]),
        {"reason": "Merging them next quarter", "next": FINDINGS},
    )
    return SimpleNamespace(**{i.key: i for i in Initiative.objects.all()})


def export(tmp_path, *args) -> tuple[dict, dict, str]:
    out = StringIO()
    call_command("export_overlap_labels", str(tmp_path / "labels.json"), *args, stdout=out)
    plans = json.loads((tmp_path / "labels.json").read_text(encoding="utf-8"))
    expected = json.loads((tmp_path / "labels.expected.json").read_text(encoding="utf-8"))
    return plans, expected, out.getvalue()


def test_triage_answers_become_labelled_pairs(tmp_path, judged):
    _, expected, said = export(tmp_path)
    assert expected == {
        "partial": True,
        "groups": [["first-90-days/wizard", "marketing/campaign", "product-led/assessment"]],
        "not_same": [["first-90-days/survey", "product-led/quiz"]],
        "related": [
            ["first-90-days/checklist", "marketing/emails"],
            ["marketing/webinar", "product-led/tour"],
        ],
    }
    assert "1 groups of the same work (3 pairs), 1 pairs not the same work, 2 related" in said


def test_the_planning_file_holds_the_initiatives_as_they_were_judged(tmp_path, judged, bob):
    Initiative.objects.filter(pk=judged.survey.pk).update(title="Renewal survey")
    plans, _, _ = export(tmp_path)
    initiatives = {f"{s['key']}/{i['key']}": i for s in plans["squads"] for i in s["initiatives"]}
    assert initiatives["first-90-days/survey"]["title"] == "Customer survey"
    # The lead's decision dropped the campaign; what was judged was the live work.
    assert Initiative.objects.get(pk=judged.campaign.pk).status == "dropped"
    assert initiatives["marketing/campaign"]["status"] == "planned"
    assert plans["format"] == "planning-file/1"


def test_nothing_judged_nothing_written(tmp_path, cycle):
    with pytest.raises(CommandError, match="Nobody has judged an overlap finding yet"):
        export(tmp_path)
    with pytest.raises(CommandError, match='no cycle with key "nope"'):
        export(tmp_path, "--cycle", "nope")
    assert not (tmp_path / "labels.json").exists()


def detecting(monkeypatch, *groups):
    """overlap_eval with a detection that finds exactly these groups (those present)."""

    def find_overlaps(initiatives, *, squad_names=None, threshold=None):
        present = {i.ref for i in initiatives}
        return [
            SimpleNamespace(refs=tuple(sorted(g)), score=0.8, message="alike")
            for g in groups
            if set(g) <= present
        ]

    monkeypatch.setattr(EVAL, "find_overlaps", find_overlaps)
    monkeypatch.setattr(EVAL, "semantic_available", lambda: False)


def evaluate(*args) -> str:
    out = StringIO()
    call_command("overlap_eval", *map(str, args), stdout=out)
    return out.getvalue()


def test_overlap_eval_reads_the_labels_and_counts_only_labelled_pairs(
    tmp_path, judged, monkeypatch
):
    export(tmp_path)
    detecting(
        monkeypatch,
        ("first-90-days/wizard", "product-led/assessment"),  # a hit; the campaign is missed
        ("first-90-days/survey", "product-led/quiz"),  # judged not the same work
        ("marketing/webinar", "product-led/tour"),  # related, kept by both
        ("first-90-days/checklist", "product-led/tour"),  # nobody labelled it
    )
    said = evaluate(tmp_path / "labels.json", tmp_path / "labels.expected.json")
    assert "expected 3, found 4; TP 1, FP 1, FN 2" in said
    assert "precision 0.500  recall 0.333" in said
    assert "pairs judged not the same work: 1, found together 1" in said
    assert "related pairs both squads keep: 2, found together 1" in said
    assert "found pairs nobody labelled (not counted): 1" in said


def test_a_complete_expected_file_still_counts_every_other_pair_as_wrong(
    tmp_path, judged, monkeypatch
):
    plans, _, _ = export(tmp_path)
    complete = tmp_path / "complete.json"
    complete.write_text(
        json.dumps(
            {
                "groups": [["first-90-days/wizard", "product-led/assessment"]],
                "not_same": [["first-90-days/survey", "product-led/quiz"]],
            }
        )
    )
    detecting(
        monkeypatch,
        ("first-90-days/wizard", "product-led/assessment"),
        ("first-90-days/survey", "product-led/quiz"),
        ("first-90-days/checklist", "product-led/tour"),
    )
    said = evaluate(tmp_path / "labels.json", complete)
    assert "TP 1, FP 2, FN 0" in said
    assert "pairs judged not the same work: 1, found together 1" in said
    assert "nobody labelled" not in said


def test_a_pair_cannot_be_both_the_same_and_not_the_same_work(tmp_path, judged, monkeypatch):
    export(tmp_path)
    wrong = tmp_path / "wrong.json"
    wrong.write_text(
        json.dumps(
            {
                "groups": [["first-90-days/survey", "product-led/quiz"]],
                "not_same": [["product-led/quiz", "first-90-days/survey"]],
            }
        )
    )
    detecting(monkeypatch)
    with pytest.raises(CommandError, match="both in a group and as not the same work"):
        evaluate(tmp_path / "labels.json", wrong)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"groups": [], "not_same": [["only-one"]]}))
    with pytest.raises(CommandError, match='"not_same" is a list of pairs'):
        evaluate(tmp_path / "labels.json", bad)


def test_groups_hold_no_pair_judged_apart(tmp_path, client, cycle, alike, olga, monkeypatch):  # noqa: F811
    """The wizard and the campaign are not the same work; later the assessment leads each
    of them, one finding at a time. The labels say so, and overlap_eval reads them."""
    wizard, assessment, education = alike
    client.force_login(olga)
    client.post(
        reverse("finding_not_same", args=[overlap_of(cycle, wizard, education).pk]),
        seen(wizard, education),
    )
    for other in (wizard, education):
        client.post(
            reverse("finding_lead", args=[overlap_of(cycle, assessment, other).pk]),
            lead_body(assessment, fates={other: "depend"}),
        )
    _, expected, said = export(tmp_path)
    assert expected["groups"] == [
        ["first-90-days/wizard", "product-led/assessment"],
        ["marketing/campaign", "product-led/assessment"],
    ]
    assert expected["not_same"] == [["first-90-days/wizard", "marketing/campaign"]]
    assert "2 groups of the same work (2 pairs), 1 pairs not the same work" in said
    detecting(monkeypatch, ("first-90-days/wizard", "product-led/assessment"))
    said = evaluate(tmp_path / "labels.json", tmp_path / "labels.expected.json")
    assert "expected 2, found 1; TP 1, FP 0, FN 1" in said
