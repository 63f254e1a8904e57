"""A plan's comments after they are written: their author edits them (the texts they had stay
reachable, a stale page does not overwrite a newer text), removes them (the thread says a
comment was removed, and it can be restored), and the squad's members resolve a thread and
open it again. Over HTMX and as plain pages."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from planning import removals, restores
from planning.models import Notification
from squads import cowriting
from squads.models import Comment
from tests import factories as f

pytestmark = pytest.mark.django_db
HX = {"HX-Request": "true"}
SECTION = "desired-experience"


@pytest.fixture
def comment(needing, bob):
    return cowriting.comment_add(
        squad=needing, body="Day 1 reads well.", by=bob, section="desired_experience"
    )


def signed_in(person) -> Client:
    client = Client()
    client.force_login(person)
    return client


def edit_url(comment) -> str:
    return reverse("squads:comment_edit", args=[comment.squad.key, comment.pk])


def resolve_url(comment) -> str:
    return reverse("squads:comment_resolve", args=[comment.squad.key, comment.pk])


def thread_of(content: str, part: str = SECTION) -> str:
    found = re.search(
        rf'<details class="comments[^"]*" id="comments-{part}".*?</details>', content, re.S
    )
    assert found, part
    return found.group(0)


def plan_thread(client: Client, part: str = SECTION) -> str:
    return thread_of(
        client.get(reverse("squads:plan", args=["first-90-days"])).content.decode(), part
    )


# --- editing ------------------------------------------------------------------------------


def test_the_author_edits_in_the_thread_and_the_texts_it_had_stay_reachable(comment, bob, alice):
    client = signed_in(bob)
    form = client.get(edit_url(comment), headers=HX).content.decode()
    assert 'name="body"' in form and "Day 1 reads well." in form
    assert f'name="version" value="{comment.version}"' in form

    saved = client.post(
        edit_url(comment),
        {"body": "Day 1 reads well; Day 2 <b>too</b>.", "version": "1"},
        headers=HX,
    ).content.decode()
    thread = thread_of(saved)
    assert "Day 1 reads well; Day 2 &lt;b&gt;too&lt;/b&gt;." in thread
    assert "<b>too</b>" not in thread
    history_url = reverse("squads:comment_history", args=["first-90-days", comment.pk])
    assert f'href="{history_url}"' in thread and ">edited</a>" in thread

    # Anyone who reads the plan sees the mark and the texts it had, newest first.
    texts = signed_in(alice).get(history_url).content.decode()
    now, before = texts.index("Day 1 reads well; Day 2"), texts.index("Day 1 reads well.")
    assert now < before
    assert "&lt;b&gt;too&lt;/b&gt;" in texts and "<b>too</b>" not in texts
    assert ">edited</a>" in plan_thread(signed_in(alice))


def test_without_script_the_edit_is_a_page_and_saving_returns_to_the_comment(comment, bob):
    client = signed_in(bob)
    page = client.get(edit_url(comment)).content.decode()
    assert "<html" in page and "Edit your comment" in page
    saved = client.post(edit_url(comment), {"body": "Reads well.", "version": "1"})
    assert saved.status_code == 302
    assert saved["Location"].endswith(f"/squads/first-90-days/plan/#comment-{comment.pk}")
    comment.refresh_from_db()
    assert comment.body == "Reads well." and comment.edited_at is not None


def test_an_edit_from_a_stale_page_does_not_overwrite_the_newer_text(comment, bob):
    client = signed_in(bob)
    client.post(edit_url(comment), {"body": "Second thoughts.", "version": "1"})
    stale = client.post(
        edit_url(comment), {"body": "From the old tab.", "version": "1"}, headers=HX
    ).content.decode()
    comment.refresh_from_db()
    assert comment.body == "Second thoughts."
    assert "was changed after you opened it" in stale
    assert "Second thoughts." in stale and "From the old tab." in stale  # theirs and the draft
    assert f'name="version" value="{comment.version}"' in stale
    # Saved again knowing the newer text: it is replaced.
    client.post(edit_url(comment), {"body": "From the old tab.", "version": str(comment.version)})
    comment.refresh_from_db()
    assert comment.body == "From the old tab."


def test_bad_input_says_so_and_changes_nothing(comment, bob):
    client = signed_in(bob)
    for body, says in (("   ", "Write the comment first."), ("x" * 5001, "5000 characters")):
        response = client.post(edit_url(comment), {"body": body, "version": "1"}, headers=HX)
        assert says in response.content.decode()
    comment.refresh_from_db()
    assert comment.body == "Day 1 reads well." and comment.version == 1


def test_only_the_author_edits_and_other_squads_ids_are_refused(
    comment, needing, alice, carol, cycle
):
    for person in (alice, carol):  # the DRI, an outsider
        client = signed_in(person)
        assert client.get(edit_url(comment)).status_code == 403
        assert (
            client.post(edit_url(comment), {"body": "Mine now", "version": "1"}).status_code == 403
        )
    other = f.squad("other-squad", dri=carol, cycle=cycle)
    for name in ("comment_edit", "comment_history", "comment_resolve"):
        url = reverse(f"squads:{name}", args=[other.key, comment.pk])
        method = "post" if name == "comment_resolve" else "get"
        assert getattr(signed_in(carol), method)(url).status_code == 404
    comment.refresh_from_db()
    assert comment.body == "Day 1 reads well."
    assert signed_in(carol).delete(edit_url(comment)).status_code == 405


def test_editing_tells_only_whom_the_new_text_names_for_the_first_time(
    comment, bob, needing, alice, carol, dora
):
    client = signed_in(bob)
    comment_url = reverse("squads:section_comments", args=["first-90-days", SECTION])
    client.post(comment_url, {"body": "@alice what do you think?"})
    mentioned = Comment.objects.get(body="@alice what do you think?")
    assert Notification.objects.filter(recipient=alice).count() == 1
    client.post(edit_url(mentioned), {"body": "@alice what do you think, really?", "version": "1"})
    assert Notification.objects.filter(recipient=alice).count() == 1  # not told again
    client.post(
        edit_url(mentioned), {"body": "@alice and @carol, what do you think?", "version": "2"}
    )
    assert Notification.objects.filter(recipient=alice).count() == 1
    told = Notification.objects.get(recipient=carol)
    assert told.message.endswith("“@alice and @carol, what do you think?”")
    assert told.url.endswith(f"#comment-{mentioned.pk}")
    # Dropped, then named again: told once is enough.
    client.post(edit_url(mentioned), {"body": "@alice, what do you think?", "version": "3"})
    client.post(edit_url(mentioned), {"body": "@carol, @alice: thoughts?", "version": "4"})
    assert Notification.objects.filter(recipient=carol).count() == 1
    assert Notification.objects.filter(recipient=alice).count() == 1
    mentioned.refresh_from_db()
    assert mentioned.body == "@carol, @alice: thoughts?"


def test_changes_need_the_csrf_token(comment, bob):
    client = Client(enforce_csrf_checks=True)
    client.force_login(bob)
    assert client.post(edit_url(comment), {"body": "x", "version": "1"}).status_code == 403
    assert client.post(resolve_url(comment), {"resolved": "yes"}).status_code == 403
    comment.refresh_from_db()
    assert comment.body == "Day 1 reads well." and comment.resolved_at is None


def test_the_edit_link_shows_to_the_author_alone(comment, bob, alice):
    link = re.compile(r'<a class="comment__edit small"[^>]*>Edit</a>', re.S)
    mine = link.search(plan_thread(signed_in(bob))).group(0)
    theirs = link.search(plan_thread(signed_in(alice))).group(0)
    assert " hidden" not in mine and " hidden" in theirs


# --- removing -----------------------------------------------------------------------------


def test_a_removed_comment_leaves_a_mark_in_its_thread_and_can_be_restored(comment, bob, alice):
    cowriting.comment_add(
        squad=comment.squad, body="Agreed.", by=alice, section="desired_experience"
    )
    plan = removals.comment_removal(comment)
    removal = removals.comment_remove(comment=comment, by=bob, seen=plan.digest)
    thread = plan_thread(signed_in(alice))
    assert "Comment removed." in thread and "Day 1 reads well." not in thread
    assert '<span class="comments__count">1</span>' in thread
    # Its address answers that it is gone; its edit too.
    assert signed_in(bob).get(edit_url(comment)).status_code == 410
    restores.removal_restore(removal=removal, by=bob)
    thread = plan_thread(signed_in(alice))
    assert "Comment removed." not in thread and "Day 1 reads well." in thread


# --- resolving ----------------------------------------------------------------------------


def test_a_member_resolves_a_thread_which_folds_saying_who_and_reopens(comment, alice, bob, carol):
    assert "Resolve the thread" not in plan_thread(signed_in(carol))
    assert signed_in(carol).post(resolve_url(comment), {"resolved": "yes"}).status_code == 403

    response = signed_in(alice).post(resolve_url(comment), {"resolved": "yes"}, headers=HX)
    thread = response.content.decode()
    assert thread.startswith('<details class="comments no-print comments--resolved"')
    assert " open>" not in thread.split("\n", 1)[0]  # folded
    assert "Resolved by Alice Archer" in thread and "Reopen the thread" in thread
    # Everyone reading the plan sees it resolved.
    assert "Resolved by Alice Archer" in plan_thread(signed_in(carol))

    # Someone adding to it opens it again.
    cowriting.comment_add(
        squad=comment.squad, body="One more thing.", by=carol, section="desired_experience"
    )
    assert "Resolved by" not in plan_thread(signed_in(carol))

    # Reopening without script: back to the plan at the thread.
    signed_in(bob).post(resolve_url(comment), {"resolved": "yes"})
    reopened = signed_in(bob).post(resolve_url(comment), {"resolved": "no"})
    assert reopened.status_code == 302 and reopened["Location"].endswith(f"#comments-{SECTION}")
    assert "Resolved by" not in plan_thread(signed_in(carol))
    assert signed_in(bob).post(resolve_url(comment), {"resolved": "maybe"}).status_code == 400
