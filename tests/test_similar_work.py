"""Similar work in other squads, shown in the initiative editors while a person writes."""

from __future__ import annotations

import dataclasses
import re
from collections import OrderedDict

import pytest
from django.urls import reverse

from planning import overlap, similar_work
from squads import services
from squads.models import Initiative
from tests import factories as f

pytestmark = pytest.mark.django_db

HX = {"HX-Request": "true"}
# The worked example's Customer Success memo, written in another squad.
MEMO = "Launch new onboarding program to improve activation"
MEMO_TEXT = (
    "A new structured onboarding program for new customers to improve activation. Needs "
    "Product to build an assessment tool and Marketing to drive awareness."
)
DRAFT = {"title": "Onboarding program to improve activation", "description": ""}


def check_url(squad_key: str, initiative: str | None = None) -> str:
    url = reverse("squads:similar_work", args=[squad_key])
    return f"{url}?initiative={initiative}" if initiative else url


def listed_titles(response) -> list[str]:
    """The titles of the initiatives listed as similar work, in order."""
    content = response.content.decode()
    return re.findall(
        r'<a href="/squads/[^"]+" target="_blank" rel="noopener">([^<]*)</a>', content
    )


@pytest.fixture
def memo(providing):
    """Dora's squad, Product-led Growth, plans the onboarding memo."""
    return f.initiative(providing, "onboarding-program", title=MEMO, description=MEMO_TEXT)


def test_a_member_writing_alike_work_sees_the_other_squads_initiative_and_its_dri(
    client, needing, memo, bob
):
    client.force_login(bob)
    response = client.post(check_url(needing.key), DRAFT, headers=HX)
    assert response.status_code == 200
    content = response.content.decode()
    assert "<html" not in content
    assert listed_titles(response) == [MEMO]
    assert "Product-led Growth, DRI Dora Diaz" in content
    assert 'href="/squads/product-led/plan/#initiative-onboarding-program"' in content
    assert "Very similar" in content
    assert Initiative.objects.count() == 1  # asking changes nothing


def test_nothing_shows_when_nothing_is_alike(client, needing, memo, bob):
    client.force_login(bob)
    response = client.post(
        check_url(needing.key),
        {"title": "Quarterly revenue forecast", "description": "Finance model per region."},
        headers=HX,
    )
    assert response.status_code == 200
    assert response.content.decode().strip() == ""


def test_the_squads_own_dropped_and_other_cycles_initiatives_are_left_out(
    client, needing, providing, memo, bob, carol
):
    f.initiative(needing, "own-onboarding", title=MEMO, description=MEMO_TEXT)
    f.initiative(providing, "old-onboarding", title=f"{MEMO} (old)", status="dropped")
    earlier = f.squad("earlier", dri=carol, cycle=f.cycle("fy2026"), name="Last Year")
    f.initiative(earlier, "onboarding", title=f"{MEMO} last year", description=MEMO_TEXT)
    client.force_login(bob)
    response = client.post(check_url(needing.key), DRAFT, headers=HX)
    assert listed_titles(response) == [MEMO]
    assert "Last Year" not in response.content.decode()


def test_the_edit_form_asks_too_and_leaves_the_initiative_itself_out(
    client, needing, wizard, memo, bob
):
    wizard.title, wizard.description = MEMO, MEMO_TEXT
    wizard.save()
    client.force_login(bob)
    response = client.post(check_url(needing.key, wizard.key), DRAFT, headers=HX)
    assert listed_titles(response) == [MEMO]
    assert "Product-led Growth" in response.content.decode()
    assert client.post(check_url(needing.key, "nope"), DRAFT, headers=HX).status_code == 404


def test_at_most_five_are_listed_the_most_alike_first(client, cycle, needing, bob):
    for n in range(7):
        dri = f.person(f"dri{n}", f"Dri {n}")
        squad = f.squad(f"squad-{n}", dri=dri, cycle=cycle)
        shorter = MEMO_TEXT[: len(MEMO_TEXT) - 15 * (6 - n)]
        f.initiative(squad, "onboarding", title=MEMO, description=shorter)
    client.force_login(bob)
    response = client.post(
        check_url(needing.key), {"title": MEMO, "description": MEMO_TEXT}, headers=HX
    )
    assert len(listed_titles(response)) == 5
    # In the order of the review's certainty, the most certain first.
    candidates = [
        (i.squad.name, i.squad.key, i.title, i.description)
        for i in Initiative.objects.exclude(squad=needing).select_related("squad")
    ]
    ranked = similar_work.similar_to((needing.key, MEMO, MEMO_TEXT), candidates)
    assert [m.score for m in ranked] == sorted((m.score for m in ranked), reverse=True)
    shown = re.findall(r'class="similar-work__who">([^,]*),', response.content.decode())
    assert shown == [m.ref for m in ranked]


def test_a_restricted_draft_of_another_squad_is_not_shown_until_approved(
    client, cycle, needing, providing, memo, bob, dora
):
    cycle.restrict_drafts = True
    cycle.save()
    client.force_login(bob)
    assert listed_titles(client.post(check_url(needing.key), DRAFT, headers=HX)) == []

    services.plan_set_approval(squad=providing, by=dora, approved=True)
    assert listed_titles(client.post(check_url(needing.key), DRAFT, headers=HX)) == [MEMO]


def test_only_those_who_edit_the_plan_may_ask(client, needing, memo, alice, bob, carol, pete, leo):
    url = check_url(needing.key)
    response = client.post(url, DRAFT, headers=HX)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    for person in (carol, pete, leo):  # a reader, another squad's member, leadership
        client.force_login(person)
        assert client.post(url, DRAFT, headers=HX).status_code == 403
    for person in (alice, bob):
        client.force_login(person)
        assert listed_titles(client.post(url, DRAFT, headers=HX)) == [MEMO]
    assert client.post(check_url("nope"), DRAFT, headers=HX).status_code == 404
    assert client.get(url, DRAFT).status_code == 405
    assert client.put(url).status_code == 405


def test_other_squads_text_is_escaped(client, needing, providing, bob):
    f.initiative(
        providing,
        "script",
        title=f'<script>alert("x")</script> {MEMO}',
        description=MEMO_TEXT,
    )
    client.force_login(bob)
    content = client.post(check_url(needing.key), DRAFT, headers=HX).content.decode()
    assert "<script>" not in content
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in content


def test_empty_huge_and_nul_drafts_get_a_plain_answer(client, needing, memo, bob):
    client.force_login(bob)
    url = check_url(needing.key)
    empty = client.post(url, {"title": " ", "description": ""}, headers=HX)
    assert empty.status_code == 200 and empty.content.decode().strip() == ""
    asked = client.post(url, {"title": "", "description": "", "check": "1"}, headers=HX)
    assert "Write a title or description first" in asked.content.decode()

    # Only the first part of a long draft is compared; the rest is not an error.
    huge = client.post(
        url, {"title": DRAFT["title"], "description": "lorem ipsum " * 20_000}, headers=HX
    )
    assert huge.status_code == 200
    assert listed_titles(huge) == [MEMO]
    past_the_cut = client.post(
        url, {"title": "", "description": "x" * similar_work.DRAFT_LIMIT + MEMO}, headers=HX
    )
    assert past_the_cut.status_code == 200 and listed_titles(past_the_cut) == []

    nul = client.post(url, {"title": "Onboarding\x00", "description": ""}, headers=HX)
    assert nul.status_code == 400
    assert "NUL character" in nul.content.decode()


def test_an_explicit_check_says_when_nothing_is_alike(client, needing, memo, bob):
    client.force_login(bob)
    response = client.post(
        check_url(needing.key),
        {"title": "Quarterly revenue forecast", "description": "", "check": "1"},
        headers=HX,
    )
    assert "Nothing like this in the other squads" in response.content.decode()


def test_asking_as_one_types_is_not_counted_as_saving(client, needing, memo, bob, settings):
    settings.WRITE_RATE_LIMIT = 2
    client.force_login(bob)
    for _ in range(5):
        assert client.post(check_url(needing.key), DRAFT, headers=HX).status_code == 200
    data = {
        "key": "program",
        "title": DRAFT["title"],
        "function": "Customer Success",
        "starts": "2027-01-04",
        "ends": "2027-03-31",
        "headcount": "1",
        "status": "proposed",
    }
    response = client.post(reverse("squads:initiative_create", args=[needing.key]), data)
    assert response.status_code == 302
    assert Initiative.objects.filter(squad=needing, key="program").exists()


def test_without_script_the_button_shows_the_list_beside_the_unsaved_draft(
    client, needing, memo, bob
):
    client.force_login(bob)
    plan = client.get(reverse("squads:initiative_create", args=[needing.key])).content.decode()
    assert "Check for similar work" in plan
    assert f'formaction="{check_url(needing.key)}"' in plan

    data = {
        "key": "program",
        "title": DRAFT["title"],
        "description": "For every new customer",
        "function": "Customer Success",
        "starts": "2027-02-01",
        "ends": "2027-03-31",
        "headcount": "2",
        "status": "proposed",
        "check": "1",
    }
    response = client.post(check_url(needing.key), data)
    assert response.status_code == 200
    page = response.content.decode()
    assert "<html" in page
    assert listed_titles(response) == [MEMO]
    assert "Product-led Growth, DRI Dora Diaz" in page
    # The draft is still in the form, unsaved, ready to be added.
    form = page[page.index('id="new-initiative"') :]
    assert f'value="{DRAFT["title"]}"' in form
    assert 'value="program"' in form
    assert 'value="2027-02-01"' in form
    assert "For every new customer</textarea>" in form
    assert not Initiative.objects.filter(squad=needing, key="program").exists()


def test_without_script_an_edit_keeps_the_version_it_started_from(
    client, needing, wizard, memo, bob
):
    client.force_login(bob)
    data = {"title": DRAFT["title"], "description": "", "version": "1", "check": "1"}
    Initiative.objects.filter(pk=wizard.pk).update(version=2)  # saved by someone meanwhile
    response = client.post(check_url(needing.key, wizard.key), data)
    page = response.content.decode()
    card = page[page.index(f'id="initiative-{wizard.key}"') :]
    assert f'value="{DRAFT["title"]}"' in card
    assert 'name="version" value="1"' in card
    assert listed_titles(response) == [MEMO]


def test_by_shared_words_when_the_model_is_unavailable(client, needing, memo, bob, monkeypatch):
    monkeypatch.setattr(overlap, "_encoder", lambda: None)
    client.force_login(bob)
    response = client.post(check_url(needing.key), DRAFT, headers=HX)
    assert listed_titles(response) == [MEMO]
    unrelated = client.post(
        check_url(needing.key), {"title": "Quarterly revenue forecast"}, headers=HX
    )
    assert listed_titles(unrelated) == []


def test_a_keystroke_does_not_read_the_whole_cycle_again(
    client, cycle, needing, bob, monkeypatch, settings
):
    assert overlap.semantic_available(), "the sentence model is part of the project"
    others = ["Quarterly revenue forecast", "Office move to Lisbon", "Payroll audit"]
    for n, title in enumerate([MEMO, *others]):
        squad = f.squad(f"squad-{n}", dri=f.person(f"dri{n}"), cycle=cycle)
        f.initiative(squad, "work", title=title, description=MEMO_TEXT if n == 0 else "")
    encoder = overlap._encoder()
    texts_read: list[int] = []

    class CountingSession:
        """The model's session, counting the texts it reads."""

        def __init__(self, session):
            self.session = session

        def run(self, outputs, feeds):
            texts_read.append(len(feeds["input_ids"]))
            return self.session.run(outputs, feeds)

    monkeypatch.setattr(encoder, "session", CountingSession(encoder.session))
    monkeypatch.setattr(encoder, "cache", OrderedDict())  # a process that has read nothing
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    client.force_login(bob)

    def ask(title: str) -> int:
        texts_read.clear()
        response = client.post(check_url(needing.key), {"title": title}, headers=HX)
        assert listed_titles(response) == [MEMO]
        return sum(texts_read)

    # The draft, the cycle's four initiatives and the two sentences that say who work is for.
    assert ask(DRAFT["title"]) == 1 + 4 + len(overlap.AUDIENCES)
    assert ask("Onboarding programme") == 1  # the next keystroke: the draft alone
    # Another process, which has read nothing yet, finds the cycle in the shared cache.
    monkeypatch.setattr(encoder, "cache", OrderedDict())
    assert ask("Onboarding programmes") == 1


def test_the_cut_offs_follow_the_reviews(monkeypatch):
    candidates = [("memo", "product-led", MEMO, MEMO_TEXT)]
    draft = ("first-90-days", DRAFT["title"], "")
    [found] = similar_work.similar_to(draft, candidates)
    assert found.level == similar_work.VERY_SIMILAR
    # The review made stricter: the same pair is only similar, then not even that.
    stricter = dataclasses.replace(overlap.JUDGE, threshold=found.score + 0.01)
    monkeypatch.setattr(overlap, "JUDGE", stricter)
    assert [m.level for m in similar_work.similar_to(draft, candidates)] == ["similar"]
    monkeypatch.setattr(similar_work, "SIMILAR_SHARE", 1.0)
    assert similar_work.similar_to(draft, candidates) == []


@pytest.mark.parametrize("squads", [2, 12])
def test_the_number_of_queries_does_not_grow_with_the_cycle(
    client, cycle, needing, bob, squads, django_assert_max_num_queries
):
    topics = ["revenue forecast", "office move", "payroll audit", "warehouse lease"]
    for n in range(squads):
        squad = f.squad(f"squad-{n}", dri=f.person(f"dri{n}", f"Dri {n}"), cycle=cycle)
        if n == 0:
            f.initiative(squad, "onboarding", title=MEMO, description=MEMO_TEXT)
        f.initiative(squad, "other", title=f"Quarterly {topics[n % 4]} {n}")
    client.force_login(bob)
    client.post(check_url(needing.key), DRAFT, headers=HX)  # the model loaded, the cache warm
    with django_assert_max_num_queries(4):
        response = client.post(check_url(needing.key), DRAFT, headers=HX)
    assert listed_titles(response) == [MEMO]


def test_work_judged_from_an_overlap_finding_is_not_raised_again_while_editing(
    client, cycle, needing, wizard, memo, bob, olga
):
    """Olga judged the wizard and the memo not the same work. Editing the wizard, Bob is not
    told again to talk to the memo's DRI, until his draft says something else."""
    from planning.models import Finding

    wizard.title, wizard.description = f"{MEMO} with an in-app wizard", MEMO_TEXT
    wizard.save()
    finding = Finding.objects.create(
        cycle=cycle,
        kind="overlap",
        rule="similar_initiatives",
        severity="medium",
        subjects=[f"initiative:{wizard.ref}", f"initiative:{memo.ref}"]
        + ["squad:first-90-days", "squad:product-led"],
        identity="wizard-memo",
        message="These look alike",
        first_seen=wizard.updated_at,
        last_seen=wizard.updated_at,
    )
    client.force_login(olga)
    client.post(
        reverse("finding_not_same", args=[finding.pk]),
        {f"version_{i.pk}": i.version for i in (wizard, memo)},
    )
    finding.refresh_from_db()
    assert finding.state == "resolved"

    client.force_login(bob)
    as_judged = {"title": wizard.title, "description": MEMO_TEXT + " Small edit."}
    assert (
        listed_titles(client.post(check_url(needing.key, wizard.key), as_judged, headers=HX)) == []
    )
    # A new form has no verdict behind it: the memo is still similar work for it.
    assert listed_titles(client.post(check_url(needing.key), as_judged, headers=HX)) == [MEMO]
    # A draft that now says something else is judged afresh.
    rewritten = {"title": "Onboarding program to improve activation", "description": ""}
    response = client.post(check_url(needing.key, wizard.key), rewritten, headers=HX)
    assert listed_titles(response) == [MEMO]
