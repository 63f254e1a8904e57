"""Co-writing a plan: no lost updates, live changes, presence, history, comments."""

from __future__ import annotations

import datetime as dt
import random
import threading
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.db import close_old_connections, connection, transaction
from django.urls import reverse
from django.utils import timezone

from core import versioning
from core.merge import merge_fields, merge_sequences, merge_text, word_diff
from dependencies import services as dependency_services
from dependencies.models import Dependency
from planning.models import Notification
from squads import cowriting, services
from squads.models import OKR, Comment, Initiative, KeyResult, Plan, PlanStamp, Presence
from tests import factories as f

HX = {"HX-Request": "true"}
BASE = (
    "New customers are overwhelmed. They cannot find the education that fits them. "
    "Thirty percent churn before they reach value."
)


@pytest.fixture
def squad(needing, cycle):
    """The shared needing squad (Alice's, with Bob), with an OKR and a plan."""
    made = needing
    OKR.objects.create(squad=made, cycle=cycle, objective="Customers reach value in 90 days")
    Plan.objects.create(squad=made, current_experience=BASE, not_doing=["A webinar series"])
    return made


@pytest.fixture
def own_cache():
    cache.clear()
    yield
    cache.clear()


def url(name: str, *args) -> str:
    return reverse(f"squads:{name}", args=args)


def section_post(client, squad, text: str, version: int | None, **extra):
    data = {"text": text, **extra}
    if version is not None:
        data["version"] = str(version)
    return client.post(url("plan_section_edit", squad.key, "current-experience"), data, headers=HX)


# ---------------------------------------------------------------------------------------
# The three-way merge
# ---------------------------------------------------------------------------------------


def test_edits_to_different_sentences_merge():
    ours = BASE.replace("overwhelmed", "lost in the first week")
    theirs = BASE.replace("Thirty percent", "A third of them")
    merged = merge_text(BASE, ours, theirs)
    assert merged == (
        "New customers are lost in the first week. They cannot find the education that fits "
        "them. A third of them churn before they reach value."
    )


def test_edits_to_the_same_sentence_do_not_merge():
    ours = BASE.replace("overwhelmed", "lost")
    theirs = BASE.replace("overwhelmed", "confused")
    assert merge_text(BASE, ours, theirs) is None


def test_both_adding_at_the_same_place_is_a_choice_for_a_person():
    assert merge_text(BASE, BASE + " Ours.", BASE + " Theirs.") is None
    assert merge_text(BASE, "Ours first. " + BASE, BASE + " Theirs last.") == (
        "Ours first. " + BASE + " Theirs last."
    )


def test_the_same_edit_on_both_sides_is_no_conflict():
    same = BASE.replace("overwhelmed", "lost")
    assert merge_text(BASE, same, same) == same


def test_lists_merge_by_line_and_records_by_field():
    assert merge_sequences(["a", "b", "c"], ["a", "B", "c"], ["a", "b", "c", "d"]) == [
        "a",
        "B",
        "c",
        "d",
    ]
    merged = merge_fields(
        {"title": "Tool", "headcount": 1, "description": BASE},
        {"title": "Assessment tool", "headcount": 1, "description": BASE + " Ours."},
        {"title": "Tool", "headcount": 2, "description": "Fresh start. " + BASE},
        text_fields=["description"],
    )
    assert merged.clean
    assert merged.values == {
        "title": "Assessment tool",
        "headcount": 2,
        "description": "Fresh start. " + BASE + " Ours.",
    }
    clash = merge_fields({"headcount": 1}, {"headcount": 3}, {"headcount": 2})
    assert clash.conflicts == ["headcount"] and clash.values == {"headcount": 3}


def test_a_word_diff_marks_what_went_and_what_came():
    pieces = word_diff("the quick fox", "the slow fox")
    assert [(p.op, p.text) for p in pieces] == [
        ("same", "the "),
        ("del", "quick"),
        ("gap", " "),
        ("ins", "slow"),
        ("same", " fox"),
    ]


def test_replaced_words_read_as_words_not_run_together():
    # The history showed "feelare lostoverwhelmed" for "feel lost" -> "are overwhelmed".
    pieces = word_diff("They feel lost", "They are overwhelmed")
    read = "".join(p.text for p in pieces)
    assert read == "They feel are lost overwhelmed"
    assert read.split() == ["They", "feel", "are", "lost", "overwhelmed"]
    added = word_diff("a b", "a b c")
    assert [p.op for p in added] == ["same", "ins"]


# ---------------------------------------------------------------------------------------
# Compare-and-swap and the conflict view
# ---------------------------------------------------------------------------------------


def test_a_save_names_its_version_and_moves_it_on(client, squad, bob):
    client.force_login(bob)
    response = client.get(url("plan_section_edit", squad.key, "current-experience"), headers=HX)
    assert 'name="version" value="1"' in response.content.decode()

    response = section_post(client, squad, "They cannot find where to start.", 1)
    assert response.status_code == 200
    plan = Plan.objects.get(squad=squad)
    assert plan.current_experience == "They cannot find where to start."
    assert plan.current_experience_version == 2
    assert plan.desired_experience_version == 1  # each section has its own version


def test_a_stale_save_overwrites_nothing_and_shows_both_texts(client, squad, alice, bob):
    services.plan_section_update(
        squad=squad,
        section="current_experience",
        text=BASE.replace("overwhelmed", "confused"),
        by=alice,
        version=1,
    )
    client.force_login(bob)
    draft = BASE.replace("overwhelmed", "lost")
    response = section_post(client, squad, draft, 1)

    assert response.status_code == 200
    content = response.content.decode()
    assert Plan.objects.get(squad=squad).current_experience == BASE.replace(
        "overwhelmed", "confused"
    )
    assert "Alice Archer</strong> saved this section" in content
    assert "confused" in content and "lost" in content  # both versions, side by side
    assert "changed the same sentence" in content
    assert f'name="draft" value="{draft}"' in content  # the draft is kept
    assert 'name="version" value="2"' in content  # saving again is a deliberate choice


def test_a_stale_save_of_another_sentence_offers_the_merge(client, squad, alice, bob):
    services.plan_section_update(
        squad=squad,
        section="current_experience",
        text=BASE.replace("Thirty percent", "A third of them"),
        by=alice,
        version=1,
    )
    client.force_login(bob)
    response = section_post(client, squad, BASE.replace("overwhelmed", "lost"), 1)
    content = response.content.decode()
    assert "changed different sentences" in content
    merged = BASE.replace("overwhelmed", "lost").replace("Thirty percent", "A third of them")
    assert f"\n{merged}</textarea>" in content
    # Nothing is saved until the person saves the merge they were shown.
    assert Plan.objects.get(squad=squad).current_experience_version == 2

    section_post(client, squad, merged, 2, choice="merge")
    plan = Plan.objects.get(squad=squad)
    assert plan.current_experience == merged
    latest = Plan.history.filter(id=plan.pk).latest("history_date")
    assert latest.history_user == bob
    assert latest.history_change_reason == "Merged with a newer version"


def test_keep_my_draft_saves_the_draft_over_the_version_shown(client, squad, alice, bob):
    services.plan_section_update(
        squad=squad, section="current_experience", text="Theirs.", by=alice, version=1
    )
    client.force_login(bob)
    section_post(client, squad, "Mine.", 1)
    section_post(client, squad, "edited in the box", 2, choice="mine", draft="Mine.")
    assert Plan.objects.get(squad=squad).current_experience == "Mine."


def test_a_stale_initiative_save_shows_the_fields_side_by_side(client, squad, alice, bob):
    tool = f.initiative(squad, "assessment-tool", title="Assessment tool")
    values = {
        "title": "Assessment tool",
        "description": "",
        "function": "Product",
        "stage": None,
        "segment": None,
        "starts": dt.date(2027, 1, 4),
        "ends": dt.date(2027, 3, 31),
        "headcount": Decimal("3"),
        "status": "planned",
        "impact_team": None,
        "impact_business": None,
        "impact_customer": None,
        "counter_measure": "",
    }
    services.initiative_update(initiative=tool, values=values, by=alice, version=1)
    client.force_login(bob)
    data = {
        "title": "Onboarding assessment",
        "description": "",
        "function": "Product",
        "stage": "",
        "segment": "",
        "starts": "2027-01-04",
        "ends": "2027-03-31",
        "headcount": "1",
        "status": "planned",
        "impact_team": "",
        "impact_business": "",
        "impact_customer": "",
        "counter_measure": "",
        "version": "1",
    }
    response = client.post(url("initiative_edit", squad.key, tool.key), data, headers=HX)
    content = response.content.decode()
    tool.refresh_from_db()
    assert tool.title == "Assessment tool" and tool.headcount == 3  # nothing overwritten
    assert "Alice Archer</strong> saved this initiative" in content
    assert "Onboarding assessment" in content  # the draft's title, kept
    assert "different fields" in content  # title from the draft, headcount from Alice
    assert 'value="Onboarding assessment"' in content and 'value="3"' in content

    data.update({"version": "2", "headcount": "3", "choice": "merge"})
    client.post(url("initiative_edit", squad.key, tool.key), data, headers=HX)
    tool.refresh_from_db()
    assert (tool.title, tool.headcount, tool.version) == ("Onboarding assessment", 3, 3)


def test_dependencies_and_key_results_refuse_stale_versions(squad, alice, bob):
    other = f.squad("other", dri=f.person("dave"), cycle=squad.cycle)
    dep = dependency_services.dependency_create(
        by=alice, from_squad=squad, to_squad=other, what="Messaging", due=dt.date(2027, 2, 1)
    )
    dependency_services.dependency_update(
        dependency=dep,
        by=alice,
        what="Messaging by mid-Q1",
        due=dep.due,
        blocking=True,
        note="",
        version=1,
    )
    with pytest.raises(versioning.Conflict) as stale:
        dependency_services.dependency_update(
            dependency=Dependency.objects.get(pk=dep.pk),
            by=bob,
            what="Other",
            due=dep.due,
            blocking=False,
            note="",
            version=1,
        )
    assert stale.value.saved_by == alice and stale.value.version == 2
    assert Dependency.objects.get(pk=dep.pk).what == "Messaging by mid-Q1"

    kr = KeyResult.objects.create(okr=squad.okrs.get(), key="activation", name="Activation")
    services.key_result_update(key_result=kr, name="Day-90 activation", by=alice, version=1)
    with pytest.raises(versioning.Conflict):
        services.key_result_update(
            key_result=KeyResult.objects.get(pk=kr.pk), name="Other", by=bob, version=1
        )
    assert KeyResult.objects.get(pk=kr.pk).name == "Day-90 activation"


# ---------------------------------------------------------------------------------------
# The poll
# ---------------------------------------------------------------------------------------


def _live(client, squad, user, headers=None, **params):
    token = cowriting.poll_token(user_id=user.pk, squad_id=squad.pk)
    return client.get(url("plan_live", squad.key), {"t": token, **params}, headers=headers)


def _etag(squad) -> str:
    return cowriting.stamp(squad.pk).etag


@pytest.mark.parametrize("shared", [False, True])
def test_an_unchanged_poll_answers_204_from_one_query_or_the_cache(
    client, squad, bob, settings, own_cache, shared, django_assert_max_num_queries
):
    settings.COWRITING_SHARED_CACHE = shared
    settings.COWRITING_STAMP_SECONDS = 60
    client.force_login(bob)
    etag = _etag(squad)
    with django_assert_max_num_queries(1):
        response = _live(client, squad, bob, since=etag)
    assert response.status_code == 204
    assert response["ETag"] == f'"{etag}"'
    assert response.content == b""
    if shared:  # the stamp is cached now: the next poll asks nothing of the database
        with django_assert_max_num_queries(0):
            assert _live(client, squad, bob, since=etag).status_code == 204
    with django_assert_max_num_queries(1 if not shared else 0):
        response = _live(client, squad, bob, headers={"If-None-Match": f'"{etag}"'})
    assert response.status_code == 304


def test_a_poll_after_a_save_brings_the_new_text(client, squad, alice, bob, own_cache):
    client.force_login(bob)
    etag = _etag(squad)
    services.plan_section_update(
        squad=squad, section="current_experience", text="Saved by Alice.", by=alice, version=1
    )
    response = _live(client, squad, bob, since=etag)
    assert response.status_code == 200
    payload = response.json()
    assert payload["etag"] != etag
    parts = {part["id"]: part for part in payload["parts"]}
    assert "Saved by Alice." in parts["current-experience"]["html"]
    assert parts["current-experience"]["version"].startswith("2.")
    # The next poll from that stamp is quiet again.
    assert _live(client, squad, bob, since=payload["etag"]).status_code == 204


def test_a_poll_shows_a_part_open_here_as_a_newer_version_beside_the_form(
    client, squad, alice, bob, own_cache
):
    client.force_login(bob)
    services.plan_section_update(
        squad=squad, section="current_experience", text="Saved by Alice.", by=alice, version=1
    )
    payload = _live(client, squad, bob, since="0.0", editing="current-experience").json()
    part = next(p for p in payload["parts"] if p["id"] == "current-experience")
    assert "Alice Archer</strong> saved a newer version" in part["incoming"]
    assert "Saved by Alice." in part["incoming"]


def test_a_poll_without_a_sign_in_shows_nothing(client, squad, bob):
    response = client.get(url("plan_live", squad.key), {"since": ""})
    assert response.status_code == 401
    forged = client.get(url("plan_live", squad.key), {"t": "not-signed", "since": ""})
    assert forged.status_code == 401


def test_the_plan_page_carries_the_poll_and_each_part_its_version(client, squad, bob):
    client.force_login(bob)
    content = client.get(url("plan", squad.key)).content.decode()
    assert 'id="plan-live"' in content and "/plan/live/?t=" in content
    assert 'id="current-experience"' in content and 'data-version="1.0"' in content
    assert "js/cowriting.js" in content


# ---------------------------------------------------------------------------------------
# Presence
# ---------------------------------------------------------------------------------------


def test_others_see_who_is_editing_which_section(client, squad, alice, bob, own_cache):
    client.force_login(alice)
    assert (
        client.post(url("plan_presence", squad.key), {"part": "desired-experience"}).status_code
        == 204
    )
    client.force_login(bob)
    payload = _live(client, squad, bob, since="").json()
    assert payload["presence"] == [
        {
            "part": "desired-experience",
            "name": "Alice",
            "text": "Alice is editing Desired customer experience",
        }
    ]
    client.force_login(alice)  # nobody is told about themselves
    assert _live(client, squad, alice, since="").json()["presence"] == []


def test_presence_runs_out_on_its_own(client, squad, alice, bob, settings, own_cache):
    settings.COWRITING_PRESENCE_SECONDS = 30
    long_ago = timezone.now() - dt.timedelta(seconds=31)
    cowriting.presence_touch(
        squad_id=squad.pk, person=alice, part="desired-experience", label="Desired", now=long_ago
    )
    etag = _etag(squad)
    client.force_login(bob)
    response = _live(client, squad, bob, since=etag)
    # The poll noticed the presence ran out, swept it and says so.
    assert response.status_code == 200
    assert response.json()["presence"] == []
    assert not Presence.objects.exists()
    assert _live(client, squad, bob, since=response.json()["etag"]).status_code == 204


def test_leaving_ends_presence_at_once(client, squad, alice, bob, own_cache):
    client.force_login(alice)
    client.post(url("plan_presence", squad.key), {"part": "current-experience"})
    etag = _etag(squad)
    client.post(url("plan_presence", squad.key), {"state": "left"})
    assert not Presence.objects.exists()
    assert _etag(squad) != etag


def test_only_members_announce_presence_and_only_for_real_parts(client, squad, alice, carol):
    client.force_login(carol)
    assert client.post(url("plan_presence", squad.key), {"part": "not-doing"}).status_code == 403
    client.force_login(alice)
    assert client.post(url("plan_presence", squad.key), {"part": "nonsense"}).status_code == 400


# ---------------------------------------------------------------------------------------
# History and restore
# ---------------------------------------------------------------------------------------


def test_the_history_shows_each_change_and_restores_an_earlier_version(client, squad, alice, bob):
    services.plan_section_update(
        squad=squad, section="current_experience", text="First rewrite.", by=alice, version=1
    )
    services.plan_section_update(
        squad=squad, section="current_experience", text="Second rewrite.", by=bob, version=2
    )
    client.force_login(bob)
    content = client.get(url("plan_history", squad.key)).content.decode()
    assert "Alice Archer</strong>" in content and "Bob Baker</strong>" in content
    # A readable diff: the word struck out and the word put in stay two words.
    assert "<del>First</del> <ins>Second</ins>" in content
    first = Plan.history.get(current_experience="First rewrite.")

    response = client.post(
        url("plan_restore", squad.key),
        {
            "kind": "section",
            "history_id": first.history_id,
            "field": "current_experience",
            "version": "3",
        },
    )
    assert response.status_code == 302
    plan = Plan.objects.get(squad=squad)
    assert plan.current_experience == "First rewrite."
    assert plan.current_experience_version == 4
    restore = Plan.history.filter(id=plan.pk).latest("history_date")
    assert restore.history_user == bob
    assert restore.history_change_reason.startswith("Restored the version of")
    assert "Restored the version of" in client.get(url("plan_history", squad.key)).content.decode()


def test_a_restore_from_an_old_history_page_overwrites_nothing(client, squad, alice, bob):
    services.plan_section_update(
        squad=squad, section="current_experience", text="First rewrite.", by=alice, version=1
    )
    first = Plan.history.get(current_experience="First rewrite.")
    services.plan_section_update(
        squad=squad, section="current_experience", text="Meanwhile.", by=alice, version=2
    )
    client.force_login(bob)
    response = client.post(
        url("plan_restore", squad.key),
        {
            "kind": "section",
            "history_id": first.history_id,
            "field": "current_experience",
            "version": "2",
        },
        follow=True,
    )
    assert "nothing was restored" in response.content.decode()
    assert Plan.objects.get(squad=squad).current_experience == "Meanwhile."


def test_initiatives_are_restored_too_and_outsiders_may_not(client, squad, alice, bob, carol):
    tool = f.initiative(squad, "assessment-tool", title="Assessment tool")
    created = Initiative.history.get(id=tool.pk)
    values = {
        name: getattr(tool, name)
        for name in (
            "title",
            "description",
            "function",
            "stage",
            "segment",
            "starts",
            "ends",
            "headcount",
            "status",
            "impact_team",
            "impact_business",
            "impact_customer",
            "counter_measure",
        )
    }
    values["title"] = "Renamed"
    services.initiative_update(initiative=tool, values=values, by=alice, version=1)
    data = {"kind": "initiative", "history_id": created.history_id, "version": "2"}
    client.force_login(carol)
    assert client.post(url("plan_restore", squad.key), data).status_code == 403
    client.force_login(bob)
    client.post(url("plan_restore", squad.key), data)
    assert Initiative.objects.get(pk=tool.pk).title == "Assessment tool"
    assert Initiative.history.filter(id=tool.pk).count() == 3


# ---------------------------------------------------------------------------------------
# Comments and mentions
# ---------------------------------------------------------------------------------------


def test_a_mention_notifies_that_person_and_only_them(client, squad, alice, bob, carol):
    client.force_login(carol)  # anyone who reads the plan may comment
    response = client.post(
        url("section_comments", squad.key, "desired-experience"),
        {"body": "@bob can the assessment ship by Day 1? cc @alice. And @nobody, @carol."},
        headers=HX,
    )
    assert response.status_code == 200
    assert "can the assessment ship by Day 1?" in response.content.decode()
    comment = Comment.objects.get()
    assert comment.section == "desired_experience" and comment.author == carol
    notes = Notification.objects.order_by("recipient__username")
    assert [n.recipient.username for n in notes] == ["alice", "bob"]  # not the author
    note = notes[1]
    assert note.kind == Notification.Kind.MENTION and note.finding is None
    assert note.url.endswith(f"/plan/#comment-{comment.pk}")  # the comment, not its thread
    assert note.message.startswith("Carol Cruz mentioned you on First 90 Days")

    client.force_login(bob)
    page = client.get(reverse("notifications")).content.decode()
    assert "Carol Cruz mentioned you" in page and note.url in page


def test_initiative_threads_and_empty_comments(client, squad, bob):
    tool = f.initiative(squad, "assessment-tool")
    client.force_login(bob)
    thread = url("initiative_comments", squad.key, tool.key)
    response = client.post(thread, {"body": "  "}, headers=HX)
    assert "Write the comment first." in response.content.decode()
    response = client.post(thread, {"body": "Looks right."})
    assert response.status_code == 302
    assert Comment.objects.get().initiative == tool


def test_comments_need_a_sign_in(client, squad):
    response = client.post(url("section_comments", squad.key, "not-doing"), {"body": "Hi"})
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert not Comment.objects.exists()


# ---------------------------------------------------------------------------------------
# Many writers at once
# ---------------------------------------------------------------------------------------

WRITERS = 20
SAVES = 50


@pytest.mark.postgres
def test_many_writers_with_stale_versions_lose_nothing(transactional_db, settings):
    """20 threads × 50 saves of one section, each from a random, often stale, version."""
    settings.COWRITING_SHARED_CACHE = False
    with transaction.atomic():  # the DRI's membership is checked at commit
        cycle = f.cycle("fy2027")
        people = [f.person(f"writer{n}") for n in range(WRITERS)]
        squad = f.squad("busy", dri=people[0], cycle=cycle, members=people[1:])
        Plan.objects.create(squad=squad)
    accepted: list[tuple[str, int]] = []
    rejected: list[str] = []
    failures: list[BaseException] = []
    lock = threading.Lock()
    start = threading.Barrier(WRITERS)

    def write(n: int) -> None:
        rng = random.Random(n)
        try:
            start.wait()
            for i in range(SAVES):
                current = Plan.objects.values_list("current_experience_version", flat=True).get(
                    squad=squad
                )
                version = max(1, current - rng.choice([0, 0, 1, 2, 5]))
                text = f"writer {n} save {i}"
                try:
                    saved = services.plan_section_update(
                        squad=squad,
                        section="current_experience",
                        text=text,
                        by=people[n],
                        version=version,
                    )
                except versioning.Conflict as conflict:
                    assert conflict.version > version
                    with lock:
                        rejected.append(text)
                else:
                    with lock:
                        accepted.append((text, saved.current_experience_version))
                finally:
                    # Back to the pool (DATABASE_POOL_MAX connections) between saves.
                    connection.close()
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=write, args=(n,)) for n in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert not failures, failures
    assert len(accepted) + len(rejected) == WRITERS * SAVES
    assert accepted and rejected
    plan = Plan.objects.get(squad=squad)
    records = list(
        Plan.history.filter(id=plan.pk, history_type="~").order_by("current_experience_version")
    )
    # Every accepted save is in the history, once, with its author, as the version it made.
    assert sorted((r.current_experience, r.current_experience_version) for r in records) == sorted(
        accepted
    )
    assert [r.current_experience_version for r in records] == list(range(2, len(accepted) + 2))
    # Nothing written is lost: the plan holds the last accepted save, and no rejected text
    # was ever written.
    assert plan.current_experience_version == len(accepted) + 1
    assert plan.current_experience == records[-1].current_experience
    assert not {r.current_experience for r in records} & set(rejected)
    assert PlanStamp.objects.get(squad=squad).revision >= len(accepted)


def test_the_notification_page_still_shows_findings(client, squad, alice):
    from planning.models import Finding

    finding = Finding.objects.create(
        cycle=squad.cycle,
        kind="overlap",
        rule="similar_initiatives",
        severity="high",
        subjects=["squad:first-90-days"],
        identity="x",
        message="Three onboarding programmes",
        first_seen=timezone.now(),
        last_seen=timezone.now(),
    )
    Notification.objects.create(recipient=alice, finding=finding, message="Overlap found")
    client.force_login(alice)
    page = client.get(reverse("notifications")).content.decode()
    assert "Overlap found" in page and reverse("finding", args=[finding.pk]) in page
