"""Acting on a finding where it is: each action through HTTP, what the person sees, what
changed in the plan and on the finding's timeline, and who may not (nothing changes then)."""

from __future__ import annotations

import datetime as dt
import re
import threading
from types import SimpleNamespace

import pytest
from django.urls import reverse
from django.utils import timezone

from dependencies.models import Dependency
from planning import review as review_module
from planning import services
from planning.models import Finding, FindingEvent, OverlapVerdict
from squads import services as squad_services
from squads.models import Initiative, SquadStage
from tests import factories as f
from tests.test_web_findings import finding as make_finding

pytestmark = pytest.mark.django_db

HX = {"HX-Request": "true"}
FINDINGS = reverse("findings")


# --- a small world: three squads whose onboarding work overlaps -----------------------------


@pytest.fixture
def mia(db):
    """The DRI of a third squad."""
    return f.person("mia", "Mia Moreau", function="Marketing")


@pytest.fixture
def marketing(cycle, mia):
    return f.squad("marketing", dri=mia, cycle=cycle, name="Marketing Education")


@pytest.fixture
def campaign(marketing):
    return f.initiative(
        marketing,
        "campaign",
        title="Onboarding education campaign",
        description="Teach new customers the product.",
        function="Marketing",
    )


@pytest.fixture
def alike(wizard, assessment, campaign):
    """The three initiatives the review finds alike."""
    Initiative.objects.filter(pk=assessment.pk).update(
        title="Onboarding assessment", description="Route new customers to the right path."
    )
    assessment.refresh_from_db()
    return [wizard, assessment, campaign]


def alike_groups(monkeypatch):
    """Overlap detection that finds every live initiative of two squads or more alike: the
    judging under test is the review's, whatever the detection says."""

    def find_overlaps(initiatives, *, squad_names=None, threshold=None):
        live = sorted(i.ref for i in initiatives if i.status != "dropped")
        if len({ref.split("/")[0] for ref in live}) < 2:
            return []
        return [SimpleNamespace(refs=tuple(live), score=0.9, message="These look alike.")]

    monkeypatch.setattr(review_module, "_overlap_finder", lambda: find_overlaps)


def run_review(cycle) -> list[Finding]:
    """Run the review; the overlap findings that need attention afterwards."""
    services.review_run(cycle=cycle, today=dt.date(2027, 2, 1), trigger="command")
    return list(
        Finding.objects.filter(
            cycle=cycle, rule="similar_initiatives", state__in=["open", "acknowledged"]
        ).order_by("id")
    )


@pytest.fixture
def overlap(cycle, alike, monkeypatch):
    alike_groups(monkeypatch)
    [found] = run_review(cycle)
    return found


def refs(finding: Finding) -> set[str]:
    return {s for s in finding.subjects if s.startswith("initiative:")}


def lead_body(lead, *, fates: dict, due: str = "", versions: dict | None = None) -> dict:
    body = {"lead": str(lead.pk), "due": due, "next": FINDINGS}
    for initiative, fate in fates.items():
        body[f"fate_{initiative.pk}"] = fate
    for initiative in [lead, *fates]:
        body[f"version_{initiative.pk}"] = str((versions or {}).get(initiative, 1))
    return body


def seen(*initiatives) -> dict:
    """The versions of these initiatives as the finding showed them, as its forms post them."""
    return {f"version_{i.pk}": str(i.version) for i in initiatives}


def lead_url(finding) -> str:
    return reverse("finding_lead", args=[finding.pk])


def text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


def visible(html: str) -> str:
    """The words a person reads, without the markup."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", html))


# --- one squad leads --------------------------------------------------------------------------


def test_one_squad_leads_in_one_step(client, cycle, overlap, alike, olga, monkeypatch):
    wizard, assessment, campaign = alike
    client.force_login(olga)
    response = client.post(
        lead_url(overlap),
        lead_body(assessment, fates={wizard: "depend", campaign: "drop"}),
        headers=HX,
    )
    assert response.status_code == 200
    page = text(response)
    assert "Onboarding assessment (Product-led Growth) leads." in page
    assert "Dropped: Onboarding education campaign (Marketing Education)." in page

    # The wizard now depends on the lead's initiative, due when that one ends.
    [dep] = Dependency.objects.filter(from_initiative=wizard)
    assert dep.to_initiative == assessment
    assert dep.due == assessment.ends
    assert "Onboarding assessment" in dep.what and "Product-led Growth" in dep.what
    assert dep.history.first().history_user == olga
    # The campaign is dropped: its version moved and its history says who and why.
    campaign.refresh_from_db()
    assert campaign.status == "dropped" and campaign.version == 2
    entry = campaign.history.order_by("-history_id").first()
    assert entry.history_user == olga and "leads this work" in entry.history_change_reason
    # The finding is resolved by Olga, and its timeline says what was done.
    overlap.refresh_from_db()
    assert overlap.state == "resolved" and overlap.state_changed_by == olga
    event = FindingEvent.objects.get(finding=overlap, action="lead")
    assert event.by == olga and "Onboarding assessment (Product-led Growth) leads" in event.summary
    # The next review does not raise the same work again.
    assert run_review(cycle) == []
    overlap.refresh_from_db()
    assert overlap.state == "resolved"


def test_the_others_may_be_due_on_a_date_the_person_gives(client, overlap, alike, olga):
    wizard, assessment, campaign = alike
    client.force_login(olga)
    client.post(
        lead_url(overlap),
        lead_body(wizard, fates={assessment: "depend", campaign: "depend"}, due="2027-02-15"),
    )
    deps = Dependency.objects.filter(to_initiative=wizard)
    assert {d.from_initiative for d in deps} == {assessment, campaign}
    assert {d.due for d in deps} == {dt.date(2027, 2, 15)}
    assert Initiative.objects.filter(status="dropped").count() == 0


def test_work_already_building_on_the_lead_keeps_its_date_and_the_finding_says_so(
    client, overlap, alike, olga, bob
):
    wizard, assessment, campaign = alike
    Dependency.objects.create(
        key="assessment-early",
        from_initiative=wizard,
        to_initiative=assessment,
        what="The assessment, early",
        due=dt.date(2027, 2, 15),
    )
    client.force_login(olga)
    response = client.post(
        lead_url(overlap),
        lead_body(assessment, fates={wizard: "depend", campaign: "depend"}),
        headers=HX,
    )
    said = visible(response.content.decode())
    assert (
        "Building on it, due 31 Mar 2027: Onboarding education campaign (Marketing Education). "
        "Already building on it: In-app onboarding wizard (First 90 Days), due 15 Feb 2027."
    ) in said
    [kept] = Dependency.objects.filter(from_initiative=wizard, to_initiative=assessment)
    assert kept.due == dt.date(2027, 2, 15)
    board = visible(client.get(reverse("board:board")).content.decode())
    assert board.count("The assessment, early") == 1


def test_a_plain_post_redirects_and_says_what_was_done(client, overlap, alike, olga):
    wizard, assessment, campaign = alike
    client.force_login(olga)
    response = client.post(
        lead_url(overlap), lead_body(wizard, fates={assessment: "drop", campaign: "drop"})
    )
    assert response.status_code == 302
    assert response["Location"] == f"{FINDINGS}#finding-{overlap.pk}"
    page = text(client.get(response["Location"]))
    assert "In-app onboarding wizard (First 90 Days) leads." in page


def test_the_lead_form_opens_in_the_card_or_on_the_finding_page(client, overlap, alike, olga):
    client.force_login(olga)
    partial = client.get(lead_url(overlap), headers=HX)
    assert partial.status_code == 200 and "<html" not in partial.content.decode()
    for initiative in alike:
        assert f'name="fate_{initiative.pk}"' in partial.content.decode()
    page = client.get(lead_url(overlap))
    assert "<html" in page.content.decode() and "One squad leads" in text(page)


def test_choosing_no_lead_changes_nothing(client, overlap, alike, olga):
    wizard, assessment, campaign = alike
    client.force_login(olga)
    body = lead_body(wizard, fates={assessment: "drop", campaign: "drop"})
    body["lead"] = ""
    response = client.post(lead_url(overlap), body, headers=HX)
    assert "Choose the initiative that leads this work." in text(response)
    assert Initiative.objects.filter(status="dropped").count() == 0
    overlap.refresh_from_db()
    assert overlap.state == "open"


def test_an_initiative_changed_meanwhile_stops_everything(client, overlap, alike, olga, bob):
    wizard, assessment, campaign = alike
    squad_services.initiative_drop(initiative=campaign, by=bob, version=1)
    Initiative.objects.filter(pk=campaign.pk).update(status="planned")  # back, a version on
    client.force_login(olga)
    response = client.post(
        lead_url(overlap),
        lead_body(assessment, fates={wizard: "drop", campaign: "depend"}),
        headers=HX,
    )
    assert "Bob Baker changed “Onboarding education campaign” after you opened" in text(response)
    assert Dependency.objects.count() == 0
    wizard.refresh_from_db()
    assert wizard.status == "planned" and wizard.version == 1
    overlap.refresh_from_db()
    assert overlap.state == "open"
    assert not OverlapVerdict.objects.exists()


def test_a_dri_folds_only_their_own_squads_work(client, cycle, alike, alice, monkeypatch):
    wizard, assessment, campaign = alike
    alike_groups(monkeypatch)
    Initiative.objects.filter(pk=campaign.pk).update(status="dropped")
    [pair] = run_review(cycle)  # the wizard and the assessment only
    client.force_login(alice)
    # Making the assessment (another squad's) follow her wizard is not Alice's call.
    response = client.post(
        lead_url(pair), lead_body(wizard, fates={assessment: "drop"}), headers=HX
    )
    assert "you can fold only your own squad&#x27;s initiatives" in text(response)
    assert Initiative.objects.get(pk=assessment.pk).status == "planned"
    # Letting her own squad's wizard build on the assessment is.
    response = client.post(
        lead_url(pair), lead_body(assessment, fates={wizard: "depend"}), headers=HX
    )
    assert "Onboarding assessment (Product-led Growth) leads." in text(response)
    assert Dependency.objects.filter(from_initiative=wizard, to_initiative=assessment).exists()


def test_who_may_settle_an_overlap(client, overlap, alike, bob, pete, carol):
    wizard, assessment, campaign = alike
    body = lead_body(wizard, fates={assessment: "drop", campaign: "drop"})
    for person in (bob, pete, carol):  # members and outsiders do not triage findings
        client.force_login(person)
        assert client.get(lead_url(overlap)).status_code == 403
        assert client.post(lead_url(overlap), body).status_code == 403
        assert client.post(reverse("finding_not_same", args=[overlap.pk])).status_code == 403
        assert (
            client.post(reverse("finding_related", args=[overlap.pk]), {"reason": "x"}).status_code
            == 403
        )
    assert Initiative.objects.filter(status="dropped").count() == 0
    assert not OverlapVerdict.objects.exists()
    overlap.refresh_from_db()
    assert overlap.state == "open"


def test_overlap_actions_404_405_and_sign_in(client, overlap, gap_finding, olga):
    assert client.get(lead_url(overlap)).status_code == 302  # to sign in
    client.force_login(olga)
    assert client.get(reverse("finding_lead", args=[99999])).status_code == 404
    assert client.get(lead_url(gap_finding)).status_code == 404  # not an overlap
    assert client.put(lead_url(overlap)).status_code == 405
    assert client.get(reverse("finding_not_same", args=[overlap.pk])).status_code == 405
    assert client.delete(reverse("finding_related", args=[overlap.pk])).status_code == 405


def test_a_settled_finding_refuses_another_decision(client, overlap, alike, olga):
    wizard, assessment, campaign = alike
    client.force_login(olga)
    client.post(reverse("finding_not_same", args=[overlap.pk]), seen(*alike), headers=HX)
    response = client.post(
        lead_url(overlap), lead_body(wizard, fates={assessment: "drop", campaign: "drop"})
    )
    assert response.status_code == 302
    assert "This finding is settled already." in text(client.get(response["Location"]))
    assert Initiative.objects.filter(status="dropped").count() == 0


def test_initiative_titles_are_escaped_in_the_lead_form(client, overlap, alike, olga):
    wizard = alike[0]
    Initiative.objects.filter(pk=wizard.pk).update(title="<script>alert(1)</script>")
    client.force_login(olga)
    content = client.get(lead_url(overlap), headers=HX).content.decode()
    assert "<script>alert(1)" not in content
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in content


# --- not the same work; related, keep both -------------------------------------------------------


def test_not_the_same_work_is_remembered_until_a_text_changes_materially(
    client, cycle, overlap, alike, olga, bob
):
    wizard, assessment, campaign = alike
    client.force_login(olga)
    response = client.post(
        reverse("finding_not_same", args=[overlap.pk]),
        {"next": FINDINGS, **seen(*alike)},
        headers=HX,
    )
    assert "Remembered as not the same work" in text(response)
    overlap.refresh_from_db()
    assert overlap.state == "resolved" and overlap.state_changed_by == olga
    verdicts = OverlapVerdict.objects.order_by("first_id", "second_id")
    assert verdicts.count() == 3  # every pair of different squads
    assert {v.verdict for v in verdicts} == {"not_same"}
    first = verdicts.get(first=wizard, second=assessment)
    assert first.first_title == "In-app onboarding wizard" and first.by == olga
    assert run_review(cycle) == []

    # A small edit keeps the verdict ...
    values = {
        field: getattr(wizard, field) for field in squad_services.InitiativeFields.__annotations__
    }
    squad_services.initiative_update(
        initiative=wizard, values={**values, "title": "In-app onboarding wizards"}, by=bob
    )
    assert run_review(cycle) == []
    # ... a new subject does not: the wizard is alike to the others again.
    squad_services.initiative_update(
        initiative=wizard,
        values={
            **values,
            "title": "Guided first steps for new customers",
            "description": "A checklist in the product for the first week.",
        },
        by=bob,
    )
    # The pair nobody touched stays judged: no finding claims it.
    again = run_review(cycle)
    assert sorted(refs(f) for f in again) == [
        {"initiative:first-90-days/wizard", "initiative:marketing/campaign"},
        {"initiative:first-90-days/wizard", "initiative:product-led/assessment"},
    ]


def test_related_work_kept_by_both_needs_a_reason_and_dismisses_the_finding(
    client, cycle, overlap, alike, olga
):
    url = reverse("finding_related", args=[overlap.pk])
    client.force_login(olga)
    response = client.post(url, {"reason": "  ", "next": FINDINGS, **seen(*alike)}, headers=HX)
    assert "Say why both squads keep their work." in text(response)
    assert not OverlapVerdict.objects.exists()
    overlap.refresh_from_db()
    assert overlap.state == "open"

    reason = "Marketing teaches, Product routes: they meet <b>at</b> the first milestone."
    response = client.post(url, {"reason": reason, "next": FINDINGS, **seen(*alike)}, headers=HX)
    content = response.content.decode()
    assert "Dismissed as related work that both squads keep." in content
    assert "meet &lt;b&gt;at&lt;/b&gt;" in content
    overlap.refresh_from_db()
    assert overlap.state == "dismissed" and overlap.dismissed_reason == reason
    assert set(OverlapVerdict.objects.values_list("verdict", flat=True)) == {"related"}
    assert run_review(cycle) == []
    overlap.refresh_from_db()
    assert overlap.state == "dismissed"


def test_reopening_work_kept_as_related_lets_the_review_raise_it_again(
    client, cycle, overlap, alike, olga, leo
):
    client.force_login(olga)
    client.post(
        reverse("finding_related", args=[overlap.pk]),
        {"reason": "Different customers", **seen(*alike)},
    )
    client.force_login(leo)
    client.post(reverse("finding_act", args=[overlap.pk, "reopen"]))
    overlap.refresh_from_db()
    assert overlap.state == "open"
    assert not OverlapVerdict.objects.exists()
    # The review still finds the overlap: it stays open, for someone to decide again.
    assert run_review(cycle) == [overlap]
    page = text(client.get(FINDINGS))
    assert lead_url(overlap) in page


def test_the_related_form_opens_in_the_card(client, overlap, olga):
    client.force_login(olga)
    response = client.get(reverse("finding_related", args=[overlap.pk]), headers=HX)
    assert "Why do both squads keep their work?" in text(response)


def test_the_overlap_actions_show_only_to_those_who_may_take_them(client, overlap, olga, bob):
    client.force_login(olga)
    content = client.get(FINDINGS).content.decode()
    assert lead_url(overlap) in content
    assert reverse("finding_not_same", args=[overlap.pk]) in content
    client.force_login(bob)
    content = client.get(FINDINGS).content.decode()
    assert lead_url(overlap) not in content
    assert reverse("finding_not_same", args=[overlap.pk]) not in content


# --- assign a squad to a stage nobody covers ----------------------------------------------------


@pytest.fixture
def gap_finding(cycle):
    stage = f.stage("lifecycle", "renewal", name="Renewal")
    return make_finding(
        cycle,
        rule="unowned_stage",
        kind="ownership_gap",
        severity="medium",
        subjects=[f"stage:{stage.ref}"],
        message="No squad covers the Renewal stage",
    )


def stage_url(finding) -> str:
    return reverse("finding_stage", args=[finding.pk])


def test_leadership_assigns_a_squad_to_the_stage(client, gap_finding, needing, leo):
    client.force_login(leo)
    form = client.get(stage_url(gap_finding), headers=HX)
    assert "First 90 Days" in text(form) and "Renewal stage" in text(form)
    response = client.post(
        stage_url(gap_finding), {"squad": needing.pk, "next": FINDINGS}, headers=HX
    )
    assert "First 90 Days covers the Renewal stage now." in text(response)
    cover = SquadStage.objects.get(squad=needing, stage__key="renewal")
    assert cover.history.get().history_user == leo
    gap_finding.refresh_from_db()
    assert gap_finding.state == "resolved" and gap_finding.state_changed_by == leo
    event = FindingEvent.objects.get(finding=gap_finding, action="stage_covered")
    assert event.by == leo and "First 90 Days covers the Renewal stage" in event.summary


def test_a_squad_of_another_cycle_cannot_cover_it(client, gap_finding, leo):
    other = f.squad("next-year", dri=f.person("nia"), cycle=f.cycle("fy2028"))
    client.force_login(leo)
    response = client.post(stage_url(gap_finding), {"squad": other.pk}, headers=HX)
    assert "Select a valid choice" in text(response)
    assert not SquadStage.objects.exists()


def test_only_leadership_assigns_stages(client, gap_finding, needing, olga, alice, carol):
    for person in (olga, alice, carol):
        client.force_login(person)
        assert client.get(stage_url(gap_finding)).status_code == 403
        assert client.post(stage_url(gap_finding), {"squad": needing.pk}).status_code == 403
        assert stage_url(gap_finding) not in client.get(FINDINGS).content.decode()
    assert not SquadStage.objects.exists()
    gap_finding.refresh_from_db()
    assert gap_finding.state == "open"


def test_stage_assignment_404_405(client, gap_finding, overlap, leo):
    client.force_login(leo)
    assert client.get(stage_url(overlap)).status_code == 404
    assert client.get(reverse("finding_stage", args=[99999])).status_code == 404
    assert client.put(stage_url(gap_finding)).status_code == 405


# --- answering a finding's dependency ---------------------------------------------------------


@pytest.fixture
def unaccepted(cycle, dep):
    """The wizard's dependency on the providing squad, still only requested."""
    return make_finding(
        cycle,
        rule="unaccepted",
        subjects=["dependency:messaging", "squad:first-90-days", "squad:product-led"],
        message="First 90 Days needs feature messaging; Product-led Growth should answer",
    )


def dep_url(finding, action: str) -> str:
    return reverse("finding_dependency", args=[finding.pk, action])


def test_the_provider_accepts_from_the_finding(client, unaccepted, dep, pete):
    client.force_login(pete)
    response = client.post(
        dep_url(unaccepted, "accept"), {"was": "requested", "next": FINDINGS}, headers=HX
    )
    assert "“Feature messaging for the wizard” is accepted now." in text(response)
    dep.refresh_from_db()
    assert dep.status == "accepted"
    assert dep.history.order_by("-history_id").first().history_user == pete
    event = FindingEvent.objects.get(finding=unaccepted)
    assert event.action == "dependency_accepted" and event.by == pete
    # The review decides whether that settled it.
    unaccepted.refresh_from_db()
    assert unaccepted.state == "open"
    page = text(client.get(reverse("finding", args=[unaccepted.pk])))
    assert "Dependency accepted by Pete Park" in page


def test_accepting_from_the_finding_makes_the_provider_the_owner_of_an_unowned_one(
    client, unaccepted, dep, pete
):
    Dependency.objects.filter(pk=dep.pk).update(owner=None)
    client.force_login(pete)
    client.post(dep_url(unaccepted, "accept"), {"was": "requested"}, headers=HX)
    dep.refresh_from_db()
    assert dep.status == "accepted" and dep.owner == pete
    Dependency.objects.filter(pk=dep.pk).update(status="accepted")
    refused = client.post(
        dep_url(unaccepted, "at_risk"), {"note": "", "was": "accepted"}, headers=HX
    )
    assert "Say why it is at risk" in text(refused)
    client.post(dep_url(unaccepted, "at_risk"), {"note": "Vendor late", "was": "accepted"})
    dep.refresh_from_db()
    assert (dep.status, dep.status_reason) == ("at_risk", "Vendor late")


def test_declining_needs_a_note_and_adds_it_to_the_dependency(client, unaccepted, dep, dora):
    client.force_login(dora)
    url = dep_url(unaccepted, "decline")
    assert "Why decline?" in text(client.get(url, headers=HX))
    response = client.post(url, {"note": " ", "was": "requested"}, headers=HX)
    assert "Say why you decline" in text(response)
    assert Dependency.objects.get(pk=dep.pk).status == "requested"
    note = "No one free before June. " * 20
    client.post(url, {"note": note, "was": "requested"}, headers=HX)
    dep.refresh_from_db()
    assert dep.status == "declined"
    assert note.strip() in dep.note and "Declined by Dora Diaz" in dep.note


def test_at_risk_with_a_note_once_accepted(client, unaccepted, dep, pete):
    client.force_login(pete)
    # Still requested: at risk may not follow, and the card does not offer it.
    response = client.post(dep_url(unaccepted, "at_risk"), {"note": "Late"}, headers=HX)
    assert "it may become accepted or declined, not at risk" in text(response)
    assert dep_url(unaccepted, "at_risk") not in response.content.decode()
    assert Dependency.objects.get(pk=dep.pk).status == "requested"
    Dependency.objects.filter(pk=dep.pk).update(status="accepted")
    response = client.post(
        dep_url(unaccepted, "at_risk"),
        {"note": "Two engineers are out", "was": "accepted"},
        headers=HX,
    )
    assert "is at risk now" in text(response)
    dep.refresh_from_db()
    assert dep.status == "at_risk" and "At risk, said Pete Park" in dep.note
    assert "Two engineers are out" in dep.note


def test_the_needing_side_moves_the_due_date(client, unaccepted, dep, bob):
    client.force_login(bob)
    form = client.get(dep_url(unaccepted, "move"), headers=HX)
    assert 'name="version" value="1"' in form.content.decode()
    response = client.post(
        dep_url(unaccepted, "move"), {"due": "2027-05-03", "version": "1"}, headers=HX
    )
    assert "is due on 3 May 2027 now" in text(response)
    dep.refresh_from_db()
    assert dep.due == dt.date(2027, 5, 3) and dep.version == 2
    assert dep.history.order_by("-history_id").first().history_user == bob
    event = FindingEvent.objects.get(finding=unaccepted, action="dependency_moved")
    assert "to 03 May 2027" in event.summary


def test_a_date_moved_meanwhile_is_not_overwritten(client, unaccepted, dep, bob, olga):
    client.force_login(olga)
    client.post(dep_url(unaccepted, "move"), {"due": "2027-04-01", "version": "1"})
    client.force_login(bob)
    response = client.post(
        dep_url(unaccepted, "move"), {"due": "2027-05-03", "version": "1"}, headers=HX
    )
    assert "Olga Ortiz changed this dependency after you opened this finding" in text(response)
    dep.refresh_from_db()
    assert dep.due == dt.date(2027, 4, 1)
    assert FindingEvent.objects.filter(finding=unaccepted).count() == 1


def test_each_side_sees_only_its_own_actions(client, unaccepted, pete, bob, carol, olga):
    def offered(person) -> set[str]:
        client.force_login(person)
        content = client.get(FINDINGS).content.decode()
        return {
            a for a in ("accept", "decline", "at_risk", "move") if dep_url(unaccepted, a) in content
        }

    assert offered(pete) == {"accept", "decline"}
    assert offered(bob) == {"move"}
    assert offered(carol) == set()
    assert offered(olga) == {"accept", "decline", "move"}


def test_who_may_answer_or_move(client, unaccepted, dep, alice, bob, carol, pete):
    for person in (alice, bob, carol):  # the needing side does not answer what it asked
        client.force_login(person)
        assert client.get(dep_url(unaccepted, "accept")).status_code == 403
        assert client.post(dep_url(unaccepted, "accept"), {"was": "requested"}).status_code == 403
    for person in (pete, carol):  # nor does the provider move the needing side's date
        client.force_login(person)
        assert client.post(dep_url(unaccepted, "move"), {"due": "2027-06-01"}).status_code == 403
    dep.refresh_from_db()
    assert dep.status == "requested" and dep.version == 1
    assert not FindingEvent.objects.exists()


def test_dependency_actions_404_405(client, unaccepted, overlap, pete):
    client.force_login(pete)
    assert client.get(dep_url(unaccepted, "explode")).status_code == 404
    assert client.get(dep_url(overlap, "accept")).status_code == 404
    assert client.get(reverse("finding_dependency", args=[99999, "accept"])).status_code == 404
    assert client.put(dep_url(unaccepted, "accept")).status_code == 405


# --- how findings ended -------------------------------------------------------------------------


def test_the_findings_page_shows_how_past_findings_ended(
    client, cycle, overlap, alike, unaccepted, pete, olga
):
    wizard, assessment, campaign = alike
    gone = make_finding(cycle, rule="overdue", message="An old blocker")
    Finding.objects.filter(pk=gone.pk).update(state="resolved", state_changed_at=timezone.now())
    kept = make_finding(cycle, rule="over_capacity", kind="resource_conflict", message="Busy")
    client.force_login(olga)
    client.post(reverse("finding_dismiss", args=[kept.pk]), {"reason": "Hiring in March"})
    client.post(
        lead_url(overlap), lead_body(assessment, fates={wizard: "depend", campaign: "drop"})
    )
    client.force_login(pete)
    client.post(dep_url(unaccepted, "accept"), {"was": "requested"})

    page = text(client.get(FINDINGS))
    ended = page[page.index("How findings ended") :]
    assert "<strong>1</strong> resolved by themselves" in ended
    assert "<strong>1</strong> resolved by people" in ended
    assert "<strong>1</strong> dismissed" in ended
    assert "<strong>2</strong> acted on from the finding" in ended
    assert "Acted on (one squad leads) by Olga Ortiz: Onboarding assessment" in ended
    assert "Acted on (dependency accepted) by Pete Park: Accepted" in ended
    assert "Dismissed by Olga Ortiz: Hiring in March" in ended
    assert "Resolved by itself: the review no longer finds it." in ended


def test_how_findings_ended_lists_the_latest_ten_whether_they_ended_or_were_acted_on(
    client, cycle, olga
):
    now = timezone.now()
    for n in range(12):  # "Ended 0" ended 12 days ago, "Ended 11" yesterday
        ended = make_finding(cycle, message=f"Ended {n}")
        Finding.objects.filter(pk=ended.pk).update(
            state="resolved", state_changed_at=now - dt.timedelta(days=12 - n)
        )
    # Acted on an hour ago, still open: the latest of all.
    acted = make_finding(cycle, rule="unaccepted", message="Acted today")
    FindingEvent.objects.create(
        finding=acted, action="dependency_at_risk", by=olga, at=now - dt.timedelta(hours=1)
    )
    # Ended 20 days ago, acted on 30 minutes ago: ended with that action.
    late = make_finding(cycle, message="Acted later")
    Finding.objects.filter(pk=late.pk).update(
        state="resolved", state_changed_at=now - dt.timedelta(days=20)
    )
    FindingEvent.objects.create(
        finding=late, action="dependency_moved", by=olga, at=now - dt.timedelta(minutes=30)
    )
    # Still open and nobody acted on it: not in the list.
    make_finding(cycle, message="Still open")
    client.force_login(olga)
    page = text(client.get(FINDINGS))
    ended = page[page.index("How findings ended") :]
    shown = re.findall(r">(Acted later|Acted today|Ended \d+|Still open)</a>", ended)
    assert shown == ["Acted later", "Acted today", *[f"Ended {n}" for n in range(11, 3, -1)]]
    assert "<strong>2</strong> acted on from the finding" in ended
    assert "<strong>13</strong> resolved by themselves" in ended


def test_a_findings_timeline_shows_who_did_what(client, cycle, overlap, alike, olga, leo):
    wizard, assessment, campaign = alike
    client.force_login(leo)
    client.post(reverse("finding_act", args=[overlap.pk, "acknowledge"]))
    client.force_login(olga)
    client.post(
        lead_url(overlap), lead_body(assessment, fates={wizard: "depend", campaign: "depend"})
    )
    page = text(client.get(reverse("finding", args=[overlap.pk])))
    history = visible(page[page.index('id="timeline-title"') :])
    assert history.index("Found by the review") < history.index("Acknowledged by Leo Lang")
    assert history.index("Acknowledged by Leo Lang") < history.index(
        "One squad leads by Olga Ortiz"
    )
    assert "Building on it, due 31 Mar 2027" in history


def test_a_finding_too_large_for_one_step_is_not_settled_here(client, cycle, olga):
    subjects = []
    for n in range(11):
        squad = f.squad(f"squad-{n}", dri=f.person(f"dri{n}"), cycle=cycle)
        for key in ("one", "two"):
            subjects.append(f"initiative:{f.initiative(squad, key).ref}")
        subjects.append(f"squad:{squad.key}")
    big = make_finding(cycle, rule="similar_initiatives", kind="overlap", subjects=subjects)
    client.force_login(olga)
    assert lead_url(big) not in client.get(FINDINGS).content.decode()
    response = client.get(lead_url(big), headers=HX)
    assert "This finding names more than 20 initiatives" in text(response)
    response = client.post(reverse("finding_not_same", args=[big.pk]), headers=HX)
    assert "This finding names more than 20 initiatives" in text(response)
    assert not OverlapVerdict.objects.exists()
    big.refresh_from_db()
    assert big.state == "open"


@pytest.mark.parametrize("count", [2, 20])
def test_how_findings_ended_costs_the_same_queries_for_2_or_20(
    client, cycle, dep, olga, count, django_assert_max_num_queries
):
    now = timezone.now()
    for n in range(count):
        live = make_finding(
            cycle,
            rule="unaccepted",
            subjects=["dependency:messaging", "squad:first-90-days", "squad:product-led"],
        )
        FindingEvent.objects.create(
            finding=live, action="dependency_at_risk", by=olga, at=now, summary=f"Risk {n}"
        )
        ended = make_finding(cycle, rule="overdue", message=f"Old {n}")
        Finding.objects.filter(pk=ended.pk).update(
            state="dismissed", dismissed_reason="Fine", state_changed_by=olga, state_changed_at=now
        )
    client.force_login(olga)
    with django_assert_max_num_queries(14):
        response = client.get(FINDINGS)
    page = visible(response.content.decode())
    assert f"{count} dismissed" in page and f"{count} acted on from the finding" in page


def test_the_timeline_shows_what_the_review_did(client, cycle, overlap, alike, carol):
    wizard, assessment, campaign = alike
    Initiative.objects.filter(pk__in=[assessment.pk, campaign.pk]).update(status="dropped")
    assert run_review(cycle) == []
    Initiative.objects.filter(pk__in=[assessment.pk, campaign.pk]).update(status="planned")
    assert run_review(cycle) == [overlap]
    client.force_login(carol)
    page = text(client.get(reverse("finding", args=[overlap.pk])))
    history = visible(page[page.index('id="timeline-title"') :])
    assert history.index("Found by the review") < history.index("No longer found by the review")
    assert history.index("No longer found by the review") < history.index(
        "Found again by the review"
    )


@pytest.mark.parametrize(
    "change",
    [
        {"lead": "not-a-number"},
        {"lead": "99999"},
        {"due": "2027-13-45"},
        {"due": "1800-01-01"},
        {"fate": "explode"},
        {"version": "ninety"},
        {"version": "-1"},
    ],
)
def test_bad_input_to_the_lead_form_says_so_and_changes_nothing(
    client, overlap, alike, olga, change
):
    wizard, assessment, campaign = alike
    body = lead_body(assessment, fates={wizard: "drop", campaign: "drop"})
    if "fate" in change:
        body[f"fate_{wizard.pk}"] = change["fate"]
    if "version" in change:
        body[f"version_{wizard.pk}"] = change["version"]
    body.update({k: v for k, v in change.items() if k in ("lead", "due")})
    client.force_login(olga)
    response = client.post(lead_url(overlap), body, headers=HX)
    assert response.status_code == 200
    content = response.content.decode()
    assert 'class="errorlist' in content
    if "version" in change:
        assert "after you opened this finding; nothing was changed" in content
    assert Initiative.objects.filter(status="dropped").count() == 0
    assert not Dependency.objects.exists() and not OverlapVerdict.objects.exists()
    overlap.refresh_from_db()
    assert overlap.state == "open"


@pytest.mark.parametrize(
    ("action", "body", "said"),
    [
        ("accept", {"was": "bogus"}, "This form is out of date"),
        ("accept", {"was": "accepted"}, "Someone answered this dependency meanwhile"),
        ("move", {"due": "soon", "version": "1"}, "Enter a date."),
        ("move", {"due": "2027-06-01", "version": "x"}, "changed this dependency after you"),
        ("move", {"due": "", "version": "1"}, "Say by when it is needed now."),
    ],
)
def test_bad_input_to_a_dependency_action_says_so_and_changes_nothing(
    client, unaccepted, dep, olga, action, body, said
):
    client.force_login(olga)
    response = client.post(dep_url(unaccepted, action), body, headers=HX)
    assert response.status_code == 200
    assert said in response.content.decode()
    dep.refresh_from_db()
    assert dep.status == "requested" and dep.version == 1
    assert not FindingEvent.objects.exists()


# --- the review running while someone acts --------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("when", ["before it reads the plan", "while it judges"])
def test_a_finding_settled_while_the_review_runs_stays_settled(monkeypatch, when):
    """Olga says who leads while a review is under way, from another connection: whether
    the review read the plan before or after her decision, the finding stays resolved by
    her, and its history ends with what she did."""
    from django.db import close_old_connections, connection, transaction

    from planning import finding_actions as actions

    with transaction.atomic():  # a squad's DRI must be a member by the time it commits
        cycle = f.cycle()
        olga = f.in_group(f.person("olga", "Olga Ortiz"), "Operations")
        squads = [f.squad(key, dri=f.person(key), cycle=cycle) for key in ("cs", "product")]
        wizard, assessment = (f.initiative(s, "onboarding") for s in squads)
    alike_groups(monkeypatch)
    [found] = run_review(cycle)

    def olga_decides():
        try:
            actions.finding_lead(
                finding=found,
                lead=assessment,
                fates={wizard.pk: "depend"},
                versions={wizard.pk: 1, assessment.pk: 1},
                by=olga,
            )
        finally:
            close_old_connections()
            connection.close()

    def in_another_connection():
        other = threading.Thread(target=olga_decides)
        other.start()
        other.join(30)
        assert not other.is_alive()

    if when == "while it judges":
        judge = services.review

        def review(snapshot, today):
            found_now = judge(snapshot, today)  # the plan as it was before she decided
            in_another_connection()
            return found_now

        monkeypatch.setattr(services, "review", review)
    else:
        read = services.snapshot_for_cycle

        def snapshot_for_cycle(c):
            in_another_connection()
            return read(c)

        monkeypatch.setattr(services, "snapshot_for_cycle", snapshot_for_cycle)
    services.review_run(cycle=cycle, today=dt.date(2027, 2, 1), trigger="command")

    found.refresh_from_db()
    assert found.state == "resolved" and found.state_changed_by == olga
    history = list(FindingEvent.objects.filter(finding=found).values_list("action", flat=True))
    assert history == ["lead"]
    assert Dependency.objects.filter(from_initiative=wizard, to_initiative=assessment).count() == 1


# --- a decision about texts that changed since the person read them ---------------------------


def posted_by_form(page: str, action: str) -> dict:
    """The hidden fields the form posting to `action` on this page sends."""
    form = re.search(rf'<form[^>]*action="{re.escape(action)}".*?</form>', page, re.S)[0]
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form))


def rewrite(initiative, by, **changes) -> None:
    values = {
        field: getattr(initiative, field)
        for field in squad_services.InitiativeFields.__annotations__
    }
    squad_services.initiative_update(initiative=initiative, values={**values, **changes}, by=by)


@pytest.mark.parametrize("decision", ["finding_not_same", "finding_related"])
def test_a_text_rewritten_after_the_finding_was_shown_is_not_judged_unseen(
    client, cycle, overlap, alike, olga, bob, decision
):
    """Olga reads the finding; Bob then rewrites the wizard so it describes the campaign's
    work. Her "not the same work" (or "related") was about the texts she read: it is refused,
    saying who changed what, and the review still raises the new text."""
    wizard = alike[0]
    url = reverse(decision, args=[overlap.pk])
    client.force_login(olga)
    if decision == "finding_not_same":
        shown = posted_by_form(client.get(FINDINGS).content.decode(), url)
    else:
        shown = posted_by_form(client.get(url).content.decode(), url)
        shown["reason"] = "Different customers"
    assert shown[f"version_{wizard.pk}"] == "1"
    rewrite(wizard, bob, title="Onboarding education campaign", description="Teach them.")

    response = client.post(url, shown, headers=HX)
    assert "Bob Baker changed “Onboarding education campaign” after you opened" in text(response)
    assert not OverlapVerdict.objects.exists()
    overlap.refresh_from_db()
    assert overlap.state == "open"
    assert [refs(f) for f in run_review(cycle)] == [refs(overlap)]

    # Read again, the same answer is taken.
    if decision == "finding_not_same":
        shown = posted_by_form(client.get(FINDINGS).content.decode(), url)
    else:
        shown = {**posted_by_form(client.get(url).content.decode(), url), "reason": "Kept"}
    client.post(url, shown, headers=HX)
    assert OverlapVerdict.objects.get(first=wizard, second=alike[1]).first_title == (
        "Onboarding education campaign"
    )


# --- a form opened in a card on the findings page ------------------------------------------


def ids(html: str) -> list[str]:
    return re.findall(r'\sid="([^"]+)"', html)


@pytest.mark.parametrize(
    ("finding", "route"),
    [
        ("gap_finding", "finding_stage"),
        ("overlap", "finding_lead"),
        ("overlap", "finding_related"),
        ("overlap", "finding_dismiss"),
        ("unaccepted", "finding_dependency"),
    ],
)
def test_a_form_opened_in_a_card_keeps_its_labels_on_its_own_fields(
    client, request, needing, admin_client, finding, route
):
    """The card's form is swapped into the findings page, which has filters of its own (a
    squad among them) and another card with the same form open: no id of the form is
    taken, so each label still points at its own field."""
    shown = request.getfixturevalue(finding)
    twin = make_finding(shown.cycle, rule=shown.rule, kind=shown.kind, subjects=shown.subjects)

    def opened(which) -> tuple[str, list[str]]:
        args = [which.pk, "move"] if route == "finding_dependency" else [which.pk]
        card = admin_client.get(reverse(route, args=args), headers=HX).content.decode()
        # The card's own ids, already on the page, are those it replaces.
        own = rf"finding-{which.pk}(-message)?"
        return card, [i for i in ids(card) if not re.fullmatch(own, i)]

    card, in_card = opened(shown)
    _, in_twin = opened(twin)
    assert 'for="' in card
    for label in re.findall(r'<label[^>]* for="([^"]+)"', card):
        assert label in in_card
    around = ids(admin_client.get(FINDINGS).content.decode()) + in_twin
    assert not set(in_card) & set(around)
    assert len(in_card) == len(set(in_card))
