"""Judged pairs of initiatives, as the review applies them to overlap groups (on plain
objects): a judged pair is not raised again until one of its texts changes materially."""

from __future__ import annotations

from itertools import combinations
from types import SimpleNamespace

from planning import overlap_verdicts as v
from planning import review as r
from planning.overlap_verdicts import VerdictFacts, text_of
from tests.test_review_rules import TODAY, initiative, snapshot, squad

SQUAD_OF = {"a/1": "a", "a/2": "a", "b/1": "b", "c/1": "c", "d/1": "d"}


def judged(*pairs: tuple[str, str]) -> set[frozenset[str]]:
    return {frozenset(p) for p in pairs}


def claims(parts, pair) -> bool:
    return any(set(pair) <= set(part) for part in parts)


# --- what "materially" means -------------------------------------------------------------


def test_case_accents_and_punctuation_are_not_a_change():
    assert (
        v.change(
            "Onboarding wizard\nGuide new customers.", "onboarding Wizard\nguide NEW customers"
        )
        == 0
    )
    assert v.change("Café launch", "cafe launch!") == 0


def test_a_rewording_in_a_long_text_is_not_material_but_a_new_subject_is():
    before = text_of(
        "Guided onboarding program",
        "Customer success managers walk each new customer through setup, the first "
        "milestone and a check-in at day thirty, with templates for every segment.",
    )
    typo = before.replace("templates", "templtes")
    assert not v.materially_changed(before, typo)
    other = text_of("Renewal playbook", "Account managers prepare the renewal call.")
    assert v.materially_changed(before, other)


def test_a_short_title_changes_materially_sooner():
    assert v.materially_changed(text_of("Assessment tool", ""), text_of("Assessment tool v2", ""))


def test_a_verdict_stands_while_both_texts_are_as_judged_and_lapses_when_one_changes():
    verdict = VerdictFacts("a/1", "b/1", "not_same", "Onboarding wizard\n", "Onboarding course\n")
    texts = {"a/1": "Onboarding wizard\n", "b/1": "onboarding course\n"}
    assert v.standing_pairs([verdict], texts) == judged(("a/1", "b/1"))
    texts["b/1"] = "Renewal reminders\nEmails before the contract ends"
    assert v.standing_pairs([verdict], texts) == set()
    # An initiative that is gone (dropped, deleted) leaves nothing to judge.
    assert v.standing_pairs([verdict], {"a/1": "Onboarding wizard\n"}) == set()


# --- splitting a group -------------------------------------------------------------------


def test_a_group_without_a_judged_pair_stays_whole():
    assert v.split_group(("a/1", "b/1", "c/1"), judged(("a/1", "d/1")), SQUAD_OF) == [
        ("a/1", "b/1", "c/1")
    ]


def test_a_pair_of_two_is_gone_once_judged():
    assert v.split_group(("a/1", "b/1"), judged(("a/1", "b/1")), SQUAD_OF) == []


def test_a_group_that_loses_a_pair_splits_so_no_part_claims_it():
    parts = v.split_group(("a/1", "b/1", "c/1"), judged(("a/1", "b/1")), SQUAD_OF)
    assert parts == [("a/1", "c/1"), ("b/1", "c/1")]
    assert not claims(parts, ("a/1", "b/1"))


def test_parts_within_one_squad_are_left_out():
    # a/1 and a/2 are one squad's: once both are judged apart from b/1 nothing remains.
    parts = v.split_group(("a/1", "a/2", "b/1"), judged(("a/1", "b/1"), ("a/2", "b/1")), SQUAD_OF)
    assert parts == []


def test_no_part_claims_any_judged_pair_of_a_larger_group():
    group = ("a/1", "a/2", "b/1", "c/1", "d/1")
    pairs = judged(("a/1", "b/1"), ("b/1", "c/1"), ("c/1", "d/1"), ("a/2", "d/1"))
    parts = v.split_group(group, pairs, SQUAD_OF)
    assert parts
    for pair in pairs:
        assert not claims(parts, tuple(pair))
    # Every pair of different squads that nobody judged is still claimed by some part.
    for pair in combinations(group, 2):
        if frozenset(pair) not in pairs and SQUAD_OF[pair[0]] != SQUAD_OF[pair[1]]:
            assert claims(parts, pair), pair


def test_the_parts_of_a_group_are_bounded():
    refs = [f"s{n}/x" for n in range(40)]
    squads = {ref: ref.split("/")[0] for ref in refs}
    # Twenty disjoint judged pairs: 2**20 maximal parts in principle.
    pairs = judged(*[(refs[2 * n], refs[2 * n + 1]) for n in range(20)])
    parts = v.split_group(refs, pairs, squads)
    assert 0 < len(parts) <= v.MAX_PARTS
    for pair in pairs:
        assert not claims(parts, tuple(pair))


# --- the overlap rule applies them -------------------------------------------------------


def _rule_with(monkeypatch, groups, initiatives, verdicts):
    monkeypatch.setattr(r, "_overlap_finder", lambda: lambda *a, **k: groups)
    squads = [squad("alpha"), squad("beta", dri="omar"), squad("gamma", dri="gus")]
    snap = snapshot(initiatives=initiatives, squads=squads)
    snap.squad_names = {s.key: s.name for s in squads}
    snap.overlap_verdicts = list(verdicts)
    return r.rule_similar_initiatives(snap, TODAY)


def test_the_review_does_not_raise_a_judged_pair_again(monkeypatch):
    group = SimpleNamespace(refs=("alpha/a", "beta/b"), score=0.9, message="Alike.")
    items = [initiative("alpha/a", title="Onboarding"), initiative("beta/b", title="Onboarding")]
    verdict = VerdictFacts("alpha/a", "beta/b", "not_same", "Onboarding\n", "Onboarding\n")
    assert len(_rule_with(monkeypatch, [group], items, [])) == 1
    assert _rule_with(monkeypatch, [group], items, [verdict]) == []


def test_the_review_raises_the_pair_again_once_a_text_changed_materially(monkeypatch):
    group = SimpleNamespace(refs=("alpha/a", "beta/b"), score=0.9, message="Alike.")
    items = [
        initiative("alpha/a", title="Onboarding", description="A course for admins"),
        initiative("beta/b", title="Onboarding", description="In-app tours for every new user"),
    ]
    verdict = VerdictFacts(
        "alpha/a", "beta/b", "related", "Onboarding\nA course for admins", "Onboarding\nWebinars"
    )
    [finding] = _rule_with(monkeypatch, [group], items, [verdict])
    assert finding.message == "Alike."


def test_a_split_group_becomes_findings_that_name_their_own_initiatives(monkeypatch):
    group = SimpleNamespace(
        refs=("alpha/a", "beta/b", "gamma/c"), score=0.8, message="All three alike."
    )
    items = [
        initiative("alpha/a", title="Assessment"),
        initiative("beta/b", title="Quiz"),
        initiative("gamma/c", title="Survey"),
    ]
    verdict = VerdictFacts("alpha/a", "beta/b", "not_same", "Assessment\n", "Quiz\n")
    findings = _rule_with(monkeypatch, [group], items, [verdict])
    assert [f.identifying_subjects for f in findings] == [
        ("initiative:alpha/a", "initiative:gamma/c"),
        ("initiative:beta/b", "initiative:gamma/c"),
    ]
    assert findings[0].message.startswith("Assessment (Alpha Squad) and Survey (Gamma Squad)")
    assert "Quiz" not in findings[0].message
    assert all(f.score == 0.8 for f in findings)
