"""Answering a dependency, as a new person met it: accepting one nobody owns names its
owner, and marking one at risk asks why, everywhere a person can do it (the board with and
without script, the finding's action, the API), while the spreadsheet import and the
planning file keep reading the files they read."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from api.models import ApiToken
from dependencies import services
from dependencies.models import Dependency
from planning.models import Notification

pytestmark = pytest.mark.django_db
HX = {"HX-Request": "true"}
TODAY = timezone.localdate()


@pytest.fixture
def unowned(dep):
    Dependency.objects.filter(pk=dep.pk).update(owner=None)
    dep.refresh_from_db()
    return dep


def respond(dep) -> str:
    return reverse("board:respond", args=[dep.key])


def row_of(content: str, key: str) -> str:
    found = re.search(rf'<tr id="dep-{re.escape(key)}".*?</tr>', content, re.S)
    assert found, key
    return found.group(0)


def owner_cell(row: str) -> str:
    # The owner is the seventh cell of a board row.
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
    return re.sub(r"<[^>]+>", "", cells[6]).strip()


def answer_api(dep, user, payload):
    _row, token = ApiToken.issue(user=user, name="tests")
    client = Client(headers={"authorization": f"Bearer {token}"})
    url = f"/api/v1/dependencies/{dep.key}/answer"
    return client.post(url, json.dumps(payload), content_type="application/json")


# --- 1. Accepting one nobody owns ---------------------------------------------------------


def test_a_provider_who_accepts_one_nobody_owns_becomes_its_owner(client, unowned, pete):
    client.force_login(pete)
    response = client.post(respond(unowned), {"action": "accept", "was": "requested"}, headers=HX)
    assert owner_cell(row_of(response.content.decode(), unowned.key)) == "Pete Park"
    unowned.refresh_from_db()
    assert unowned.owner == pete
    latest = unowned.history.first()
    assert latest.history_change_reason == "Accepted; Pete Park owns it now"
    assert latest.history_user == pete
    # The plan pages of both squads show the owner too.
    plan = client.get(reverse("squads:plan", args=["product-led"])).content.decode()
    assert "Pete Park" in plan


def test_accepting_keeps_an_owner_already_named(client, dep, pete, dora):
    client.force_login(pete)
    client.post(respond(dep), {"action": "accept", "was": "requested"})
    dep.refresh_from_db()
    assert dep.owner == dora
    assert dep.history.first().history_change_reason == "Accepted"


def test_operations_accepting_leaves_it_unowned_unless_they_name_someone(
    client, unowned, olga, dora, pete, carol
):
    client.force_login(olga)
    # The row offers an accept form, which asks whom to name, instead of a plain button.
    board = client.get(reverse("board:board")).content.decode()
    row = row_of(board, unowned.key)
    assert reverse("board:accept", args=[unowned.key]) in row
    assert 'name="action" value="accept"' not in row
    form = client.get(reverse("board:accept", args=[unowned.key]), headers=HX).content.decode()
    offered = re.findall(r'<option value="(\d+)"[^>]*>([^<]+)</option>', form)
    assert {name for _pk, name in offered} == {"Dora Diaz", "Pete Park"}  # the provider side

    # Someone outside the provider side is refused, with the form shown again.
    refused = client.post(
        respond(unowned),
        {"action": "accept", "was": "requested", "owner": str(carol.pk)},
        headers=HX,
    )
    assert 'name="owner"' in refused.content.decode()
    unowned.refresh_from_db()
    assert unowned.status == "requested" and unowned.owner is None

    # Accepted without naming anyone: still nobody's.
    client.post(respond(unowned), {"action": "accept", "was": "requested", "owner": ""})
    unowned.refresh_from_db()
    assert unowned.status == "accepted" and unowned.owner is None


def test_operations_names_the_owner_as_they_accept(client, unowned, olga, pete):
    client.force_login(olga)
    response = client.post(
        respond(unowned),
        {"action": "accept", "was": "requested", "owner": str(pete.pk), "next": "/board/"},
    )
    assert response.status_code == 302
    unowned.refresh_from_db()
    assert unowned.owner == pete and unowned.status == "accepted"
    assert unowned.history.first().history_user == olga


def test_the_accept_form_works_as_a_page_without_script(client, unowned, olga):
    client.force_login(olga)
    page = client.get(reverse("board:accept", args=[unowned.key])).content.decode()
    assert "<html" in page and 'name="owner"' in page and "Accept a dependency" in page


def test_the_api_makes_the_accepter_owner_or_names_one(unowned, pete, olga, dora):
    answered = answer_api(unowned, pete, {"action": "accept"})
    assert answered.status_code == 200, answered.content
    assert answered.json()["owner"] == "pete"

    Dependency.objects.filter(pk=unowned.pk).update(owner=None, status="requested")
    named = answer_api(unowned, olga, {"action": "accept", "owner": "dora"})
    assert named.status_code == 200 and named.json()["owner"] == "dora"

    Dependency.objects.filter(pk=unowned.pk).update(owner=None, status="requested")
    stranger = answer_api(unowned, olga, {"action": "accept", "owner": "nobody-here"})
    assert stranger.status_code == 400
    assert stranger.json()["errors"]["owner"] == ["Nobody has the username 'nobody-here'."]


# --- 2. At risk asks why --------------------------------------------------------------------


@pytest.fixture
def accepted(dep):
    Dependency.objects.filter(pk=dep.pk).update(status="accepted")
    dep.refresh_from_db()
    return dep


def test_at_risk_without_a_reason_is_refused_by_the_service(accepted, dora):
    for reason in ("", "   "):
        with pytest.raises(ValidationError) as refused:
            services.dependency_respond(
                dependency=accepted, by=dora, action="at_risk", reason=reason
            )
        assert refused.value.message_dict == {
            "reason": ["Say why it is at risk, so the squad that needs it can plan around it."]
        }
    accepted.refresh_from_db()
    assert accepted.status == "accepted"


def test_the_board_asks_why_in_the_row_and_shows_the_reason_beside_the_status(
    client, accepted, dora, alice, bob
):
    client.force_login(dora)
    board = client.get(reverse("board:board")).content.decode()
    row = row_of(board, accepted.key)
    assert 'value="at_risk"' not in row  # no longer a one-click button
    form_url = reverse("board:at_risk", args=[accepted.key])
    assert form_url in row

    form = client.get(form_url, headers=HX).content.decode()
    assert "Why is it at risk?" in form and 'name="reason"' in form

    empty = client.post(
        respond(accepted), {"action": "at_risk", "reason": " ", "was": "accepted"}, headers=HX
    ).content.decode()
    assert "Say why it is at risk" in empty and 'name="reason"' in empty
    accepted.refresh_from_db()
    assert accepted.status == "accepted"
    assert not Notification.objects.exists()

    reason = "Legal review of the <copy> slipped & moved"
    done = client.post(
        respond(accepted), {"action": "at_risk", "reason": reason, "was": "accepted"}, headers=HX
    ).content.decode()
    row = row_of(done, accepted.key)
    assert "At risk" in row
    assert "Legal review of the &lt;copy&gt; slipped &amp; moved" in row
    assert "<copy>" not in row
    # The needing squad is told why.
    told = Notification.objects.filter(dependency=accepted)
    assert {n.recipient.username for n in told} == {"alice", "bob"}
    assert all(f"“{reason}”" in n.message for n in told)
    # The board drawn whole shows the reason where the status is, as does the plan page.
    again = row_of(client.get(reverse("board:board")).content.decode(), accepted.key)
    assert "Legal review of the &lt;copy&gt; slipped &amp; moved" in again
    plan = client.get(reverse("squads:plan", args=["first-90-days"])).content.decode()
    assert "Legal review of the &lt;copy&gt; slipped &amp; moved" in plan

    # Back on track: the reason goes with the status.
    client.post(respond(accepted), {"action": "accept", "was": "at_risk"})
    accepted.refresh_from_db()
    assert accepted.status_reason == ""
    back = row_of(client.get(reverse("board:board")).content.decode(), accepted.key)
    assert "dep-reason" not in back
    assert "Legal review" in back  # the note keeps the dated line


def test_without_script_the_at_risk_form_is_a_page_that_asks_again(client, accepted, dora):
    client.force_login(dora)
    page = client.get(reverse("board:at_risk", args=[accepted.key])).content.decode()
    assert "<html" in page and "Mark a dependency at risk" in page
    again = client.post(respond(accepted), {"action": "at_risk", "was": "accepted", "next": "/"})
    assert again.status_code == 200
    assert "Say why it is at risk" in again.content.decode()
    saved = client.post(
        respond(accepted),
        {"action": "at_risk", "reason": "Vendor late", "was": "accepted", "next": "/board/"},
    )
    assert saved.status_code == 302
    accepted.refresh_from_db()
    assert accepted.status == "at_risk" and accepted.status_reason == "Vendor late"


def test_the_at_risk_form_of_a_requested_one_says_what_may_follow(client, dep, dora):
    client.force_login(dora)
    response = client.get(reverse("board:at_risk", args=[dep.key]), headers=HX).content.decode()
    assert "it may become accepted or declined, not at risk" in response
    assert 'name="reason"' not in response


def test_the_api_refuses_at_risk_without_a_reason_with_a_clear_message(accepted, dora):
    refused = answer_api(accepted, dora, {"action": "at_risk"})
    assert refused.status_code == 400
    says = "Say why it is at risk, so the squad that needs it can plan around it."
    assert refused.json() == {"detail": says, "errors": {"reason": [says]}}
    allowed = answer_api(accepted, dora, {"action": "at_risk", "reason": "Vendor late"})
    assert allowed.status_code == 200
    assert allowed.json()["status_reason"] == "Vendor late"


def test_the_migration_keeps_the_reason_the_note_recorded():
    from importlib import import_module

    migration = import_module("dependencies.migrations.0008_status_reason")
    note = (
        "Campaign cannot launch without it.\n\n"
        "At risk, said Dora Diaz on 03 Feb 2027: Copy review slipped: two weeks"
    )
    assert migration.reason_from_note("at_risk", note) == "Copy review slipped: two weeks"
    assert migration.reason_from_note("declined", note) == ""
    assert migration.reason_from_note("at_risk", "At risk: free text") == ""


def test_a_planning_file_status_change_drops_the_reason_of_the_status_it_replaces(accepted, dora):
    from planning.planning_file.exporter import export_document
    from planning.planning_file.importer import import_document

    services.dependency_respond(
        dependency=accepted, by=dora, action="at_risk", reason="Vendor late"
    )
    document = export_document()
    # The exported file, read back as it is: nothing changes, the reason stays.
    import_document(document)
    accepted.refresh_from_db()
    assert accepted.status == "at_risk" and accepted.status_reason == "Vendor late"
    for dep in document["dependencies"]:
        if dep["key"] == accepted.key:
            dep["status"] = "accepted"
    import_document(document)
    accepted.refresh_from_db()
    assert accepted.status == "accepted" and accepted.status_reason == ""
    # at_risk again from a file, which gives no reason: none is shown.
    for dep in document["dependencies"]:
        if dep["key"] == accepted.key:
            dep["status"] = "at_risk"
    import_document(document)
    accepted.refresh_from_db()
    assert accepted.status == "at_risk" and accepted.status_reason == ""
    assert accepted.due >= TODAY - dt.timedelta(days=1)
