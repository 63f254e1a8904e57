"""No acknowledged save leaves the text unseen.

The property people rely on when they co-write: words someone saved and was told were saved
leave the current text only through a later save whose author was shown them, in the editor
or in the conflict view. Two ways it broke: an editor read its text and its version in two
reads (a save landing between them gave a form with the old text and the new version, whose
save then passed), and a form without a version was saved blindly. The HTTP stress test
(tests/test_cowriting_http.py) checks the property end to end; these pin each cause.
"""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from django.urls import reverse

from core import versioning
from dependencies import services as dependency_services
from dependencies.models import Dependency
from journeys.models import Moment
from planning.models import Notification
from planning.plan import views
from squads import services
from squads.forms import InitiativeForm
from squads.models import OKR, Comment, KeyResult, Plan
from tests import factories as f

HX = {"HX-Request": "true"}
VALUE_FIELDS = [name for name in InitiativeForm.VALUE_FIELDS if name not in ("stage", "segment")]
ORIGINAL = "New customers are overwhelmed."
THEIRS = "New customers are overwhelmed. Alice's words."


@pytest.fixture
def squad(needing):
    """The shared needing squad (Alice's, with Bob), with an OKR and a plan."""
    made = needing
    okr = OKR.objects.create(squad=made, cycle=made.cycle, objective="Customers reach value")
    KeyResult.objects.create(okr=okr, key="activation", name="Activation", target=40)
    Plan.objects.create(squad=made, current_experience=ORIGINAL, not_doing=["Webinars"])
    return made


def shown(response) -> tuple[str, str]:
    """The version the editor's form carries, and the page as text."""
    page = response.content.decode()
    return re.search(r'name="version" value="([^"]*)"', page)[1], page


def save_lands_after_first_call(monkeypatch, name: str, save) -> None:
    """Someone else's save lands right after `views.<name>` first reads the row."""
    original = getattr(views, name)
    calls = []

    def reading(*args, **kwargs):
        found = original(*args, **kwargs)
        if not calls:
            calls.append(1)
            save()
        return found

    monkeypatch.setattr(views, name, reading)


# ---------------------------------------------------------------------------------------
# The editor's text and version come from one read
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("htmx", [True, False], ids=["htmx", "plain-page"])
def test_a_section_editor_opened_as_someone_saves_cannot_drop_their_words(
    client, squad, alice, bob, monkeypatch, htmx
):
    def alice_saves():
        plan = Plan.objects.get(squad=squad)
        services.plan_section_update(
            squad=squad,
            section="current_experience",
            text=THEIRS,
            by=alice,
            version=plan.current_experience_version,
        )

    save_lands_after_first_call(monkeypatch, "plan_for", alice_saves)
    client.force_login(bob)
    edit = reverse("squads:plan_section_edit", args=[squad.key, "current-experience"])
    headers = HX if htmx else {}
    version, page = shown(client.get(edit, headers=headers))
    assert f"{ORIGINAL}</textarea>" in page  # Bob opened the text from before Alice's save
    response = client.post(edit, {"text": ORIGINAL + " Bob's words.", "version": version})
    assert response.status_code == 200  # the conflict view, not a redirect
    assert "Alice Archer</strong> saved this section" in response.content.decode()
    assert Plan.objects.get(squad=squad).current_experience == THEIRS


def test_a_not_doing_editor_opened_as_someone_saves_cannot_drop_their_lines(
    client, squad, alice, bob, monkeypatch
):
    def alice_saves():
        plan = Plan.objects.get(squad=squad)
        services.not_doing_update(
            squad=squad, items=["Webinars", "Paid ads"], by=alice, version=plan.not_doing_version
        )

    save_lands_after_first_call(monkeypatch, "plan_for", alice_saves)
    client.force_login(bob)
    edit = reverse("squads:plan_section_edit", args=[squad.key, "not-doing"])
    version, page = shown(client.get(edit, headers=HX))
    assert 'value="Paid ads"' not in page
    data = {"count": "2", "line_0": "Webinars", "line_1": "Trade shows", "version": version}
    response = client.post(edit, data, headers=HX)
    assert "Alice Archer</strong> saved this list" in response.content.decode()
    assert Plan.objects.get(squad=squad).not_doing == ["Webinars", "Paid ads"]


def test_an_initiative_editor_on_the_plan_page_cannot_drop_a_save_it_never_showed(
    client, squad, alice, bob, monkeypatch
):
    tool = f.initiative(squad, "tool", title="Assessment tool")

    def alice_saves():
        current = type(tool).objects.get(pk=tool.pk)
        values = {name: getattr(current, name) for name in VALUE_FIELDS}
        services.initiative_update(
            initiative=current,
            values={**values, "title": "Alice's assessment tool"},
            by=alice,
            version=current.version,
        )

    save_lands_after_first_call(monkeypatch, "initiative_or_404", alice_saves)
    client.force_login(bob)
    edit = reverse("squads:initiative_edit", args=[squad.key, tool.key])
    version, page = shown(client.get(edit))  # the whole plan page, this initiative open
    assert 'value="Assessment tool"' in page
    data = {
        "title": "Bob's assessment tool",
        "function": tool.function,
        "starts": tool.starts.isoformat(),
        "ends": tool.ends.isoformat(),
        "headcount": "1",
        "status": tool.status,
        "version": version,
    }
    response = client.post(edit, data, headers=HX)
    assert "Alice Archer</strong> saved this initiative" in response.content.decode()
    assert type(tool).objects.get(pk=tool.pk).title == "Alice's assessment tool"


# ---------------------------------------------------------------------------------------
# A save without a version it can be checked against meets the conflict view
# ---------------------------------------------------------------------------------------

NO_USABLE_VERSION = [None, "", "two", "-1", "0", "1.0", "99999999999999999999", "١"]


@pytest.mark.parametrize("version", NO_USABLE_VERSION)
def test_a_section_save_without_a_usable_version_overwrites_nothing(client, squad, bob, version):
    client.force_login(bob)
    data = {"text": "Bob's text"} | ({} if version is None else {"version": version})
    edit = reverse("squads:plan_section_edit", args=[squad.key, "current-experience"])
    response = client.post(edit, data, headers=HX)
    page = response.content.decode()
    assert response.status_code == 200
    assert "saved this section" in page and "your draft is kept" in page
    assert "Bob&#x27;s text" in page  # the draft comes back to its author
    assert Plan.objects.get(squad=squad).current_experience == ORIGINAL
    # Having seen the text as it is, saving again is deliberate and goes through.
    again, _ = shown(response)
    client.post(edit, {"text": "Bob's text", "version": again}, headers=HX)
    assert Plan.objects.get(squad=squad).current_experience == "Bob's text"


@pytest.mark.parametrize("version", [None, "junk"])
def test_every_versioned_editor_refuses_a_save_without_a_usable_version(
    client, squad, alice, bob, leo, version
):
    other = f.squad("other", dri=f.person("dave"), cycle=squad.cycle)
    dep = dependency_services.dependency_create(
        by=alice, from_squad=squad, to_squad=other, what="Messaging", due=dt.date(2027, 2, 1)
    )
    tool = f.initiative(squad, "tool", title="Assessment tool")
    kr = KeyResult.objects.get(okr__squad=squad)
    stage = f.stage()
    moment = Moment.objects.create(stage=stage, when="Day 1", offset_days=1, tomorrow="Welcomed")
    posts = [
        (
            bob,
            reverse("squads:plan_section_edit", args=[squad.key, "not-doing"]),
            {"count": "1", "line_0": "Changed"},
        ),
        (
            bob,
            reverse("squads:initiative_edit", args=[squad.key, tool.key]),
            {
                "title": "Changed",
                "function": tool.function,
                "starts": tool.starts.isoformat(),
                "ends": tool.ends.isoformat(),
                "headcount": "1",
                "status": tool.status,
            },
        ),
        (
            alice,
            reverse("squads:kr_edit", args=[squad.key, kr.key]),
            {"name": "Changed", "target": "50", "direction": "increase"},
        ),
        (
            alice,
            reverse("board:edit", args=[dep.key]),
            {"what": "Changed", "due": "2027-02-01", "note": ""},
        ),
        (
            leo,
            reverse("journeys:stage_edit", args=[stage.journey.key, stage.key]),
            {
                f"stage-{stage.pk}-name": "Changed",
                f"stage-{stage.pk}-emotion_today": "0",
                f"stage-{stage.pk}-emotion_target": "1",
            },
        ),
        (
            leo,
            reverse("journeys:moment_edit", args=[stage.journey.key, stage.key, moment.pk]),
            {f"moment-{moment.pk}-when": "Day 2", f"moment-{moment.pk}-tomorrow": "Changed"},
        ),
    ]
    for person, target, data in posts:
        client.force_login(person)
        if version is not None:
            data = {**data, "version": version}
        response = client.post(target, data, headers=HX)
        assert response.status_code == 200, target
        assert "Changed" in response.content.decode(), target  # the draft is kept
    assert Plan.objects.get(squad=squad).not_doing == ["Webinars"]
    assert type(tool).objects.get(pk=tool.pk).title == "Assessment tool"
    assert KeyResult.objects.get(pk=kr.pk).name == "Activation"
    assert Dependency.objects.get(pk=dep.pk).what == "Messaging"
    stage.refresh_from_db()
    moment.refresh_from_db()
    assert stage.name != "Changed" and moment.tomorrow == "Welcomed"


def test_posted_versions_are_whole_numbers_a_row_can_have():
    assert versioning.posted_version({"version": "7"}) == 7
    assert versioning.posted_version({"version": " 7 "}) == 7
    for raw in NO_USABLE_VERSION:
        data = {} if raw is None else {"version": raw}
        assert versioning.posted_version(data) == versioning.NO_VERSION


# ---------------------------------------------------------------------------------------
# A provider's decline keeps the note the needing side saved meanwhile
# ---------------------------------------------------------------------------------------


def test_a_decline_appends_to_the_note_as_saved_not_as_the_page_showed_it(squad, alice):
    dave = f.person("dave")
    other = f.squad("other", dri=dave, cycle=squad.cycle)
    dep = dependency_services.dependency_create(
        by=alice, from_squad=squad, to_squad=other, what="Messaging", due=dt.date(2027, 2, 1)
    )
    drawn = Dependency.objects.get(pk=dep.pk)  # the board as Dave sees it
    dependency_services.dependency_update(
        dependency=Dependency.objects.get(pk=dep.pk),
        by=alice,
        what="Messaging",
        due=dep.due,
        blocking=False,
        note="Needed for the Day 1 email.",
        version=drawn.version,
    )
    dependency_services.dependency_respond(
        dependency=drawn, by=dave, action="decline", reason="No capacity this quarter."
    )
    note = Dependency.objects.get(pk=dep.pk).note
    assert note.startswith("Needed for the Day 1 email.\n\nDeclined by")
    assert note.endswith("No capacity this quarter.")


# ---------------------------------------------------------------------------------------
# Mentions of a restricted draft reach only those who may read it
# ---------------------------------------------------------------------------------------


def test_a_mention_in_a_restricted_draft_is_not_quoted_to_outsiders(
    client, squad, bob, carol, olga
):
    squad.cycle.restrict_drafts = True
    squad.cycle.save()
    client.force_login(bob)
    response = client.post(
        reverse("squads:section_comments", args=[squad.key, "current-experience"]),
        {"body": "@carol @olga @alice the secret launch slips to June"},
        headers=HX,
    )
    assert response.status_code == 200
    assert Comment.objects.count() == 1
    told = {n.recipient.username: n.message for n in Notification.objects.all()}
    assert set(told) == {"olga", "alice"}  # operations and the squad read drafts
    assert "secret launch" in told["olga"]
    client.force_login(carol)
    assert "secret launch" not in client.get(reverse("notifications")).content.decode()

    # Once the DRI approves the plan, everyone reads it, and mentions reach everyone.
    Plan.objects.filter(squad=squad).update(approved_at=dt.datetime.now(dt.UTC))
    client.force_login(bob)
    client.post(
        reverse("squads:section_comments", args=[squad.key, "current-experience"]),
        {"body": "@carol it is out"},
        headers=HX,
    )
    assert Notification.objects.filter(recipient=carol).count() == 1


# ---------------------------------------------------------------------------------------
# Writers other than the editors move the version too
# ---------------------------------------------------------------------------------------


def test_a_planning_file_import_moves_the_version_an_open_editor_saves_against(
    client, squad, bob, tmp_path
):
    from io import StringIO

    from django.core.management import call_command

    client.force_login(bob)
    edit = reverse("squads:plan_section_edit", args=[squad.key, "current-experience"])
    version, _ = shown(client.get(edit, headers=HX))

    out = StringIO()
    call_command("export_plans", stdout=out)
    document = json.loads(out.getvalue())
    (planned,) = [s for s in document["squads"] if s["key"] == squad.key]
    planned["plan"]["current_experience"] = "Imported: new customers are lost on day one."
    path = tmp_path / "plans.json"
    path.write_text(json.dumps(document))
    call_command("import_plans", str(path), stdout=StringIO())

    response = client.post(edit, {"text": ORIGINAL + " Bob's words.", "version": version})
    assert "saved this section" in response.content.decode()
    plan = Plan.objects.get(squad=squad)
    assert plan.current_experience == "Imported: new customers are lost on day one."


@pytest.mark.parametrize("label", ["plan", "initiative", "key result", "dependency", "stage"])
def test_any_save_that_changes_what_an_editor_shows_moves_its_version(squad, alice, label):
    other = f.squad("other", dri=f.person("dave"), cycle=squad.cycle)
    rows = {
        "plan": (Plan.objects.get(squad=squad), "success_metrics", "success_metrics_version"),
        "initiative": (f.initiative(squad, "tool"), "description", "version"),
        "key result": (KeyResult.objects.get(okr__squad=squad), "name", "version"),
        "dependency": (
            dependency_services.dependency_create(
                by=alice, from_squad=squad, to_squad=other, what="M", due=dt.date(2027, 2, 1)
            ),
            "note",
            "version",
        ),
        "stage": (f.stage(), "customer_goal", "version"),
    }
    row, field, version = rows[label]
    row = type(row).objects.get(pk=row.pk)  # as a writer loads it
    before = getattr(row, version)
    row.save()  # nothing changed: nobody's editor is stale
    assert getattr(type(row).objects.get(pk=row.pk), version) == before
    setattr(row, field, "Changed outside the editors")
    row.save()
    assert getattr(type(row).objects.get(pk=row.pk), version) == before + 1
    assert getattr(row, version) == before + 1


# ---------------------------------------------------------------------------------------
# "Keep my draft" keeps only a draft the conflict view could have sent
# ---------------------------------------------------------------------------------------

UNREADABLE = [None, "", "not json", '{"a": 1}', "[[1, 2]]", '["ok", "bad\\u0000line"]']


@pytest.mark.parametrize("draft", [*UNREADABLE, '["a\\ud800b"]'])
def test_keeping_a_not_doing_draft_that_cannot_be_read_changes_nothing(client, squad, bob, draft):
    client.force_login(bob)
    edit = reverse("squads:plan_section_edit", args=[squad.key, "not-doing"])
    plan = Plan.objects.get(squad=squad)
    data = {"choice": "mine", "version": str(plan.not_doing_version)}
    if draft is not None:
        data["draft"] = draft
    response = client.post(edit, data, headers=HX)
    assert response.status_code == 400
    assert "could not be read" in response.content.decode()
    assert Plan.objects.get(squad=squad).not_doing == ["Webinars"]


def test_a_long_not_doing_list_survives_an_ordinary_save(client, squad, bob):
    lines = [f"Line {n}" for n in range(150)]
    Plan.objects.filter(squad=squad).update(not_doing=lines)  # as an import may leave it
    client.force_login(bob)
    edit = reverse("squads:plan_section_edit", args=[squad.key, "not-doing"])
    page = client.get(edit, headers=HX).content.decode()
    version = re.search(r'name="version" value="(\d+)"', page)[1]
    count = re.search(r'name="count" value="(\d+)"', page)[1]
    data = {"count": count, "version": version, **{f"line_{n}": t for n, t in enumerate(lines)}}
    data["line_0"] = "Line 0, edited"
    response = client.post(edit, data, headers=HX)
    assert response.status_code == 200
    assert Plan.objects.get(squad=squad).not_doing == ["Line 0, edited", *lines[1:]]


def test_more_lines_than_a_list_holds_are_refused_not_cut(client, squad, bob):
    client.force_login(bob)
    edit = reverse("squads:plan_section_edit", args=[squad.key, "not-doing"])
    plan = Plan.objects.get(squad=squad)
    draft = json.dumps([f"Line {n}" for n in range(services.NOT_DOING_MAX_LINES + 1)])
    data = {"choice": "mine", "version": str(plan.not_doing_version), "draft": draft}
    response = client.post(edit, data, headers=HX)
    assert f"Keep the list to {services.NOT_DOING_MAX_LINES:,} lines." in (
        response.content.decode()
    )
    assert Plan.objects.get(squad=squad).not_doing == ["Webinars"]


@pytest.mark.parametrize("draft", UNREADABLE[:3] + ['{"title": ["a"]}', '{"title": "a\\ud800"}'])
def test_keeping_a_record_draft_that_cannot_be_read_changes_nothing(client, squad, bob, draft):
    tool = f.initiative(squad, "tool", title="Assessment tool")
    client.force_login(bob)
    edit = reverse("squads:initiative_edit", args=[squad.key, tool.key])
    data = {"choice": "mine", "version": str(tool.version), "title": "Posted"}
    if draft is not None:
        data["draft"] = draft
    response = client.post(edit, data, headers=HX)
    assert response.status_code == 400
    assert type(tool).objects.get(pk=tool.pk).title == "Assessment tool"


def test_keeping_a_section_draft_needs_the_draft(client, squad, bob):
    client.force_login(bob)
    edit = reverse("squads:plan_section_edit", args=[squad.key, "current-experience"])
    plan = Plan.objects.get(squad=squad)
    data = {"choice": "mine", "version": str(plan.current_experience_version), "text": "x"}
    assert client.post(edit, data, headers=HX).status_code == 400
    assert Plan.objects.get(squad=squad).current_experience == ORIGINAL
