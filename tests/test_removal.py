"""Removing and restoring, kind by kind: the confirmation page says what goes and asks where a
choice exists, the thing leaves the pages, Undo brings it back with its relations; who may,
404, 403, 405 and CSRF; refusals; a second submit; a removal racing an edit; the purge."""

from __future__ import annotations

import datetime as dt
import html
import re
import threading
from decimal import Decimal

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import close_old_connections, connection, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from api.models import ApiToken
from core import access, versioning
from core.models import PageRevision, Removal
from core.removal import Gone
from dependencies.models import Dependency
from journeys import services as journey_services
from journeys.models import Journey, Moment, Stage
from planning import removals, restores, tasks
from planning.models import Notification
from planning.planning_file.exporter import export_document
from planning.planning_file.importer import import_document
from squads import cowriting
from squads import services as squad_services
from squads.models import OKR, CheckIn, Comment, Initiative, KeyResult, SquadStage
from tests import factories as f

pytestmark = pytest.mark.django_db
User = get_user_model()


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def seen(client: Client, url: str) -> str:
    page = client.get(url)
    assert page.status_code == 200, page.status_code
    return re.search(r'name="seen" value="([^"]+)"', page.content.decode())[1]


def confirm(client: Client, url: str, **data):
    """Open the confirmation page and post its form, as a person does, and read the page it
    leads to (with the message that says what went)."""
    response = client.post(url, {"seen": seen(client, url), **data})
    if response.status_code == 302:
        client.get(response["Location"])
    return response


def text(response) -> str:
    """A page as a person reads it: its entities unescaped."""
    return html.unescape(response.content.decode())


def digest(kind: str, target) -> str:
    """What the confirmation page of this removal shows, in short (its `seen`)."""
    return removals.removal_plan(kind, target).digest


def latest_removal() -> Removal:
    return Removal.objects.order_by("-pk").first()


def undo(client: Client, removal: Removal):
    return client.post(reverse("removal_restore", args=[removal.pk]))


def stage_url(stage: Stage) -> str:
    return reverse("journeys:stage_remove", args=[stage.journey.key, stage.key])


def initiative_url(initiative: Initiative) -> str:
    return reverse("squads:initiative_remove", args=[initiative.squad.key, initiative.key])


@pytest.fixture
def covered(needing, stage):
    """First 90 Days covers the onboarding stage, which has a moment."""
    SquadStage.objects.create(squad=needing, stage=stage)
    Moment.objects.create(stage=stage, when="Day 1", offset_days=1, tomorrow="A guided start")
    return stage


@pytest.fixture
def okr(needing, cycle):
    """First 90 Days' OKR with two key results; the first has a check-in."""
    made = OKR.objects.create(squad=needing, cycle=cycle, objective="Customers reach value")
    activation = KeyResult.objects.create(
        okr=made, key="activation", name="Activation rate", baseline=20, target=30, current=20
    )
    KeyResult.objects.create(okr=made, key="ttv", name="Time to value", baseline=30, target=20,
                             direction="decrease")  # fmt: skip
    CheckIn.objects.create(key_result=activation, value=24, confidence=7, author=made.squad.dri)
    activation.current = 24
    activation.save()
    return made


# ---------------------------------------------------------------------------------------
# Stages and journeys
# ---------------------------------------------------------------------------------------


def test_a_stage_squads_cover_asks_first_then_takes_the_coverage_and_undo_puts_all_back(
    leo, needing, covered, wizard
):
    client = signed_in(leo)
    url = stage_url(covered)
    page = client.get(url).content.decode()
    assert "Squads cover this stage (First 90 Days)" in page
    assert "Its 1 moment" in page
    assert "In-app onboarding wizard (First 90 Days)" in page  # named by an initiative

    unanswered = confirm(client, url)
    assert unanswered.status_code == 200
    assert "Tick “Remove the stage and end their coverage” to go ahead" in text(unanswered)
    assert Stage.objects.filter(pk=covered.pk).exists()

    response = client.post(url, {"seen": seen(client, url), "answer": "yes"})
    assert response.status_code == 302
    assert response["Location"] == reverse("journeys:detail", args=["lifecycle"])
    assert not Stage.objects.filter(pk=covered.pk).exists()
    assert not SquadStage.objects.filter(stage=covered).exists()
    wizard.refresh_from_db()
    assert wizard.stage_id is None
    journey_map = client.get(response["Location"]).content.decode()
    assert f'id="stage-{covered.pk}"' not in journey_map
    removal = latest_removal()
    # The message has an Undo that works without script: a form posting to restore.
    assert f'action="{reverse("removal_restore", args=[removal.pk])}"' in journey_map
    assert removal.removed_by == leo and removal.kind == "stage"
    record = Stage.history.filter(id=covered.pk).latest("history_date")
    assert record.history_user == leo and record.history_change_reason == "Removed"

    assert undo(client, removal).status_code == 302
    assert Stage.objects.get(pk=covered.pk).moments.count() == 1
    cover = SquadStage.objects.get(squad=needing, stage=covered)
    assert cover.history.latest("history_date").history_user == leo
    wizard.refresh_from_db()
    assert wizard.stage_id == covered.pk
    assert f'id="stage-{covered.pk}"' in text(client.get(response["Location"]))


def test_a_journey_goes_with_its_stages_once_asked_and_a_stage_removed_before_waits_for_it(
    leo, stage
):
    journey = stage.journey
    other = f.stage(journey.key, "adoption", name="Adoption")
    client = signed_in(leo)
    first = confirm(client, stage_url(other))
    assert first.status_code == 302
    stage_removal = latest_removal()

    url = reverse("journeys:remove", args=[journey.key])
    assert "This journey has 1 stage: they go with it." in text(client.get(url))
    assert confirm(client, url).status_code == 200  # unanswered
    assert Journey.objects.filter(pk=journey.pk).exists()
    assert confirm(client, url, answer="yes")["Location"] == reverse("journeys:list")
    journey_removal = latest_removal()
    assert not Journey.objects.filter(pk=journey.pk).exists()
    assert not Stage.objects.filter(journey_id=journey.pk).exists()
    journey_link = f'href="{reverse("journeys:detail", args=[journey.key])}"'
    assert journey_link not in text(client.get(reverse("journeys:list")))

    # The stage removed on its own waits for its journey.
    refused = undo(client, stage_removal)
    assert refused.status_code == 302
    assert "Its journey was removed: restore the journey first." in text(
        client.get(reverse("removed"))
    )
    assert not Stage.objects.filter(pk=other.pk).exists()

    undo(client, journey_removal)
    assert list(Stage.objects.filter(journey=journey)) == [stage]
    undo(client, stage_removal)
    assert set(Stage.objects.filter(journey=journey)) == {stage, other}


def test_stage_and_journey_removal_is_leadership_s(client, alice, bob, carol, olga, leo, stage):
    url = stage_url(stage)
    journey_url = reverse("journeys:remove", args=[stage.journey.key])
    assert client.get(url)["Location"].startswith(reverse("login"))
    for person in (alice, bob, carol, olga):
        other = signed_in(person)
        assert other.get(url).status_code == 403
        assert other.post(url, {"seen": "x", "answer": "yes"}).status_code == 403
        assert other.get(journey_url).status_code == 403
    lead = signed_in(leo)
    assert lead.get(reverse("journeys:stage_remove", args=["lifecycle", "nope"])).status_code == 404
    assert lead.get(reverse("journeys:remove", args=["nope"])).status_code == 404
    assert lead.put(url).status_code == 405
    assert Stage.objects.filter(pk=stage.pk).exists()


def test_each_removal_page_answers_405_to_other_methods_and_404_for_nothing_there(
    leo, alice, needing, stage, wizard, dep, okr
):
    admin = User.objects.create_superuser("root", "root@example.com", "x")
    comment = cowriting.comment_add(squad=needing, section="not_doing", body="Hm", by=alice)
    key = needing.key
    pages = {
        reverse("journeys:remove", args=["lifecycle"]): reverse("journeys:remove", args=["x"]),
        stage_url(stage): reverse("journeys:stage_remove", args=["lifecycle", "x"]),
        reverse("squads:remove", args=[key]): reverse("squads:remove", args=["x"]),
        initiative_url(wizard): reverse("squads:initiative_remove", args=[key, "x"]),
        reverse("squads:kr_remove", args=[key, "ttv"]): reverse(
            "squads:kr_remove", args=[key, "x"]
        ),
        reverse("board:remove", args=[dep.key]): reverse("board:remove", args=["x"]),
        reverse("squads:comment_remove", args=[key, comment.pk]): reverse(
            "squads:comment_remove", args=[key, comment.pk + 1]
        ),
    }
    client = signed_in(admin)
    for url, missing in pages.items():
        assert client.get(url).status_code == 200, url
        assert client.put(url).status_code == 405, url
        assert client.delete(url).status_code == 405, url
        assert client.get(missing).status_code == 404, missing
        assert Client().get(url)["Location"].startswith(reverse("login")), url
    assert client.post(reverse("removed")).status_code == 405
    assert Client().get(reverse("removed"))["Location"].startswith(reverse("login"))
    assert client.post(reverse("removal_restore", args=[999])).status_code == 404
    assert Removal.objects.count() == 0


def test_removing_needs_the_csrf_token(leo, stage):
    client = Client(enforce_csrf_checks=True)
    client.force_login(leo)
    page = text(client.get(stage_url(stage)))
    digest = re.search(r'name="seen" value="([^"]+)"', page)[1]
    assert client.post(stage_url(stage), {"seen": digest}).status_code == 403
    assert Stage.objects.filter(pk=stage.pk).exists()


def test_a_key_a_removed_stage_held_is_free_and_restoring_then_says_why_it_cannot(leo, stage):
    client = signed_in(leo)
    confirm(client, stage_url(stage))
    removal = latest_removal()
    again = journey_services.stage_create(
        journey=stage.journey,
        key=stage.key,
        name="Onboarding, again",
        customer_goal="Start well",
        today="Lost",
        tomorrow="Guided",
        emotion_today=-1,
        emotion_target=1,
    )
    response = undo(client, removal)
    assert response.status_code == 302
    listed = text(client.get(reverse("removed")))
    assert "The journey has a new stage with the key “onboarding”." in listed
    assert Removal.objects.get(pk=removal.pk).restored_at is None
    assert list(Stage.objects.filter(journey=stage.journey)) == [again]


# ---------------------------------------------------------------------------------------
# Squads
# ---------------------------------------------------------------------------------------


def test_a_squad_others_need_from_asks_then_declines_their_needs_and_undo_asks_again(
    leo, alice, bob, dora, providing, assessment, dep
):
    client = signed_in(leo)
    url = reverse("squads:remove", args=[providing.key])
    page = text(client.get(url))
    assert "Other squads need 1 open dependency from Product-led Growth" in page
    assert "First 90 Days needs “Feature messaging for the wizard”" in page
    assert "Its 1 initiative: Assessment tool" in page

    assert confirm(client, url).status_code == 200
    assert Dependency.objects.get(pk=dep.pk).status == "requested"

    response = confirm(client, url, answer="yes")
    assert response["Location"] == reverse("squads:list")
    dep.refresh_from_db()
    assert dep.status == "declined"
    assert dep.note.startswith("Campaign cannot launch without it.\n\nDeclined by Leo Lang on")
    assert dep.note.endswith(": Product-led Growth was removed")
    told = Notification.objects.filter(dependency=dep, kind="dependency")
    assert set(told.values_list("recipient__username", flat=True)) == {"alice", "bob"}
    assert not Initiative.objects.filter(pk=assessment.pk).exists()
    squad_link = f'href="{reverse("squads:detail", args=[providing.key])}"'
    assert squad_link not in text(client.get(reverse("squads:list")))
    assert client.get(reverse("squads:detail", args=[providing.key])).status_code == 410
    # The declined record stays with First 90 Days; nobody answers for the removed squad.
    row = text(
        signed_in(dora).get(reverse("board:row", args=[dep.key]), headers={"HX-Request": "true"})
    )
    assert "Product-led Growth" in row and "removed" in row
    assert reverse("squads:plan", args=[providing.key]) not in row
    assert reverse("board:respond", args=[dep.key]) not in row
    assert (
        signed_in(dora)
        .post(reverse("board:respond", args=[dep.key]), {"action": "accept"})
        .status_code
        == 403
    )

    undo(client, latest_removal())
    dep.refresh_from_db()
    assert (dep.status, dep.note) == ("requested", "Campaign cannot launch without it.")
    assert Initiative.objects.filter(pk=assessment.pk).exists()
    assert squad_link in text(client.get(reverse("squads:list")))


def test_a_squad_takes_what_it_needs_off_the_board_and_undo_puts_it_back(
    leo, needing, covered, wizard, dep, okr
):
    Comment.objects.create(squad=needing, section="not_doing", author=needing.dri, body="No.")
    client = signed_in(leo)
    board = text(client.get(reverse("board:board")))
    assert "Feature messaging for the wizard" in board
    url = reverse("squads:remove", args=[needing.key])
    page = text(client.get(url))
    assert "Squads cover" not in page and "decline" not in page  # nobody needs anything of it
    assert confirm(client, url)["Location"] == reverse("squads:list")
    assert "Feature messaging for the wizard" not in text(client.get(reverse("board:board")))
    for model in (Initiative, Dependency, KeyResult, Comment):
        assert not model.objects.exists(), model
    # Its coverage is hidden with it: the stage reads as covered by nobody.
    assert "No squad" in text(client.get(reverse("journeys:detail", args=["lifecycle"])))

    undo(client, latest_removal())
    assert "Feature messaging for the wizard" in text(client.get(reverse("board:board")))
    assert Initiative.objects.get().stage == covered
    assert KeyResult.objects.count() == 2 and Comment.objects.count() == 1
    assert SquadStage.objects.filter(squad=needing, stage=covered).exists()


def test_only_leadership_removes_a_squad(alice, bob, carol, olga, needing):
    url = reverse("squads:remove", args=[needing.key])
    for person in (alice, bob, carol, olga):
        assert signed_in(person).get(url).status_code == 403
        assert signed_in(person).post(url, {"seen": "x"}).status_code == 403
    assert signed_in(alice).get(reverse("squads:remove", args=["nope"])).status_code == 404


# ---------------------------------------------------------------------------------------
# Initiatives
# ---------------------------------------------------------------------------------------


def test_an_initiative_others_depend_on_warns_and_asks_its_squad_instead_until_undone(
    dora, alice, providing, needing, wizard, assessment
):
    on_it = Dependency.objects.create(
        key="assess",
        from_initiative=wizard,
        to_initiative=assessment,
        what="The assessment results",
        due=dt.date(2027, 2, 1),
    )
    comment = cowriting.comment_add(squad=providing, initiative=assessment, body="Soon?", by=alice)
    client = signed_in(dora)
    url = initiative_url(assessment)
    page = text(client.get(url))
    assert "Other squads depend on it" in page
    assert "First 90 Days needs “The assessment results” by 1 Feb 2027" in page
    assert "1 comment on it" in page

    assert confirm(client, url)["Location"].endswith("#initiatives")
    on_it.refresh_from_db()
    assert (on_it.to_squad_id, on_it.to_initiative_id) == (providing.pk, None)
    assert not Comment.objects.filter(pk=comment.pk).exists()
    plan = text(client.get(reverse("squads:plan", args=[providing.key])))
    assert 'id="initiative-assessment"' not in plan
    record = Dependency.history.filter(id=on_it.pk).latest("history_date")
    assert record.history_change_reason.startswith("Asked of Product-led Growth")

    undo(client, latest_removal())
    on_it.refresh_from_db()
    assert (on_it.to_squad_id, on_it.to_initiative_id) == (None, assessment.pk)
    assert Comment.objects.filter(pk=comment.pk).exists()
    assert 'id="initiative-assessment"' in text(
        client.get(reverse("squads:plan", args=["product-led"]))
    )
    history = text(client.get(reverse("squads:plan_history", args=["product-led"])))
    assert re.search(
        r"Dora Diaz</strong>\s*removed\s*<a[^>]*>Initiative “Assessment tool”", history
    )
    assert re.search(
        r"Dora Diaz</strong>\s*restored\s*<a[^>]*>Initiative “Assessment tool”", history
    )


def test_an_initiative_takes_its_own_squad_s_needs_of_it(alice, needing, wizard):
    tool = f.initiative(needing, "tool", title="Assessment tool")
    own = Dependency.objects.create(
        key="own", from_initiative=wizard, to_initiative=tool, what="Tool", due=dt.date(2027, 2, 1)
    )
    client = signed_in(alice)
    page = text(client.get(initiative_url(tool)))
    assert "Other squads depend on it" not in page
    assert "its own squad's needs of it" in page
    confirm(client, initiative_url(tool))
    assert not Dependency.objects.filter(pk=own.pk).exists()
    undo(client, latest_removal())
    assert Dependency.objects.get(pk=own.pk).to_initiative == tool


def test_initiative_removal_is_its_squad_members(alice, bob, carol, dora, leo, olga, wizard, cycle):
    url = initiative_url(wizard)
    for person in (carol, dora, leo, olga):
        assert signed_in(person).get(url).status_code == 403
        assert signed_in(person).post(url, {"seen": "x"}).status_code == 403
    assert signed_in(bob).get(url).status_code == 200
    missing = reverse("squads:initiative_remove", args=["first-90-days", "nope"])
    assert signed_in(bob).get(missing).status_code == 404
    assert signed_in(bob).put(url).status_code == 405
    # A draft a cycle keeps to those working on it stays theirs.
    cycle.restrict_drafts = True
    cycle.save()
    assert signed_in(carol).get(url).status_code == 403
    assert signed_in(bob).get(url).status_code == 200


# ---------------------------------------------------------------------------------------
# Key results, dependencies and comments
# ---------------------------------------------------------------------------------------


def test_the_only_key_result_of_an_okr_is_refused(alice, needing, cycle):
    okr = OKR.objects.create(squad=needing, cycle=cycle, objective="Value")
    only = KeyResult.objects.create(okr=okr, key="activation", name="Activation")
    client = signed_in(alice)
    url = reverse("squads:kr_remove", args=[needing.key, only.key])
    page = text(client.get(url))
    assert "This is the only key result of the squad's OKR" in page
    assert 'name="seen"' not in page  # nothing to confirm
    response = client.post(url, {"seen": removals.key_result_removal(only).digest})
    assert "This is the only key result of the squad's OKR" in text(response)
    assert KeyResult.objects.filter(pk=only.pk).exists()


def test_a_key_result_goes_with_its_check_ins_and_comes_back_with_them(alice, needing, okr):
    client = signed_in(alice)
    activation = okr.key_results.get(key="activation")
    url = reverse("squads:kr_remove", args=[needing.key, "activation"])
    assert "Its 1 check-in" in text(client.get(url))
    assert confirm(client, url)["Location"].endswith("#okr")
    squad_page = text(client.get(reverse("squads:detail", args=[needing.key])))
    assert "Activation rate" not in squad_page and "Time to value" in squad_page
    undo(client, latest_removal())
    activation.refresh_from_db()
    assert activation.current == Decimal(24)
    assert list(activation.check_ins.values_list("value", flat=True)) == [Decimal(24)]
    assert "Activation rate" in text(client.get(reverse("squads:detail", args=[needing.key])))


def test_key_result_removal_is_the_dri_s_and_leadership_s(alice, bob, carol, leo, needing, okr):
    url = reverse("squads:kr_remove", args=[needing.key, "ttv"])
    for person in (bob, carol):
        assert signed_in(person).get(url).status_code == 403
    assert signed_in(leo).get(url).status_code == 200
    assert signed_in(alice).get(url).status_code == 200


def test_a_dependency_leaves_the_board_its_exports_and_both_plans_until_undone(
    bob, dora, olga, carol, dep, needing, providing
):
    for person in (dora, carol):  # the provider answers it; only the needing side removes it
        assert signed_in(person).get(reverse("board:remove", args=[dep.key])).status_code == 403
    assert signed_in(olga).get(reverse("board:remove", args=[dep.key])).status_code == 200
    client = signed_in(bob)
    csv = reverse("board:export_csv")
    assert confirm(client, reverse("board:remove", args=[dep.key])).status_code == 302
    assert "Feature messaging" not in b"".join(client.get(csv).streaming_content).decode()
    for squad in (needing, providing):
        assert "Feature messaging" not in text(client.get(reverse("squads:plan", args=[squad.key])))
    undo(client, latest_removal())
    dep.refresh_from_db()
    assert (dep.status, dep.removal_id) == ("requested", None)
    assert "Feature messaging" in b"".join(client.get(csv).streaming_content).decode()


def test_an_accepted_dependency_warns_that_its_provider_will_no_longer_see_it(bob, dep):
    dep.status = "accepted"
    dep.save()
    page = text(signed_in(bob).get(reverse("board:remove", args=[dep.key])))
    assert "Product-led Growth accepted it" in page


def test_a_comment_is_its_author_s_to_remove_and_only_they_see_the_link(
    alice, bob, carol, needing, settings
):
    admin = User.objects.create_superuser("root", "root@example.com", "x")
    comment = cowriting.comment_add(squad=needing, section="not_doing", body="Why not?", by=bob)
    url = reverse("squads:comment_remove", args=[needing.key, comment.pk])
    link = f'href="{url}"'

    def link_shown(person) -> bool:
        page = text(signed_in(person).get(reverse("squads:plan", args=[needing.key])))
        tag = re.search(rf"<a [^>]*{re.escape(link)}[^>]*>", page).group(0)
        return "hidden" not in tag

    # From the one rendering the cache keeps: the author and an administrator see it.
    assert [link_shown(p) for p in (bob, alice, carol, admin)] == [True, False, False, True]
    for person in (alice, carol):
        assert signed_in(person).get(url).status_code == 403
    assert signed_in(admin).get(url).status_code == 200
    client = signed_in(bob)
    assert confirm(client, url)["Location"].endswith("#comments-not-doing")
    assert "Why not?" not in text(client.get(reverse("squads:plan", args=[needing.key])))
    undo(client, latest_removal())
    assert "Why not?" in text(client.get(reverse("squads:plan", args=[needing.key])))
    missing = reverse("squads:comment_remove", args=[needing.key, comment.pk + 100])
    assert client.get(missing).status_code == 404


# ---------------------------------------------------------------------------------------
# Twice, and racing an edit
# ---------------------------------------------------------------------------------------


def test_a_second_submit_of_a_removal_removes_once_and_says_so(alice, wizard):
    client = signed_in(alice)
    url = initiative_url(wizard)
    data = {"seen": seen(client, url)}
    assert client.post(url, data).status_code == 302
    again = client.post(url, data, follow=True)
    assert "was removed already, by Alice Archer" in text(again)
    assert Removal.objects.count() == 1


def test_a_second_undo_restores_once_and_says_so(alice, wizard):
    client = signed_in(alice)
    confirm(client, initiative_url(wizard))
    removal = latest_removal()
    undo(client, removal)
    version = Initiative.objects.get(pk=wizard.pk).version
    again = client.post(reverse("removal_restore", args=[removal.pk]), follow=True)
    assert "is back already" in text(again)
    assert Initiative.objects.get(pk=wizard.pk).version == version


def test_restoring_needs_a_post_with_its_csrf_token(alice, wizard):
    confirm(signed_in(alice), initiative_url(wizard))
    url = reverse("removal_restore", args=[latest_removal().pk])
    assert signed_in(alice).get(url).status_code == 405
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(alice)
    assert strict.post(url).status_code == 403
    assert not Initiative.objects.filter(pk=wizard.pk).exists()


def test_an_edit_posted_after_the_removal_changes_nothing_and_gives_the_text_back(
    alice, bob, wizard
):
    editor = signed_in(bob)
    edit = reverse("squads:initiative_edit", args=[wizard.squad.key, wizard.key])
    version = f.shown_version(editor, edit)
    confirm(signed_in(alice), initiative_url(wizard))
    data = {
        "title": "Wizard, rewritten while it went",
        "description": "Every word of this",
        "function": "Product",
        "starts": "2027-01-04",
        "ends": "2027-03-31",
        "headcount": "1",
        "status": "planned",
        "version": version,
    }
    response = editor.post(edit, data)
    assert response.status_code == 410
    assert "This initiative was removed by Alice Archer" in text(response)
    assert "Every word of this" in text(response) and "Nothing you sent was saved" in text(response)
    htmx = editor.post(edit, data, headers={"HX-Request": "true"})
    assert htmx.status_code == 410 and htmx["HX-Retarget"] == "#alerts"
    row = Initiative.everything.get(pk=wizard.pk)
    assert row.title == "In-app onboarding wizard" and row.removal_id is not None


def test_a_save_from_before_the_removal_never_brings_it_back(alice, wizard, stage):
    stale = Initiative.objects.get(pk=wizard.pk)
    removals.initiative_remove(
        initiative=wizard, by=alice, seen=removals.initiative_removal(wizard).digest
    )
    values = {
        name: getattr(stale, name) for name in squad_services.InitiativeFields.__annotations__
    }
    values["title"] = "Saved by a tab left open"
    with pytest.raises(Gone):
        squad_services.initiative_update(
            initiative=stale, values=values, by=alice, version=stale.version
        )
    row = Initiative.everything.get(pk=wizard.pk)
    assert row.title == "In-app onboarding wizard" and row.removal_id is not None


def test_edits_of_a_journey_or_a_squad_reaching_it_after_its_removal_write_nothing(
    leo, carol, stage, needing
):
    journey = stage.journey
    shown = journey_services.journey_version(journey, [])
    removals.journey_remove(journey=journey, by=leo, seen=digest("journey", journey), answered=True)
    with pytest.raises(Gone):
        journey_services.journey_update(journey=journey, version=shown, name="Renamed meanwhile")
    with pytest.raises(Gone):
        journey_services.stage_move(stage=stage, direction="left")
    assert Journey.everything.get(pk=journey.pk).name == "lifecycle"

    removals.squad_remove(squad=needing, by=leo, seen=digest("squad", needing))
    with pytest.raises(Gone):
        squad_services.membership_add(squad=needing, person=carol, function="Marketing", by=leo)
    assert not needing.memberships.filter(person=carol).exists()


def test_a_removal_confirmed_after_someone_edited_it_shows_the_change_first(alice, bob, wizard):
    client = signed_in(alice)
    url = initiative_url(wizard)
    digest = seen(client, url)
    current = Initiative.objects.get(pk=wizard.pk)
    values = {n: getattr(current, n) for n in squad_services.InitiativeFields.__annotations__}
    values["title"] = "Wizard, renamed meanwhile"
    squad_services.initiative_update(
        initiative=current, values=values, by=bob, version=current.version
    )
    response = client.post(url, {"seen": digest})
    assert response.status_code == 200
    assert "Something here changed since this page was drawn" in text(response)
    assert "Wizard, renamed meanwhile" in text(response)
    assert Initiative.objects.filter(pk=wizard.pk).exists()


def _race(initiative: Initiative, by) -> dict[str, object]:
    """A removal and an edit of `initiative`, both from the version they read, let go at
    once from two threads; how each ended."""
    digest = removals.initiative_removal(initiative).digest
    values = {n: getattr(initiative, n) for n in squad_services.InitiativeFields.__annotations__}
    values["title"] = "Wizard, edited"
    start = threading.Barrier(2)
    result: dict[str, object] = {}

    def remove() -> None:
        try:
            start.wait()
            removals.initiative_remove(initiative=initiative, by=by, seen=digest)
            result["remove"] = "done"
        except ValidationError as refused:
            result["remove"] = refused.code
        finally:
            connection.close()

    def edit() -> None:
        try:
            start.wait()
            squad_services.initiative_update(
                initiative=Initiative.objects.get(pk=initiative.pk),
                values=values,
                by=by,
                version=initiative.version,
            )
            result["edit"] = "done"
        except (Gone, versioning.Conflict) as refused:
            result["edit"] = type(refused).__name__
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=remove), threading.Thread(target=edit)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return result


@pytest.mark.postgres
def test_a_removal_and_an_edit_at_once_never_lose_the_edit_nor_bring_it_back(transactional_db):
    """Both start from the same version; whichever commits first, the other is refused, so
    an edit is never written into a removed initiative unseen, nor a removal made of a text
    its remover never saw."""
    for attempt in range(6):
        with transaction.atomic():  # the DRI's membership is checked at commit
            alice = f.person(f"alice{attempt}")
            squad = f.squad(f"squad-{attempt}", dri=alice, cycle=f.cycle(f"c{attempt}"))
        initiative = f.initiative(squad, "wizard", title="Wizard")
        result = _race(initiative, alice)
        row = Initiative.everything.get(pk=initiative.pk)
        if result["remove"] == "done":
            assert result["edit"] in ("Gone", "Conflict")
            assert row.removal_id is not None and row.title == "Wizard"
        else:
            assert result == {"remove": removals.CHANGED, "edit": "done"}
            assert row.removal_id is None and row.title == "Wizard, edited"


# ---------------------------------------------------------------------------------------
# Open pages, Recently removed, a removed thing's address, the purge
# ---------------------------------------------------------------------------------------


@pytest.mark.postgres
def test_removing_and_restoring_move_the_open_plans_and_the_board(dora, providing, needing, dep):
    def moved() -> tuple:
        revisions = dict(PageRevision.objects.values_list("scope", "value"))
        return (
            cowriting.stamp(providing.pk).revision,
            cowriting.stamp(needing.pk).revision,
            revisions.get("board"),
            revisions.get(f"squad:{providing.pk}"),
        )

    client = signed_in(dora)
    assessment = f.initiative(providing, "assessment", title="Assessment tool")
    dep.to_squad, dep.to_initiative = None, assessment
    dep.save()
    before = moved()
    confirm(client, initiative_url(assessment))
    removed = moved()
    assert all(a != b for a, b in zip(before, removed, strict=True)), (before, removed)
    undo(client, latest_removal())
    assert all(a != b for a, b in zip(removed, moved(), strict=True))


def test_an_open_plan_drops_a_removed_initiative_and_tells_whoever_was_editing_it(
    alice, bob, wizard
):
    poll = reverse("squads:plan_live", args=[wizard.squad.key])
    token = cowriting.poll_token(user_id=bob.pk, squad_id=wizard.squad_id)
    client = signed_in(bob)
    etag = client.get(poll, {"t": token, "since": ""}).json()["etag"]
    confirm(signed_in(alice), initiative_url(wizard))
    payload = client.get(poll, {"t": token, "since": etag, "editing": "initiative-wizard"}).json()
    parts = {part["id"]: part for part in payload["parts"]}
    assert 'id="initiative-wizard"' not in parts["initiatives"]["html"]
    notice = html.unescape(parts["initiative-wizard"]["incoming"])
    assert "Alice Archer</strong> removed this initiative" in notice
    assert "saving it will not bring the initiative back" in notice


def test_recently_removed_lists_what_each_person_may_restore_and_nothing_else(
    alice, bob, carol, dora, pete, olga, leo, needing, providing, stage, wizard, assessment, dep
):
    comment = cowriting.comment_add(squad=needing, section="not_doing", body="Hm", by=carol)
    made = [
        removals.comment_remove(comment=comment, by=carol, seen=digest("comment", comment)),
        removals.dependency_remove(dependency=dep, by=bob, seen=digest("dependency", dep)),
        removals.initiative_remove(
            initiative=assessment, by=dora, seen=digest("initiative", assessment)
        ),
        removals.stage_remove(stage=stage, by=leo, seen=digest("stage", stage)),
    ]
    admin = User.objects.create_superuser("root", "root@example.com", "x")
    for person in (alice, bob, carol, dora, pete, olga, leo, admin):
        client = signed_in(person)
        listed = {
            int(pk)
            for pk in re.findall(r'id="removal-(\d+)"', text(client.get(reverse("removed"))))
        }
        actor = access.Actor(
            user=person, groups=frozenset(person.groups.values_list("name", flat=True))
        )
        allowed = {r.pk for r in made if access.can_restore(actor, r)}
        assert listed == allowed, person
        for removal in made:
            if removal.pk not in allowed:
                assert undo(client, removal).status_code == 404
    assert {r.pk for r in made if access.can_restore(access.Actor(user=carol), r)} == {made[0].pk}
    assert Initiative.objects.filter(pk=assessment.pk).exists() is False


@pytest.mark.parametrize("count", [3, 30])
def test_recently_removed_costs_the_same_queries_for_3_or_30_removals(
    count, alice, needing, django_assert_max_num_queries
):
    for n in range(count):
        comment = cowriting.comment_add(squad=needing, section="not_doing", body=f"#{n}", by=alice)
        removals.comment_remove(comment=comment, by=alice, seen=digest("comment", comment))
    client = signed_in(alice)
    client.get(reverse("removed"))  # the session and the caches, once
    with django_assert_max_num_queries(5):
        page = text(client.get(reverse("removed")))
    assert page.count("Restore a comment by Alice Archer") == count


def test_a_removed_things_addresses_say_who_removed_it(alice, bob, wizard):
    confirm(signed_in(alice), initiative_url(wizard))
    response = signed_in(bob).get(initiative_url(wizard))
    assert response.status_code == 410
    assert "This initiative was removed by Alice Archer on" in text(response)


def test_the_planning_file_leaves_removed_things_out_and_importing_never_brings_them_back(
    dora, providing, assessment, dep
):
    before = export_document()
    removals.initiative_remove(
        initiative=assessment, by=dora, seen=digest("initiative", assessment)
    )
    removal = latest_removal()
    (squad,) = [s for s in export_document()["squads"] if s["key"] == providing.key]
    assert squad["initiatives"] == []
    # The file from before names the initiative: importing it makes a new one with the key.
    report = import_document(before)
    assert report.created["initiatives"] == 1
    made = Initiative.objects.get(squad=providing, key=assessment.key)
    assert made.pk != assessment.pk
    assert Initiative.everything.get(pk=assessment.pk).removal_id == removal.pk
    with pytest.raises(ValidationError, match="a new initiative with the key “assessment”"):
        restores.removal_restore(removal=removal, by=dora)


def test_the_api_answers_for_a_removed_initiative_as_for_none(bob, wizard):
    _row, token = ApiToken.issue(user=bob, name="tests")
    api = Client(headers={"authorization": f"Bearer {token}"})
    detail = reverse("api:initiative_detail", args=[wizard.squad.key, wizard.key])
    assert api.get(detail).status_code == 200

    def listed() -> set[str]:
        return {item["key"] for item in api.get(reverse("api:initiative_list")).json()["items"]}

    assert wizard.key in listed()
    removals.initiative_remove(initiative=wizard, by=bob, seen=digest("initiative", wizard))
    assert api.get(detail).status_code == 404
    body = {"title": "Back?", "function": "Product", "starts": "2027-01-04", "ends": "2027-03-31"}
    update = reverse("api:initiative_update", args=[wizard.squad.key, wizard.key])
    assert api.put(update, body, content_type="application/json").status_code == 404
    assert wizard.key not in listed()
    assert Initiative.everything.get(pk=wizard.pk).title == "In-app onboarding wizard"


def test_the_purge_deletes_what_is_past_its_keeping_and_nothing_else(
    alice, leo, needing, providing, wizard, assessment, dep, stage
):
    # First 90 Days itself needs people from Product-led Growth.
    people = Dependency.objects.create(
        key="people",
        from_squad=needing,
        to_squad=providing,
        what="Two people",
        due=dt.date(2027, 3, 1),
    )
    old = removals.initiative_remove(
        initiative=wizard, by=alice, seen=removals.initiative_removal(wizard).digest
    )
    kept_by_others = removals.squad_remove(
        squad=providing, by=leo, seen=removals.squad_removal(providing).digest, answered=True
    )
    removals.stage_remove(stage=stage, by=leo, seen=removals.stage_removal(stage).digest)
    long_ago = timezone.now() - dt.timedelta(days=settings.REMOVAL_KEEP_DAYS + 1)
    Removal.objects.filter(pk__in=[old.pk, kept_by_others.pk]).update(removed_at=long_ago)

    assert tasks.purge_removals() == 1
    assert not Initiative.everything.filter(pk=wizard.pk).exists()
    assert not Dependency.everything.filter(pk=dep.pk).exists()  # the wizard needed it
    assert Removal.objects.get(pk=old.pk).purged_at is not None
    # Another squad's declined dependency still names Product-led Growth: kept, restorable.
    assert Dependency.objects.get(pk=people.pk).status == "declined"
    assert Removal.objects.get(pk=kept_by_others.pk).purged_at is None
    assert Initiative.everything.filter(pk=assessment.pk).exists()
    assert Stage.everything.filter(pk=stage.pk).exists()
    assert tasks.purge_removals() == 0
    with pytest.raises(ValidationError, match="deleted for good"):
        restores.removal_restore(removal=Removal.objects.get(pk=old.pk), by=alice)
    restores.removal_restore(removal=kept_by_others, by=leo)
    assert Initiative.objects.filter(pk=assessment.pk).exists()
    assert Dependency.objects.get(pk=people.pk).status == "requested"


def test_the_purge_runs_each_night():
    entry = settings.CELERY_BEAT_SCHEDULE["purge-removals"]
    assert entry["task"] == "planning.tasks.purge_removals"
    assert entry["task"] == tasks.purge_removals.name
